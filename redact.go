package toolhouse

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// redacted stands in for the API key wherever a server echoed it back.
const redacted = "[REDACTED]"

// Keys shorter than minSecretLen are no real Toolhouse key (those run to
// dozens of characters) and searching for them everywhere would rewrite
// ordinary text ("a", "the"): they are redacted only where they stand as a
// credential, after "Bearer " or as a whole value.
const minSecretLen = 8

// fragmentLen is the shortest run of a long key's characters that error
// texts are scrubbed of, for copies that something cut in the middle of
// the key. Runs this long never occur by chance in ordinary text.
const fragmentLen = 8

// secret is a value the client must never show, the API key. It lives in
// a closure: fmt, go-spew (and so testify's diffs), encoding/json and slog
// see a func value, which they print as an address or not at all, so no
// reflection-based printer can reach the key.
type secret func() *secretValue

// secretValue is the key and what finds its copies in text.
type secretValue struct {
	text string

	once      sync.Once
	copies    *regexp.Regexp      // group 1: the key, any character of it possibly a JSON escape
	fragments map[string]struct{} // the key's runs of fragmentLen bytes (long keys only)
}

// newSecret seals s; an empty s is no secret (nil).
func newSecret(s string) secret {
	if s == "" {
		return nil
	}
	v := &secretValue{text: s}
	return func() *secretValue { return v }
}

// value returns the key, or "" when there is none.
func (s secret) value() string {
	if s == nil {
		return ""
	}
	return s().text
}

// short reports whether the key is too short to be searched for anywhere.
func (v *secretValue) short() bool { return len(v.text) < minSecretLen }

// compile builds the matchers once, on first use.
func (v *secretValue) compile() {
	v.once.Do(func() {
		var pat strings.Builder
		if v.short() {
			pat.WriteString(`(?i:bearer)\s+`)
		}
		pat.WriteByte('(')
		for _, r := range v.text {
			pat.WriteString("(?:")
			pat.WriteString(regexp.QuoteMeta(string(r)))
			for _, esc := range jsonEscapes(r) {
				pat.WriteByte('|')
				pat.WriteString(esc)
			}
			pat.WriteByte(')')
		}
		pat.WriteByte(')')
		v.copies = regexp.MustCompile(pat.String())
		if len(v.text) >= 2*fragmentLen {
			v.fragments = make(map[string]struct{}, len(v.text))
			for i := 0; i+fragmentLen <= len(v.text); i++ {
				v.fragments[v.text[i:i+fragmentLen]] = struct{}{}
			}
		}
	})
}

// jsonEscapes returns the patterns of the ways JSON can write r with a
// backslash: \uXXXX in either case (a surrogate pair beyond the BMP), and
// the short escapes.
func jsonEscapes(r rune) []string {
	hex := func(r rune) string { return fmt.Sprintf(`\\u(?i:%04x)`, r) }
	var out []string
	if r > 0xFFFF {
		r -= 0x10000
		out = append(out, hex(0xD800+(r>>10))+hex(0xDC00+(r&0x3FF)))
	} else {
		out = append(out, hex(r))
	}
	if r == '/' {
		out = append(out, `\\/`)
	}
	return out
}

// redactBytes returns b with every copy of the key replaced, written
// plainly or with JSON escapes (a server that echoes the request inside a
// JSON string may escape any character). It returns b itself when there
// is nothing to replace.
func (s secret) redactBytes(b []byte) []byte {
	if s == nil {
		return b
	}
	v := s()
	if !v.short() && bytes.IndexByte(b, '\\') < 0 {
		if !bytes.Contains(b, []byte(v.text)) {
			return b
		}
		return bytes.ReplaceAll(b, []byte(v.text), []byte(redacted))
	}
	v.compile()
	var out []byte
	last := 0
	for _, m := range v.copies.FindAllSubmatchIndex(b, -1) {
		start, end := m[2], m[3]
		if v.short() && end < len(b) && isKeyByte(b[end]) {
			continue // only the start of a longer word
		}
		out = append(out, b[last:start]...)
		out = append(out, redacted...)
		last = end
	}
	if out == nil {
		return b
	}
	return append(out, b[last:]...)
}

// redact is redactBytes for a string.
func (s secret) redact(text string) string {
	if s == nil || text == "" {
		return text
	}
	if text == s().text {
		return redacted
	}
	out := s.redactBytes([]byte(text))
	if len(out) == len(text) && string(out) == text {
		return text
	}
	return string(out)
}

// in reports whether b holds a copy of the key that redactBytes replaces.
func (s secret) in(b []byte) bool {
	if s == nil {
		return false
	}
	out := s.redactBytes(b)
	return len(out) != len(b) || !bytes.Equal(out, b)
}

// scrubText is redact for text that may also hold a piece of the key: a
// message that something truncated in the middle of a copy. For keys long
// enough, any run of fragmentLen or more of the key's characters goes.
func (s secret) scrubText(text string) string {
	text = s.redact(text)
	if s == nil {
		return text
	}
	v := s()
	v.compile()
	if v.fragments == nil || len(text) < fragmentLen {
		return text
	}
	var out strings.Builder
	last := 0
	for i := 0; i+fragmentLen <= len(text); {
		if _, ok := v.fragments[text[i:i+fragmentLen]]; !ok {
			i++
			continue
		}
		end := i + fragmentLen
		for end < len(text) && strings.Contains(v.text, text[i:end+1]) {
			end++
		}
		out.WriteString(text[last:i])
		out.WriteString(redacted)
		last, i = end, end
	}
	if last == 0 {
		return text
	}
	out.WriteString(text[last:])
	return out.String()
}

// isKeyByte reports whether c may continue a key-like word.
func isKeyByte(c byte) bool {
	return c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

// redactURL drops user information from a URL before it is shown. It also
// copes with what url.Parse does not read as user information (a URL
// missing its scheme or a slash, "http//user:pw@host"): whatever stands
// before an "@" in the same path segment goes.
func redactURL(raw string) string {
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

// scrub hides the API key in err's message, should anything (a server
// echoing the request, a custom transport, an excerpt that cut a copy of
// the key) have put it or a piece of it there. The original error stays
// reachable with errors.Is and errors.As.
func (c *Client) scrub(err error) error {
	if err == nil || c.key == nil {
		return err
	}
	msg := err.Error()
	clean := c.key.scrubText(msg)
	if clean == msg {
		return err
	}
	return &scrubbedError{msg: clean, err: err}
}

// scrubbedError is an error whose message had the key replaced.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// redactHeader returns h with the key replaced in every value, or h itself
// when no value holds it.
func (s secret) redactHeader(h http.Header) http.Header {
	if s == nil {
		return h
	}
	var out http.Header
	for name, values := range h {
		for i, v := range values {
			clean := s.redact(v)
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
