package toolhouse

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
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

// secretValue is the key and what finds its pieces in text.
type secretValue struct {
	text string

	once      sync.Once
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

// redactBytes returns b with every copy of the key replaced, written
// plainly or with JSON escapes (a server that echoes the request inside a
// JSON string may escape any character). It returns b itself when there
// is nothing to replace. It takes time linear in len(b).
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
	var out []byte
	last := 0
	for i := 0; i < len(b); {
		start, end := v.copyFrom(b, i)
		if end == 0 {
			i++
			continue
		}
		out = append(out, b[last:start]...)
		out = append(out, redacted...)
		i, last = end, end
	}
	if out == nil {
		return b
	}
	return append(out, b[last:]...)
}

// copyFrom returns where a copy of the key that starts at b[i] is, or
// end 0. A long key may start anywhere; a short one only as the whole
// word after "Bearer ", where it stands as a credential.
func (v *secretValue) copyFrom(b []byte, i int) (start, end int) {
	if !v.short() {
		if b[i] != v.text[0] && b[i] != '\\' {
			return 0, 0
		}
		if n := v.copyAt(b[i:]); n > 0 {
			return i, i + n
		}
		return 0, 0
	}
	const scheme = "bearer"
	if len(b)-i < len(scheme)+1 || !bytes.EqualFold(b[i:i+len(scheme)], []byte(scheme)) {
		return 0, 0
	}
	j := i + len(scheme)
	for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
		j++
	}
	if j == i+len(scheme) {
		return 0, 0
	}
	n := v.copyAt(b[j:])
	if n == 0 || j+n < len(b) && isKeyByte(b[j+n]) {
		return 0, 0 // not the key, or only the start of a longer word
	}
	return j, j + n
}

// copyAt returns the length of the copy of the key at the start of b,
// each of its characters written plainly or as a JSON escape, or 0.
func (v *secretValue) copyAt(b []byte) int {
	j := 0
	for _, want := range v.text {
		if j >= len(b) {
			return 0
		}
		got, n := rune(b[j]), 1
		switch {
		case got == '\\':
			got, n = jsonEscapeAt(b[j:])
		case got >= utf8.RuneSelf:
			got, n = utf8.DecodeRune(b[j:])
		}
		if n == 0 || got != want {
			return 0
		}
		j += n
	}
	return j
}

// jsonEscapeAt decodes the JSON escape at the start of b: the character it
// writes and its length, or length 0 if it is none.
func jsonEscapeAt(b []byte) (rune, int) {
	if len(b) < 2 {
		return 0, 0
	}
	switch b[1] {
	case '"', '\\', '/':
		return rune(b[1]), 2
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		r, ok := hex4(b[2:])
		if !ok {
			return 0, 0
		}
		if !utf16.IsSurrogate(r) {
			return r, 6
		}
		if len(b) >= 12 && b[6] == '\\' && b[7] == 'u' {
			if low, ok := hex4(b[8:]); ok {
				if r = utf16.DecodeRune(r, low); r != utf8.RuneError {
					return r, 12
				}
			}
		}
	}
	return 0, 0
}

// hex4 reads four hexadecimal digits, in either case.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
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
	v.once.Do(func() {
		if len(v.text) >= 2*fragmentLen {
			v.fragments = make(map[string]struct{}, len(v.text))
			for i := 0; i+fragmentLen <= len(v.text); i++ {
				v.fragments[v.text[i:i+fragmentLen]] = struct{}{}
			}
		}
	})
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
