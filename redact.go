package toolhouse

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
)

// redacted stands in for a secret (the API key, a secret's value) wherever
// a server echoed it back.
const redacted = "[REDACTED]"

// redactURL drops user information from a URL before it is shown.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.LastIndex(raw, "@"); i >= 0 {
			if j := strings.Index(raw, "://"); j >= 0 && j < i {
				return raw[:j+3] + "REDACTED" + raw[i:]
			}
		}
		return raw
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	return u.String()
}

// scrub hides the API key, and the call's other secrets, in err's message,
// should anything (a server echoing the request, a custom transport) have
// put them there. The original error stays reachable with errors.Is and
// errors.As.
func (c *Client) scrub(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := redactForms(msg, secretForms(append([]string{c.apiKey}, secrets...)))
	if clean == msg {
		return err
	}
	return &scrubbedError{msg: clean, err: err}
}

// scrubbedError is an error whose message had the secrets replaced.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// redact hides the secrets (the API key, a secret's value) wherever a
// server repeated them in its error ("invalid key th-...", FastAPI's 422
// echoing the "input"): the body, the message made from it, the request ID
// and the headers. A secret is looked for as it was sent and as a JSON
// string carries it.
func (e *APIError) redact(secrets ...string) {
	forms := secretForms(secrets)
	if len(forms) == 0 {
		return
	}
	body := e.Body
	if len(body) >= maxErrorBody {
		// The body was cut, perhaps in the middle of a secret, whose first
		// bytes no replacement would find.
		for _, f := range forms {
			if n := overlap(body, f); n > 0 {
				body = append(body[:len(body)-n:len(body)-n], redacted...)
			}
		}
	}
	for _, f := range forms {
		body = bytes.ReplaceAll(body, f, []byte(redacted))
	}
	body = redactJSONStrings(body, forms)
	if !bytes.Equal(body, e.Body) {
		e.Body = body
		e.Message = errorMessage(body)
	}
	e.Message = redactForms(e.Message, forms)
	e.RequestID = redactForms(e.RequestID, forms)
	for _, values := range e.Header {
		for i, v := range values {
			values[i] = redactForms(v, forms)
		}
	}
}

// redactForms replaces each form of a secret (see secretForms) in s.
func redactForms(s string, forms [][]byte) string {
	for _, f := range forms {
		s = strings.ReplaceAll(s, string(f), redacted)
	}
	return s
}

// secretForms returns each non-empty secret as sent and as it appears
// inside a JSON string (a body repeated in an error message), with and
// without HTML escaping, longest first so that a form is replaced before a
// shorter one inside it.
func secretForms(secrets []string) [][]byte {
	var forms [][]byte
	add := func(f []byte) {
		for _, have := range forms {
			if bytes.Equal(have, f) {
				return
			}
		}
		forms = append(forms, f)
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		add([]byte(s))
		for _, html := range []bool{true, false} {
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(html)
			_ = enc.Encode(s) // a string always encodes
			quoted := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
			add(quoted[1 : len(quoted)-1])
		}
	}
	slices.SortStableFunc(forms, func(a, b []byte) int { return len(b) - len(a) })
	return forms
}

// redactJSONStrings catches a secret that a JSON body carries under an
// escaping secretForms does not produce ("\u0074h-..."): it decodes the
// body and, when a string (or a key) holds a secret, encodes it again with
// the secrets replaced. Other bodies are returned as they are.
func redactJSONStrings(body []byte, forms [][]byte) []byte {
	if bytes.IndexByte(body, '\\') < 0 {
		// Without escapes a JSON string is its own bytes: the plain
		// replacement found everything.
		return body
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil || dec.More() {
		return body
	}
	changed := false
	var walk func(any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case string:
			clean := redactForms(v, forms)
			changed = changed || clean != v
			return clean
		case []any:
			for i := range v {
				v[i] = walk(v[i])
			}
		case map[string]any:
			out := make(map[string]any, len(v))
			for k, x := range v {
				out[walk(k).(string)] = walk(x)
			}
			return out
		}
		return v
	}
	v = walk(v)
	if !changed {
		return body
	}
	out, err := json.Marshal(v)
	if err != nil {
		return body
	}
	return out
}

// overlap returns the length of the longest end of b that is a proper
// start of f: how much of f a body cut short after its first bytes holds.
// It runs in time linear in len(f) (Knuth-Morris-Pratt), whatever the
// bytes.
func overlap(b, f []byte) int {
	if len(f) < 2 {
		return 0
	}
	if len(b) > len(f)-1 {
		b = b[len(b)-(len(f)-1):]
	}
	fail := make([]int, len(f))
	for i, k := 1, 0; i < len(f); i++ {
		for k > 0 && f[i] != f[k] {
			k = fail[k-1]
		}
		if f[i] == f[k] {
			k++
		}
		fail[i] = k
	}
	k := 0
	for _, c := range b {
		for k > 0 && c != f[k] {
			k = fail[k-1]
		}
		if c == f[k] {
			k++
		}
	}
	return k
}
