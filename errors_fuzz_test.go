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
// and a body that is valid UTF-8 must give a message that is too.
func FuzzErrorMessage(f *testing.F) {
	reqURL, err := url.Parse("https://api.toolhouse.ai/v1/agent-runs/r1")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		msg := errorMessage(body)
		if len(msg) > maxMessageBytes {
			t.Fatalf("message is %d bytes, more than %d: %.80q…", len(msg), maxMessageBytes, msg)
		}
		if utf8.Valid(body) && !utf8.ValidString(msg) {
			t.Fatalf("valid UTF-8 body %q gave invalid UTF-8 message %q", body, msg)
		}

		resp := &http.Response{
			StatusCode: http.StatusBadGateway,
			Header:     http.Header{"Content-Type": {"text/html"}},
			Request:    &http.Request{Method: http.MethodGet, URL: reqURL},
		}
		apiErr := newAPIError(resp, body)
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
		if utf8.Valid(body) && !utf8.ValidString(text) {
			t.Fatalf("valid UTF-8 body %q gave invalid UTF-8 Error() %q", body, text)
		}
	})
}
