package toolhouse

// Server text is data: what an error shows of a server's words cannot
// forge log lines, drive a terminal or reorder what a reader sees.

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// terminalHazards are the characters an error must never show as they are.
var terminalHazards = []string{"\x1b", "\r", "\n", "\x00", "\a", "\u202e", "\u2066", "\u2067", "\u2068",
	"\u2069", "\u200e", "\u200f", "\u2028", "\x9b"}

func TestServerTextIsShownAsData(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		contentType string
		body        string
		header      []string
		wantMessage string
	}{
		{name: "ANSI escapes", body: `{"detail":"\u001b[2J\u001b[31mAll systems go\u001b[0m"}`,
			wantMessage: `\x1b[2J\x1b[31mAll systems go\x1b[0m`},
		{name: "forged log line", body: `{"detail":"denied\r\ntime=2025-01-15 level=INFO msg=\"payment approved\""}`,
			wantMessage: `denied\r\ntime=2025-01-15 level=INFO msg="payment approved"`},
		{name: "NUL and BEL", body: `{"error":"a\u0000b\u0007c"}`, wantMessage: `a\x00b\x07c`},
		{name: "bidi override", body: `{"message":"invoice \u202egpj.exe"}`, wantMessage: `invoice \u202egpj.exe`},
		{name: "bidi isolates and marks", body: `{"detail":"\u2066a\u2069 \u200eb\u200f \u2028c"}`,
			wantMessage: `\u2066a\u2069 \u200eb\u200f \u2028c`},
		{name: "C1 control", body: `{"detail":"x\u009b31my"}`, wantMessage: `x\u009b31my`},
		{name: "invalid UTF-8 in plain text", contentType: "text/plain", body: "bad \xff\xfe bytes",
			wantMessage: `bad \xff\xfe bytes`},
		{name: "escapes in a page title", contentType: "text/html",
			body: "<html><title>Oops\x1b]0;pwned\a</title><body>down</body></html>", wantMessage: `Oops\x1b]0;pwned\x07: down`},
		{name: "ordinary text is kept", body: `{"detail":"Café ☕ 👩‍💻 naïve — «ok»\ttab"}`,
			wantMessage: "Café ☕ 👩\u200d💻 naïve — «ok»\\ttab"},
		{name: "request id", body: `{"detail":"x"}`, header: []string{"X-Request-Id", "req\x1b[2J-1"},
			wantMessage: "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, WithMaxRetries(0))
			header := tt.header
			if tt.contentType != "" {
				header = append(header, "Content-Type", tt.contentType)
			}
			h.on("GET", "/v1/agent-runs/r1", reply(http.StatusBadRequest, tt.body, header...))
			_, err := h.c.AgentRuns.Get(context.Background(), "r1")
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)

			assert.Equal(t, tt.wantMessage, apiErr.Message)
			assert.Equal(t, tt.body, string(apiErr.Body), "Body keeps the raw bytes")
			for _, text := range []string{apiErr.Message, apiErr.Error(), apiErr.RequestID} {
				assert.True(t, utf8.ValidString(text), "%q", text)
				for _, hazard := range terminalHazards {
					assert.NotContains(t, text, hazard)
				}
			}
			if len(tt.header) > 0 {
				assert.Equal(t, `req\x1b[2J-1`, apiErr.RequestID)
			}
		})
	}
}

func TestErrorEscapesAMessageSetByHand(t *testing.T) {
	t.Parallel()
	// Error() does not trust Message to have come through the SDK.
	e := &APIError{StatusCode: http.StatusTeapot, Message: "a\nb\x1b[0m", RequestID: "r\r1"}
	assert.Equal(t, `toolhouse: 418 I'm a teapot: a\nb\x1b[0m (request id r\r1)`, e.Error())
}

func TestAProxyPageReadsOnce(t *testing.T) {
	t.Parallel()
	// nginx's own 502 page: the title, the same words as a heading, then
	// the server's name.
	const nginx = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n" +
		"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
	h := newHarness(t, WithMaxRetries(0))
	h.on("GET", "/v1/agent-runs/r1", reply(http.StatusBadGateway, nginx, "Content-Type", "text/html"))
	_, err := h.c.AgentRuns.Get(context.Background(), "r1")
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "502 Bad Gateway: nginx", apiErr.Message)
	assert.Equal(t, "toolhouse: GET "+testBase+"/v1/agent-runs/r1: 502 Bad Gateway: nginx", err.Error())
	assert.Equal(t, 1, strings.Count(err.Error(), "Bad Gateway"))

	// A message that only starts like the status text keeps its words.
	e := &APIError{StatusCode: http.StatusNotFound, Message: "Not Foundry-specific: no such run"}
	assert.Equal(t, "toolhouse: 404 Not Found: Not Foundry-specific: no such run", e.Error())
}

// A redirect's target is server text too: the query of a URL keeps bytes
// such as a bidirectional override as the Location header had them.
func TestARedirectTargetIsShownAsData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	other := newRecorder(t, false, func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "gone", http.StatusNotFound) })
	origin := newRecorder(t, false, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Location", other.srv.URL+"/x?file=\u202egpj.exe")
		w.WriteHeader(http.StatusFound)
	})
	c := clientOf(t, origin.srv.URL, nil)

	_, followed := c.AgentRuns.Get(ctx, "r1") // a GET follows it, to a 404
	var apiErr *APIError
	require.ErrorAs(t, followed, &apiErr)
	assert.Equal(t, other.srv.URL+`/x?file=\u202egpj.exe`, apiErr.URL)

	_, refused := c.AgentRuns.Create(ctx, AgentRunCreateParams{ChatID: "c1"}) // a POST does not
	require.Error(t, refused)
	assert.Contains(t, refused.Error(), `/x?file=\u202egpj.exe`)

	for _, text := range []string{followed.Error(), apiErr.Error(), refused.Error()} {
		for _, hazard := range terminalHazards {
			assert.NotContains(t, text, hazard)
		}
	}
}

// A failed run's error text is the server's too, and may quote what a
// tool was sent, the key included.
func TestARunsErrorTextIsShownAsData(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("GET", "/v1/agent-runs/r1", reply(http.StatusOK,
		`{"data":{"id":"r1\u202e","status":"failed","error":"tool failed\r\nlevel=INFO msg=ok \u001b[2J with Bearer `+testKey+`"}}`))
	_, err := h.c.AgentRuns.Wait(context.Background(), "r1", nil)
	var failed *RunFailedError
	require.ErrorAs(t, err, &failed)
	assert.Equal(t, "tool failed\r\nlevel=INFO msg=ok \x1b[2J with Bearer "+redacted, failed.Message,
		"Message keeps the server's text, less the key")
	assert.Equal(t, `toolhouse: agent run r1\u202e failed (status failed): tool failed\r\nlevel=INFO msg=ok \x1b[2J with Bearer [REDACTED]`,
		err.Error())
}
