package toolhouse

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAPIErrors(t *testing.T) {
	t.Parallel()
	// A proxy's error page: a big style block, then the text that matters.
	bigPage := "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title><style>" +
		strings.Repeat(".cf-error { margin: 0 auto; } ", 1400) +
		"</style><script>var x = 1;</script></head><body><h1>Bad gateway</h1><p>The web server reported a bad gateway error.</p></body></html>"
	require.Greater(t, len(bigPage), 40<<10)

	tests := []struct {
		name        string
		status      int
		body        string
		header      []string
		wantMessage string
		notFound    bool
		jobRunning  bool
	}{
		{name: "401", status: 401, body: `{"detail":"Not authenticated"}`, wantMessage: "Not authenticated"},
		{name: "403", status: 403, body: `{"detail":"Invalid chat id"}`, wantMessage: "Invalid chat id"},
		{name: "404", status: 404, body: `{"detail":"Agent run not found"}`, wantMessage: "Agent run not found", notFound: true},
		{name: "404 without a body", status: 404, notFound: true},
		{name: "409", status: 409, body: `{"detail":"job running"}`, wantMessage: "job running", jobRunning: true},
		{name: "422 FastAPI list", status: 422,
			body:        `{"detail":[{"loc":["body","chat_id"],"msg":"Field required","type":"missing"},{"loc":["query","limit",0],"msg":"Input should be a valid integer","type":"int_parsing"}]}`,
			wantMessage: "body.chat_id: Field required; query.limit.0: Input should be a valid integer"},
		{name: "error field", status: 400, body: `{"error":"quota exceeded"}`, wantMessage: "quota exceeded"},
		{name: "error object", status: 400, body: `{"error":{"message":"nested","code":7}}`, wantMessage: "nested"},
		{name: "message field", status: 400, body: `{"message":"bad things"}`, wantMessage: "bad things"},
		{name: "detail beats message", status: 400, body: `{"message":"second","detail":"first"}`, wantMessage: "first"},
		{name: "unknown JSON shape", status: 400, body: `{"oops":true}`, wantMessage: `{"oops":true}`},
		{name: "plain text", status: 400, body: "  nope\n\n  not today ", wantMessage: "nope not today"},
		{name: "400 that is not a not-found", status: 400, body: `{"detail":"Invalid cron text input"}`, wantMessage: "Invalid cron text input"},
		{name: "HTML 502 page", status: 502, body: bigPage,
			wantMessage: "502 Bad Gateway: Bad gateway The web server reported a bad gateway error."},
		{name: "empty 503", status: 503, body: ""},
		{name: "request id", status: 500, body: `{"detail":"boom"}`, header: []string{"X-Request-Id", "req-42"}, wantMessage: "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, WithMaxRetries(0))
			h.on("GET", "/v1/agent-runs/r", reply(tt.status, tt.body, tt.header...))
			_, err := h.c.AgentRuns.Get(context.Background(), "r")
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.status, apiErr.StatusCode)
			assert.Equal(t, tt.wantMessage, apiErr.Message)
			assert.Equal(t, tt.body, string(apiErr.Body))
			assert.Equal(t, "GET", apiErr.Method)
			assert.Equal(t, testBase+"/v1/agent-runs/r", apiErr.URL)
			assert.Equal(t, tt.notFound, errors.Is(err, ErrNotFound))
			assert.Equal(t, tt.jobRunning, errors.Is(err, ErrJobInProgress))

			msg := err.Error()
			assert.Contains(t, msg, "GET "+testBase+"/v1/agent-runs/r")
			assert.Contains(t, msg, http.StatusText(tt.status))
			assert.Contains(t, msg, tt.wantMessage)
			assert.Less(t, len(msg), 400, "an error line stays short: %s", msg)
			if len(tt.header) > 0 {
				assert.Equal(t, "req-42", apiErr.RequestID)
				assert.Contains(t, msg, "req-42")
				assert.Equal(t, "req-42", apiErr.Header.Get("X-Request-Id"))
			}
		})
	}
}

func TestAPIErrorBodyIsBounded(t *testing.T) {
	t.Parallel()
	h := newHarness(t, WithMaxRetries(0))
	huge := strings.Repeat("x", maxErrorBody+5000)
	h.on("GET", "/v1/agent-runs", reply(500, huge))
	_, err := h.c.AgentRuns.List(context.Background())
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Len(t, apiErr.Body, maxErrorBody)
	assert.LessOrEqual(t, len(apiErr.Message), maxSnippet+len("…"))
}

func TestAPIErrorNamesTheRequestWhenTheTransportDoesNot(t *testing.T) {
	t.Parallel()
	h := newHarness(t, WithMaxRetries(0))
	// A RoundTripper need not fill Response.Request.
	h.on("GET", "/v1/agent-runs", func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 418, Header: http.Header{}, Body: httpmock.NewRespBodyFromString(`{"detail":"teapot"}`)}, nil
	})
	_, err := h.c.AgentRuns.List(context.Background())
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "GET", apiErr.Method)
	assert.Equal(t, testBase+"/v1/agent-runs", apiErr.URL)
}

func TestAPIErrorString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *APIError
		want string
	}{
		{&APIError{StatusCode: 404}, "toolhouse: 404 Not Found"},
		{&APIError{StatusCode: 404, Message: "gone", Method: "GET", URL: "https://x/v1/a"}, "toolhouse: GET https://x/v1/a: 404 Not Found: gone"},
		{&APIError{StatusCode: 429, RetryAfter: 3600e9}, "toolhouse: 429 Too Many Requests (server asked to retry after 1h0m0s; not retried)"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.err.Error())
	}
}

func TestSnippet(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>": "502 Bad Gateway: nginx",
		"<p>Only <b>text</b></p>": "Only text",
		"<TITLE>Upper</TITLE><SCRIPT>alert(1)</SCRIPT><STYLE>p{}</STYLE>": "Upper",
		"<title>Unclosed script</title><script>var a;":                    "Unclosed script",
		"just text":                         "just text",
		"<title>  spaced \n title </title>": "spaced title",
	}
	for in, want := range tests {
		assert.Equal(t, want, snippet([]byte(in)), "%q", in)
	}
	long := snippet([]byte(strings.Repeat("é", 1000)))
	assert.LessOrEqual(t, len(long), maxSnippet+len("…"))
	assert.True(t, strings.HasSuffix(long, "…"))
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "abc", truncate("abc", 3))
	assert.Equal(t, "ab…", truncate("abc", 2))
	assert.Equal(t, "…", truncate("日本", 2), "never cut inside a rune")
	assert.Equal(t, "日…", truncate("日本", 4))
}

func TestMessageFrom(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		``:        "",
		`null`:    "",
		`"plain"`: "plain",
		`[{"loc":["body"],"msg":"a"},{"msg":"b"}]`: "body: a; b",
		`[{"loc":[],"msg":""}]`:                    "",
		`{"message":"m"}`:                          "m",
		`{"msg":"n"}`:                              "n",
		`42`:                                       "",
	}
	for in, want := range tests {
		assert.Equal(t, want, messageFrom([]byte(in)), "%s", in)
	}
}

func TestCheckID(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"bcb7e865-9e6c-xxxx-xxxx-c0110fdf5c2e", "a.b", "run 1", "a?b#c"} {
		assert.NoError(t, checkID("id", ok), ok)
	}
	for _, bad := range []string{"", " ", "a/b", `a\b`, "..", ".", "a..b", "a\x00b", "a\x7fb"} {
		err := checkID("runID", bad)
		var argErr *ArgumentError
		if assert.ErrorAs(t, err, &argErr, "%q", bad) {
			assert.Equal(t, "runID", argErr.Arg)
			assert.Contains(t, err.Error(), "invalid argument runID")
		}
	}
}

func TestRunFailedError(t *testing.T) {
	t.Parallel()
	err := error(&RunFailedError{RunID: "r", Status: RunCompleted, Message: "out of Execs"})
	assert.ErrorIs(t, err, ErrRunFailed)
	assert.NotErrorIs(t, err, ErrNotFound)
	assert.Equal(t, "toolhouse: agent run r failed (status completed): out of Execs", err.Error())
}
