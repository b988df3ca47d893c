package toolhouse

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// maxMessageBytes bounds APIError.Message, whatever the server sent: a
// few hundred bytes, plus the mark of a cut.
const maxMessageBytes = 512 + len("…")

// FuzzErrorMessage feeds arbitrary error bodies (HTML pages, FastAPI
// details as a string, a list or an object, garbage, invalid UTF-8) to the
// code that turns them into an *APIError. The seeds are in
// testdata/fuzz/FuzzErrorMessage. Whatever the body, the error must be
// built without a panic, its message must stay short enough for a log line,
// be valid UTF-8 with no control character in it, and hold no copy of the
// key.
func FuzzErrorMessage(f *testing.F) {
	reqURL, err := url.Parse("https://api.toolhouse.ai/v1/agent-runs/r1")
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"detail":"bad key ` + testKey + `\r\n\u001b[2J"}`))
	f.Add([]byte("<title>\u202e" + testKey[:20] + "</title>"))
	key := redactor{newAPIKey(testKey)()}
	f.Fuzz(func(t *testing.T, body []byte) {
		msg := errorMessage(key.redactBytes(body), key)
		if len(msg) > maxMessageBytes {
			t.Fatalf("message is %d bytes, more than %d: %.80q…", len(msg), maxMessageBytes, msg)
		}
		if !utf8.ValidString(msg) || strings.ContainsFunc(msg, needsEscape) {
			t.Fatalf("body %q gave message %q, which a terminal would not show as it is", body, msg)
		}
		if strings.Contains(msg, testKey) {
			t.Fatalf("body %q gave message %q, which holds the key", body, msg)
		}

		resp := &http.Response{
			StatusCode: http.StatusBadGateway,
			Header:     http.Header{"Content-Type": {"text/html"}},
			Request:    &http.Request{Method: http.MethodGet, URL: reqURL},
		}
		apiErr := newAPIError(resp, body, key)
		if apiErr.Message != msg {
			t.Fatalf("APIError.Message %q differs from errorMessage %q", apiErr.Message, msg)
		}
		text := apiErr.Error()
		if !strings.Contains(text, "502") {
			t.Fatalf("Error() %q does not name the status", text)
		}
		if overhead := len("toolhouse: GET " + reqURL.String() + ": 502 Bad Gateway: "); len(text) > overhead+maxMessageBytes {
			t.Fatalf("Error() is %d bytes", len(text))
		}
		if !utf8.ValidString(text) || strings.ContainsFunc(text, needsEscape) || strings.Contains(text, testKey) {
			t.Fatalf("body %q gave Error() %q", body, text)
		}
	})
}
