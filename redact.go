package toolhouse

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// redacted stands in for a secret (the API key, a secret's value) wherever
// a server echoed it back.
const redacted = "[REDACTED]"

// redactor is what one call keeps out of everything it shows: the API key
// and the call's own secrets, longest first, so that a secret is replaced
// before a shorter one inside it.
type redactor []*secretText

// keyRedactor returns the redactor of a call that carries no secrets of
// its own, which hides the API key (if any). It is sealed in a closure like
// the key, out of reach of reflection-based printers.
func keyRedactor(key secret) func() redactor {
	var r redactor
	if key != nil {
		r = redactor{key()}
	}
	return func() redactor { return r }
}

// redactor returns the redactor of a call: the client's own, built once by
// NewClient, unless the call carries extra secrets (Secrets.Set), which a
// redactor of its own hides too.
func (c *Client) redactor(extra ...string) redactor {
	r := slices.Clip(c.red()) // shared by every call: an append must copy it
	own := len(r)
	for _, s := range extra {
		if s != "" {
			r = append(r, newSecret(s)())
		}
	}
	if len(r) > own {
		slices.SortStableFunc(r, func(a, b *secretText) int { return len(b.text) - len(a.text) })
	}
	return r
}

// redactBytes returns b with every copy of every secret replaced (see
// secretText.redactBytes); b itself when there is nothing to replace.
func (r redactor) redactBytes(b []byte) []byte {
	for _, v := range r {
		b = v.redactBytes(b)
	}
	return b
}

// redact is redactBytes for a string. A value that is a whole secret goes
// too, however short.
func (r redactor) redact(text string) string {
	if text == "" {
		return text
	}
	for _, v := range r {
		if text == v.text {
			return redacted
		}
	}
	out := r.redactBytes([]byte(text))
	if string(out) == text {
		return text
	}
	return string(out)
}

// in reports whether b holds a copy of a secret.
func (r redactor) in(b []byte) bool {
	return len(r) > 0 && string(r.redactBytes(b)) != string(b)
}

// scrubText is redact for text that may also hold a piece of a secret: a
// message that something cut in the middle of a copy.
func (r redactor) scrubText(text string) string {
	text = r.redact(text)
	for _, v := range r {
		text = v.scrubFragments(text)
	}
	return text
}

// redactHeader returns h with the secrets replaced in every value, or h
// itself when no value holds one.
func (r redactor) redactHeader(h http.Header) http.Header {
	var out http.Header
	for name, values := range h {
		for i, v := range values {
			clean := r.redact(v)
			if clean == v {
				continue
			}
			if out == nil {
				out = h.Clone()
			}
			out[name][i] = clean
		}
	}
	if out == nil {
		return h
	}
	return out
}

// longest returns the length of the longest secret.
func (r redactor) longest() int {
	if len(r) == 0 {
		return 0
	}
	return len(r[0].text)
}

// scrub hides the secrets of r in err's message, should anything (a
// server echoing the request, a custom transport, an excerpt that cut a
// copy) have put them, or a piece of them, there. The original error
// stays reachable with errors.Is and errors.As.
func (r redactor) scrub(err error) error {
	if err == nil || len(r) == 0 {
		return err
	}
	msg := err.Error()
	clean := r.scrubText(msg)
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

// redactURL makes a URL fit to be shown: without user information, and
// with what a terminal would act on escaped (cleanText), since a
// redirect's target is the server's text and its query keeps bytes such
// as a bidirectional override as they came.
func redactURL(raw string) string { return cleanText(withoutUserinfo(raw)) }

// withoutUserinfo drops user information from a URL. It also copes with
// what url.Parse does not read as user information (a URL missing its
// scheme or a slash, "http//user:pw@host"): whatever stands before an "@"
// in the same path segment goes.
func withoutUserinfo(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		u.User = url.User("REDACTED")
		raw = u.String()
		if strings.Count(raw, "@") == 1 {
			return raw
		}
	}
	at := strings.LastIndex(raw, "@")
	if at < 0 {
		return raw
	}
	start := strings.LastIndex(raw[:at], "/") + 1 // 0 for "user:pw@host"
	if raw[start:at] == "REDACTED" {
		return raw
	}
	return raw[:start] + "REDACTED" + raw[at:]
}
