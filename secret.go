package toolhouse

import (
	"bytes"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/toolhouseai/toolhouse-go/internal/jsonscan"
)

// An API key shorter than minKeyLen is no real Toolhouse key (those run to
// dozens of characters), and searching for it everywhere would rewrite
// ordinary text ("a", "the"): it is redacted only where it stands as a
// credential, after "Bearer " or as a whole value.
const minKeyLen = 8

// fragmentLen is the shortest run of a long secret's characters that error
// texts are scrubbed of, for copies that something cut in the middle.
// Runs this long of a key never occur by chance in ordinary text.
const fragmentLen = 8

// maxFragmented is the longest secret looked for in pieces.
const maxFragmented = 4 << 10

// secret is a value the client must never show: the API key, or a value a
// call carries (Secrets.Set). It lives in a closure: fmt, go-spew (and so
// testify's diffs), encoding/json and slog see a func value, which they
// print as an address or not at all, so no reflection-based printer can
// reach it.
type secret func() *secretText

// secretText is a secret and what finds its copies in text.
type secretText struct {
	text     string
	apiKey   bool // a short API key is only redacted as a credential
	once     sync.Once
	fragment map[string]struct{} // the runs of fragmentLen bytes of a long secret
}

// newSecret seals a value that is redacted wherever it appears; an empty
// s is no secret (nil).
func newSecret(s string) secret {
	if s == "" {
		return nil
	}
	v := &secretText{text: s}
	return func() *secretText { return v }
}

// newAPIKey seals the API key; an empty key is none (nil).
func newAPIKey(key string) secret {
	if key == "" {
		return nil
	}
	v := &secretText{text: key, apiKey: true}
	return func() *secretText { return v }
}

// value returns the secret, or "" when there is none.
func (s secret) value() string {
	if s == nil {
		return ""
	}
	return s().text
}

// short reports whether v is an API key too short to be searched for
// anywhere.
func (v *secretText) short() bool { return v.apiKey && len(v.text) < minKeyLen }

// redactBytes returns b with every copy of the secret replaced, written
// plainly or with JSON escapes (a server that echoes a request inside a
// JSON string may escape any character). It returns b itself when there
// is nothing to replace. Its time is linear in len(b) when b holds no
// backslash; with one it can reach len(b) times the secret's length, at
// each place b starts like the secret (for the API key, a few dozen).
func (v *secretText) redactBytes(b []byte) []byte {
	if !v.short() {
		if bytes.Contains(b, []byte(v.text)) {
			b = bytes.ReplaceAll(b, []byte(v.text), []byte(redacted))
		}
		if bytes.IndexByte(b, '\\') < 0 {
			return b
		}
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

// copyFrom returns where a copy of the secret that starts at b[i] is, or
// end 0. A secret may start anywhere; a short API key only as the whole
// word after "Bearer ", where it stands as a credential.
func (v *secretText) copyFrom(b []byte, i int) (start, end int) {
	if !v.short() {
		if b[i] != v.text[0] && b[i] != '\\' {
			return 0, 0
		}
		if n := v.escapedCopyAt(b[i:]); n > 0 {
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
	n := v.escapedCopyAt(b[j:])
	if n == 0 || j+n < len(b) && isKeyByte(b[j+n]) {
		return 0, 0 // not the key, or only the start of a longer word
	}
	return j, j + n
}

// escapedCopyAt returns the length of the copy of the secret at the start
// of b as a JSON string writes it (any character may be an escape, a
// backslash always starts one), or 0.
func (v *secretText) escapedCopyAt(b []byte) int {
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
		r := jsonscan.EscapedRune(b)
		if r < 0 {
			return 0, 0
		}
		if !utf16.IsSurrogate(r) {
			return r, 6
		}
		// A low half that is missing or no escape (-1) decodes as an error.
		if r = utf16.DecodeRune(r, jsonscan.EscapedRune(b[6:])); r != utf8.RuneError {
			return r, 12
		}
	}
	return 0, 0
}

// scrubFragments replaces, in text, every run of fragmentLen or more of a
// secret's characters: what is left of a copy that something cut. Only
// secrets between 2*fragmentLen and maxFragmented bytes are looked for in
// pieces; a shorter piece proves nothing, and a longer secret's pieces
// would cost more memory than they are worth.
func (v *secretText) scrubFragments(text string) string {
	v.once.Do(func() {
		if len(v.text) < 2*fragmentLen || len(v.text) > maxFragmented {
			return
		}
		v.fragment = make(map[string]struct{}, len(v.text))
		for i := 0; i+fragmentLen <= len(v.text); i++ {
			v.fragment[v.text[i:i+fragmentLen]] = struct{}{}
		}
	})
	if v.fragment == nil || len(text) < fragmentLen {
		return text
	}
	var out strings.Builder
	last := 0
	for i := 0; i+fragmentLen <= len(text); {
		if _, ok := v.fragment[text[i:i+fragmentLen]]; !ok {
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
