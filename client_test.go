package toolhouse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/toolhouseai/toolhouse-go/internal/retry"
)

func TestUserAgentAuthAndContentType(t *testing.T) {
	t.Parallel()
	h := newHarness(t, WithUserAgent("myapp/1.2"))
	h.on("POST", "/v1/agent-runs", reply(200, fixture(t, "agent_run_created.json")))
	h.on("GET", "/v1/agent-runs", reply(200, `{"data": []}`))

	_, err := h.c.AgentRuns.Create(context.Background(), AgentRunCreateParams{ChatID: "chat"})
	require.NoError(t, err)
	_, err = h.c.AgentRuns.List(context.Background())
	require.NoError(t, err)

	reqs := h.requests()
	require.Len(t, reqs, 2)
	wantUA := regexp.MustCompile(`^toolhouse-go/` + regexp.QuoteMeta(Version) + ` go/\S+ ` +
		runtime.GOOS + "/" + runtime.GOARCH + ` myapp/1\.2$`)
	for _, r := range reqs {
		assert.Equal(t, "Bearer "+testKey, r.Header.Get("Authorization"))
		assert.Regexp(t, wantUA, r.Header.Get("User-Agent"))
	}
	assert.Equal(t, "application/json", reqs[0].Header.Get("Content-Type"))
	assert.Empty(t, reqs[1].Header.Get("Content-Type"), "a GET has no body")
	assert.Empty(t, reqs[1].Body)
}

func TestUserAgentWithoutSuffix(t *testing.T) {
	t.Parallel()
	c, err := NewClient(WithoutEnvironment())
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("toolhouse-go/%s go/%s %s/%s", Version,
		strings.TrimPrefix(runtime.Version(), "go"), runtime.GOOS, runtime.GOARCH), c.userAgent)
}

func TestMissingAPIKeySendsNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.c.key = nil
	ctx := context.Background()
	calls := map[string]func() error{
		"AgentRuns.Create": func() error {
			_, err := h.c.AgentRuns.Create(ctx, AgentRunCreateParams{ChatID: "c"})
			return err
		},
		"AgentRuns.Get":      func() error { _, err := h.c.AgentRuns.Get(ctx, "r"); return err },
		"AgentRuns.List":     func() error { _, err := h.c.AgentRuns.List(ctx); return err },
		"AgentRuns.Continue": func() error { _, err := h.c.AgentRuns.Continue(ctx, "r", "hi"); return err },
		"AgentRuns.Wait":     func() error { _, err := h.c.AgentRuns.Wait(ctx, "r", nil); return err },
		"Schedules.TextToCron": func() error {
			_, err := h.c.Schedules.TextToCron(ctx, "daily")
			return err
		},
		"Schedules.Create": func() error {
			_, err := h.c.Schedules.Create(ctx, ScheduleCreateParams{ChatID: "c", Cadence: "0 * * * *"})
			return err
		},
		"Schedules.Get":  func() error { _, err := h.c.Schedules.Get(ctx, "s"); return err },
		"Schedules.List": func() error { _, err := h.c.Schedules.List(ctx); return err },
		"Schedules.Update": func() error {
			_, err := h.c.Schedules.Update(ctx, "s", ScheduleUpdateParams{Active: Bool(true)})
			return err
		},
		"Schedules.Pause":  func() error { _, err := h.c.Schedules.Pause(ctx, "s"); return err },
		"Schedules.Resume": func() error { _, err := h.c.Schedules.Resume(ctx, "s"); return err },
		"Schedules.Delete": func() error { return h.c.Schedules.Delete(ctx, "s") },
		"Agents.List":      func() error { _, err := h.c.Agents.List(ctx); return err },
		"Agents.Get":       func() error { _, err := h.c.Agents.Get(ctx, "a"); return err },
		"Agents.Create": func() error {
			_, err := h.c.Agents.Create(ctx, AgentCreateParams{Prompt: "p"})
			return err
		},
		"Agents.Update": func() error {
			_, err := h.c.Agents.Update(ctx, "a", AgentUpdateParams{Title: String("t")})
			return err
		},
		"Agents.Delete":  func() error { return h.c.Agents.Delete(ctx, "a") },
		"Secrets.List":   func() error { _, err := h.c.Secrets.List(ctx); return err },
		"Secrets.Set":    func() error { return h.c.Secrets.Set(ctx, "K", "v") },
		"Secrets.Delete": func() error { return h.c.Secrets.Delete(ctx, "K") },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			assert.ErrorIs(t, call(), ErrMissingAPIKey)
		})
	}
	assert.Empty(t, h.requests())
}

func TestKeyDiscovery(t *testing.T) {
	// The th CLI's file: other lines around the key, and a key holding "=".
	const fileKey = "th-from-file=abc=="
	file := "# written by th\nTOOLHOUSE_API_URL=https://ignored.example\n" +
		"TOOLHOUSE_API_KEY=" + fileKey + "\nTOOLHOUSE_OTHER=1\n"
	tests := []struct {
		name    string
		env     string
		file    bool
		opts    []Option
		wantKey string
	}{
		{name: "option beats env and file", env: "th-env", file: true, opts: []Option{WithAPIKey("th-opt")}, wantKey: "th-opt"},
		{name: "empty option counts as not given", env: "th-env", file: true, opts: []Option{WithAPIKey("")}, wantKey: "th-env"},
		{name: "env beats file", env: "th-env", file: true, wantKey: "th-env"},
		{name: "file when no env", file: true, wantKey: fileKey},
		{name: "nothing", wantKey: ""},
		{name: "WithoutEnvironment ignores env and file", env: "th-env", file: true, opts: []Option{WithoutEnvironment()}, wantKey: ""},
		{name: "WithoutEnvironment keeps the option", env: "th-env", file: true, opts: []Option{WithoutEnvironment(), WithAPIKey("th-opt")}, wantKey: "th-opt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			t.Setenv("HOME", home)
			t.Setenv("TOOLHOUSE_API_KEY", tt.env)
			if tt.file {
				require.NoError(t, os.WriteFile(filepath.Join(home, ".toolhouse"), []byte(file), 0o600))
			}
			c, err := NewClient(tt.opts...)
			require.NoError(t, err)
			assert.Equal(t, tt.wantKey, c.key.value())
		})
	}
}

func TestKeyFromFile(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"TOOLHOUSE_API_KEY=th-a=b\n":                  "th-a=b",
		"x=1\r\nTOOLHOUSE_API_KEY=th-crlf\r\ny=2\r\n": "th-crlf",
		"export TOOLHOUSE_API_KEY=\"th-quoted\"\n":    "th-quoted",
		"TOOLHOUSE_API_KEY = th-spaced  \n":           "th-spaced",
		"#TOOLHOUSE_API_KEY=th-comment\n":             "",
		"TOOLHOUSE_API_KEY_OLD=th-other\n":            "",
		"TOOLHOUSE_API_KEY='th-single'":               "th-single",
		"no key here\nTOOLHOUSE_API_URL=https://x\n":  "",
	}
	for in, want := range tests {
		assert.Equal(t, want, keyFromFile(strings.NewReader(in)), "%q", in)
	}
}

func TestKeyWithControlCharactersIsRejectedWithoutShowingIt(t *testing.T) {
	t.Parallel()
	_, err := NewClient(WithoutEnvironment(), WithAPIKey("th-bad\nkey-"+testKey))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), testKey)
}

func TestBaseURLs(t *testing.T) {
	tests := []struct {
		name          string
		envAPI, envAg string
		opts          []Option
		wantBase      string
		wantAgents    string
	}{
		{name: "defaults", wantBase: DefaultBaseURL, wantAgents: DefaultAgentsURL},
		{name: "env", envAPI: "http://localhost:8080", envAg: "http://localhost:9090/",
			wantBase: "http://localhost:8080/", wantAgents: "http://localhost:9090/"},
		{name: "option beats env", envAPI: "http://env.example", envAg: "http://env.example",
			opts:     []Option{WithBaseURL("https://opt.example/"), WithAgentsURL("https://agents.opt.example")},
			wantBase: "https://opt.example/", wantAgents: "https://agents.opt.example/"},
		{name: "WithoutEnvironment ignores env", envAPI: "http://env.example", envAg: "http://env.example",
			opts: []Option{WithoutEnvironment()}, wantBase: DefaultBaseURL, wantAgents: DefaultAgentsURL},
		{name: "path prefix", opts: []Option{WithBaseURL("https://proxy.example/toolhouse")},
			wantBase: "https://proxy.example/toolhouse/", wantAgents: DefaultAgentsURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HOME", t.TempDir())
			t.Setenv("TOOLHOUSE_API_URL", tt.envAPI)
			t.Setenv("TOOLHOUSE_AGENTS_URL", tt.envAg)
			c, err := NewClient(tt.opts...)
			require.NoError(t, err)
			assert.Equal(t, tt.wantBase, c.baseURL.String())
			assert.Equal(t, tt.wantAgents, c.agentsURL.String())
		})
	}
}

func TestRequestURLJoinsBaseAndPath(t *testing.T) {
	t.Parallel()
	for base, want := range map[string]string{
		"https://proxy.test/prefix":  "/prefix/v1/agent-runs/run%201",
		"https://proxy.test/prefix/": "/prefix/v1/agent-runs/run%201",
		// A prefix with an escaped slash keeps it, with or without /v1.
		"https://proxy.test/a%2Fb":     "/a%2Fb/v1/agent-runs/run%201",
		"https://proxy.test/a%2Fb/v1":  "/a%2Fb/v1/agent-runs/run%201",
		"https://proxy.test/a%2F/v1/":  "/a%2F/v1/agent-runs/run%201",
		"https://proxy.test/%2F/v1":    "/%2F/v1/agent-runs/run%201",
		"https://proxy.test/sp%20ace/": "/sp%20ace/v1/agent-runs/run%201",
	} {
		t.Run(base, func(t *testing.T) {
			h := newHarness(t, WithBaseURL(base))
			h.mock.RegisterNoResponder(reply(200, fixture(t, "agent_run_queued.json")))
			_, err := h.c.AgentRuns.Get(context.Background(), "run 1")
			require.NoError(t, err)
			require.Len(t, h.requests(), 1)
			assert.Equal(t, want, h.requests()[0].Path)
		})
	}
}

func TestConstructorErrors(t *testing.T) {
	tests := map[string][]Option{
		"empty base URL":       {WithBaseURL("")},
		"no scheme":            {WithBaseURL("api.toolhouse.ai")},
		"ftp":                  {WithBaseURL("ftp://api.toolhouse.ai")},
		"no host":              {WithBaseURL("https://")},
		"unparsable":           {WithBaseURL("http://[::1")},
		"query":                {WithBaseURL("https://api.toolhouse.ai/?x=1")},
		"fragment":             {WithAgentsURL("https://agents.toolhouse.ai/#x")},
		"negative retries":     {WithMaxRetries(-1)},
		"nil http client":      {WithHTTPClient(nil)},
		"two-line user agent":  {WithUserAgent("a\r\nX-Evil: 1")},
		"NUL in user agent":    {WithUserAgent("app\x00")}, // else every request fails in the transport
		"DEL in user agent":    {WithUserAgent("app\x7f")},
		"negative poll":        {WithPollOptions(PollOptions{Interval: -time.Second})},
		"bad retry backoff":    {WithRetryBackoff(time.Second, time.Millisecond)},
		"non-positive line sz": {WithMaxLineSize(0)},
	}
	for name, opts := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := NewClient(append([]Option{WithoutEnvironment()}, opts...)...)
			assert.Error(t, err)
			assert.Nil(t, c)
		})
	}
	t.Run("bad env URL", func(t *testing.T) {
		t.Setenv("TOOLHOUSE_API_URL", "not a url")
		_, err := NewClient()
		assert.ErrorContains(t, err, "TOOLHOUSE_API_URL")
	})
	t.Run("URL errors hide credentials", func(t *testing.T) {
		for _, u := range []string{"ftp://user:hunter2@example.com", "http://user:hunter2@[::1"} {
			_, err := NewClient(WithoutEnvironment(), WithBaseURL(u))
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "hunter2")
		}
	})
	t.Run("valid tuning options", func(t *testing.T) {
		c, err := NewClient(WithoutEnvironment(), WithRetryBackoff(time.Second, 4*time.Second), WithMaxLineSize(1024), nil)
		require.NoError(t, err)
		assert.Equal(t, time.Second, c.retryBase)
		assert.Equal(t, 4*time.Second, c.retryMax)
		assert.Equal(t, 1024, c.maxLineSize)
	})
}

func TestRetryHints429(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 15, 1, 46, 23, 0, time.UTC)
	tests := []struct {
		name   string
		header []string
		want   time.Duration
	}{
		{"retry-after-ms", []string{"retry-after-ms", "1500"}, 1500 * time.Millisecond},
		{"Retry-After seconds", []string{"Retry-After", "3"}, 3 * time.Second},
		{"Retry-After HTTP date", []string{"Retry-After", now.Add(7 * time.Second).Format(http.TimeFormat)}, 7 * time.Second},
		{"retry-after-ms beats Retry-After", []string{"retry-after-ms", "250", "Retry-After", "9"}, 250 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.on("GET", "/v1/schedules", reply(429, `{"detail":"slow down"}`, tt.header...), reply(200, `{"data":[]}`))
			_, err := h.c.Schedules.List(context.Background())
			require.NoError(t, err)
			assert.Len(t, h.requests(), 2)
			assert.Equal(t, []time.Duration{tt.want}, h.sleeps())
		})
	}
}

func TestRetryHintTooLongEndsRetrying(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"86400", "1e30"} {
		t.Run(v, func(t *testing.T) {
			h := newHarness(t)
			h.on("GET", "/v1/schedules", reply(429, `{"detail":"quota exceeded"}`, "Retry-After", v), reply(200, `{"data":[]}`))
			_, err := h.c.Schedules.List(context.Background())
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, 429, apiErr.StatusCode)
			assert.Len(t, h.requests(), 1)
			assert.Empty(t, h.sleeps(), "never sleep for a day")
			assert.Contains(t, err.Error(), "retry after")
			if v == "86400" {
				assert.Equal(t, 24*time.Hour, apiErr.RetryAfter)
				assert.Contains(t, err.Error(), "24h0m0s")
			}
		})
	}
}

func TestRetry5xxOnGetThenSuccess(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("GET", "/v1/agent-runs/run-1", reply(500, `{"detail":"oops"}`), reply(200, fixture(t, "agent_run_queued.json")))
	run, err := h.c.AgentRuns.Get(context.Background(), "run-1")
	require.NoError(t, err)
	assert.Equal(t, RunQueued, run.Status)
	assert.Len(t, h.requests(), 2)
	require.Len(t, h.sleeps(), 1)
	assert.GreaterOrEqual(t, h.sleeps()[0], 375*time.Millisecond)
	assert.LessOrEqual(t, h.sleeps()[0], 500*time.Millisecond)
}

func TestRetriesExhausted(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("GET", "/v1/agent-runs", reply(503, ``))
	_, err := h.c.AgentRuns.List(context.Background())
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 503, apiErr.StatusCode)
	assert.Len(t, h.requests(), 3, "one try and two retries by default")
	d := h.sleeps()
	require.Len(t, d, 2)
	assert.True(t, d[0] >= 375*time.Millisecond && d[0] <= 500*time.Millisecond, d[0])
	assert.True(t, d[1] >= 750*time.Millisecond && d[1] <= time.Second, d[1])
}

func TestWithMaxRetriesZeroDisablesRetries(t *testing.T) {
	t.Parallel()
	h := newHarness(t, WithMaxRetries(0))
	h.on("GET", "/v1/agent-runs", reply(503, ``), reply(200, `{"data":[]}`))
	_, err := h.c.AgentRuns.List(context.Background())
	require.Error(t, err)
	assert.Len(t, h.requests(), 1)
	assert.Empty(t, h.sleeps())
}

func TestRetryResendsIdenticalBodyForIdempotentPut(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("PUT", "/v1/schedules/s-1", reply(502, `<html>bad gateway</html>`), reply(500, `{}`), reply(200, `{"data":{"id":"s-1","cadence":"0 */3 * * *"}}`))
	s, err := h.c.Schedules.Update(context.Background(), "s-1", ScheduleUpdateParams{Cadence: String("0 */3 * * *")})
	require.NoError(t, err)
	assert.Equal(t, "0 */3 * * *", s.Cadence)
	reqs := h.requests()
	require.Len(t, reqs, 3)
	for _, r := range reqs {
		assert.Equal(t, `{"cadence":"0 */3 * * *"}`, string(r.Body))
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	}
}

func TestPostNotRetriedAfter5xx(t *testing.T) {
	t.Parallel()
	for _, status := range []int{500, 502, 503, 504, 408} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			h := newHarness(t)
			h.on("POST", "/v1/agent-runs", reply(status, `{"detail":"boom"}`), reply(200, fixture(t, "agent_run_created.json")))
			_, err := h.c.AgentRuns.Create(context.Background(), AgentRunCreateParams{ChatID: "chat"})
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, status, apiErr.StatusCode)
			assert.Len(t, h.requests(), 1, "the run may have started: never create it twice")
		})
	}
}

func TestContinueNotRetriedAfter5xx(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("PUT", "/v1/agent-runs/r", reply(502, ``), reply(200, fixture(t, "agent_run_queued.json")))
	_, err := h.c.AgentRuns.Continue(context.Background(), "r", "more")
	require.Error(t, err)
	assert.Len(t, h.requests(), 1)
}

func TestPostRetriedOn429WithSameBody(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("POST", "/v1/schedules", reply(429, `{"detail":"rate"}`, "Retry-After", "2"), reply(200, fixture(t, "schedule_created.json")))
	_, err := h.c.Schedules.Create(context.Background(), ScheduleCreateParams{ChatID: "c", Cadence: "0 17 * * 0"})
	require.NoError(t, err)
	reqs := h.requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, reqs[0].Body, reqs[1].Body)
	assert.Equal(t, `{"chat_id":"c","cadence":"0 17 * * 0"}`, string(reqs[1].Body))
	assert.Equal(t, []time.Duration{2 * time.Second}, h.sleeps())
}

func TestContextCancelledDuringBackoff(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("GET", "/v1/agent-runs/r", reply(503, `{"detail":"busy"}`, "Retry-After", "30"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The real sleep, cancelled from elsewhere while it waits 30 s.
	h.c.sleep = func(ctx context.Context, d time.Duration) error {
		go func() {
			time.Sleep(2 * time.Millisecond)
			cancel()
		}()
		return retry.Sleep(ctx, d)
	}
	start := time.Now()
	_, err := h.c.AgentRuns.Get(ctx, "r")
	assert.Less(t, time.Since(start), 5*time.Second, "the sleep must end with the context")
	assert.ErrorIs(t, err, context.Canceled)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr, "the last answer stays inspectable")
	assert.Equal(t, 503, apiErr.StatusCode)
	assert.Len(t, h.requests(), 1)
}

func TestContextAlreadyCancelled(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("GET", "/v1/agent-runs", reply(200, `{"data":[]}`))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := h.c.AgentRuns.List(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, h.sleeps())
}

func TestDialFailureRetriesEvenAPost(t *testing.T) {
	t.Parallel()
	h := newLoopback(t, http.NotFoundHandler())
	h.srv.Close() // nobody listens there any more
	_, err := h.c.AgentRuns.Create(context.Background(), AgentRunCreateParams{ChatID: "chat"})
	require.Error(t, err)
	var opErr *net.OpError
	require.ErrorAs(t, err, &opErr)
	assert.Equal(t, "dial", opErr.Op)
	assert.Len(t, h.requests(), 3, "a request that never left may be sent again")
	assert.Len(t, h.sleeps(), 2)
	assert.NotContains(t, err.Error(), testKey)
}

func TestConnectionLostMidRequest(t *testing.T) {
	t.Parallel()
	hangUp := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	t.Run("POST is not retried", func(t *testing.T) {
		t.Parallel()
		h := newLoopback(t, hangUp)
		_, err := h.c.AgentRuns.Create(context.Background(), AgentRunCreateParams{ChatID: "chat"})
		require.Error(t, err)
		assert.Len(t, h.requests(), 1)
		assert.Empty(t, h.sleeps())
	})
	t.Run("GET is retried", func(t *testing.T) {
		t.Parallel()
		h := newLoopback(t, hangUp)
		_, err := h.c.AgentRuns.Get(context.Background(), "r")
		require.Error(t, err)
		assert.Len(t, h.requests(), 3)
		assert.Len(t, h.sleeps(), 2)
	})
}

// closeCounter is a response body that counts its Close calls.
type closeCounter struct {
	io.Reader
	closed *atomic.Int32
}

func (c closeCounter) Close() error { c.closed.Add(1); return nil }

func TestEveryResponseBodyIsClosed(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var closed atomic.Int32
	respond := func(status int, body string) httpmock.Responder {
		return func(*http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: status, Header: http.Header{},
				Body: closeCounter{strings.NewReader(body), &closed}}, nil
		}
	}
	h.on("GET", "/v1/agent-runs", respond(500, "x"), respond(429, "y"), respond(200, `{"data":[]}`))
	_, err := h.c.AgentRuns.List(context.Background())
	require.NoError(t, err)
	assert.Equal(t, int32(3), closed.Load())
}

func TestTheKeyNeverLeaks(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := newHarness(t, WithLogger(logger))
	ctx := context.Background()

	var errs []error
	// A server that echoes the credentials in its error.
	h.on("GET", "/v1/agent-runs/echo", reply(401, `{"detail":"Invalid API key `+testKey+` BODY-MARKER"}`))
	_, err := h.c.AgentRuns.Get(ctx, "echo")
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Contains(t, apiErr.Message, "Invalid API key [REDACTED]")
	assert.NotContains(t, string(apiErr.Body), testKey)
	errs = append(errs, err)

	// A server that echoes it in HTML.
	h.on("GET", "/v1/agent-runs/html", reply(403, `<html><body>Forbidden for Bearer `+testKey+`</body></html>`))
	_, err = h.c.AgentRuns.Get(ctx, "html")
	errs = append(errs, err)

	// A transport that puts the header in its error.
	errProxy := errors.New("proxy refused")
	h.on("GET", "/v1/agent-runs/transport", func(req *http.Request) (*http.Response, error) {
		return nil, fmt.Errorf("%w: %s", errProxy, req.Header.Get("Authorization"))
	})
	_, err = h.c.AgentRuns.Get(ctx, "transport")
	assert.ErrorIs(t, err, errProxy, "the scrubbed error still wraps the original")
	errs = append(errs, err)

	// A 200 that is not JSON and repeats the key.
	h.on("GET", "/v1/agent-runs/decode", reply(200, `<html>hello `+testKey+` BODY-MARKER</html>`))
	_, err = h.c.AgentRuns.Get(ctx, "decode")
	errs = append(errs, err)

	// Retries, with a request body that must not be logged either.
	h.on("PUT", "/v1/schedules/s", reply(503, `{"detail":"BODY-MARKER"}`), reply(200, `{}`))
	_, err = h.c.Schedules.Update(ctx, "s", ScheduleUpdateParams{Bundle: String("REQUEST-MARKER")})
	require.NoError(t, err)

	for _, err := range errs {
		require.Error(t, err)
		assert.NotContains(t, err.Error(), testKey)
		assert.NotContains(t, fmt.Sprintf("%+v %#v", err, err), testKey)
	}

	// Printing the client, as a panic or a test failure would.
	printed := fmt.Sprintf("%v %+v %#v %s", h.c, h.c, h.c, h.c)
	assert.NotContains(t, printed, testKey)
	assert.Contains(t, printed, "APIKey: set")
	func() {
		defer func() {
			r := recover()
			require.NotNil(t, r)
			assert.NotContains(t, fmt.Sprint(r), testKey)
		}()
		panic(fmt.Sprintf("client %v failed: %v", h.c, errs[0]))
	}()

	out := logs.String()
	assert.NotContains(t, out, testKey)
	assert.NotContains(t, out, "BODY-MARKER")
	assert.NotContains(t, out, "REQUEST-MARKER")

	var sawRequest bool
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		assert.Equal(t, "DEBUG", rec["level"])
		if rec["msg"] != "toolhouse: request" || rec["path"] != "/v1/schedules/s" {
			continue
		}
		sawRequest = true
		assert.Equal(t, "PUT", rec["method"])
		assert.Contains(t, rec, "status")
		assert.Contains(t, rec, "attempt")
		assert.Contains(t, rec, "duration")
	}
	assert.True(t, sawRequest, "the PUT attempts are logged: %s", out)
	assert.Contains(t, out, `"status":503`)
	assert.Contains(t, out, `"status":200`)
	assert.Contains(t, out, `"attempt":2`)
}

func TestLoggerAboveDebugLogsNothing(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	h := newHarness(t, WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))))
	h.on("GET", "/v1/agent-runs", reply(200, `{"data":[]}`))
	_, err := h.c.AgentRuns.List(context.Background())
	require.NoError(t, err)
	assert.Empty(t, logs.String())
}

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	var v struct{ A []int }
	require.NoError(t, decodeJSON([]byte(`{"A": [1, 2,],}`), &v), "trailing commas are tolerated")
	assert.Equal(t, []int{1, 2}, v.A)

	var s struct{ S string }
	require.NoError(t, decodeJSON([]byte(`{"S": "a,]"}`), &s), "commas inside strings stay")
	assert.Equal(t, "a,]", s.S)
	require.NoError(t, decodeJSON([]byte(`{"S": "q\",]"}`), &s))
	assert.Equal(t, `q",]`, s.S)

	err := decodeJSON([]byte("<html><title>Gateway Timeout</title></html>"), &v)
	assert.ErrorContains(t, err, "response is not JSON: Gateway Timeout")

	var syn *json.SyntaxError
	assert.ErrorAs(t, decodeJSON([]byte(`{"A": [1 2]}`), &v), &syn)
}

func TestNonJSONSuccessBodyIsAReadableError(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	page := "<!DOCTYPE html><html><head><title>Maintenance</title><style>" +
		strings.Repeat("body{color:red}", 3000) + "</style></head><body><p>Back soon.</p></body></html>"
	h.on("GET", "/v1/agent-runs/r", reply(200, page, "Content-Type", "text/html"))
	_, err := h.c.AgentRuns.Get(context.Background(), "r")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "GET "+testBase+"/v1/agent-runs/r")
	assert.Contains(t, err.Error(), "not JSON: Maintenance: Back soon.")
	assert.Less(t, len(err.Error()), 400)
}

func TestSuccessWithoutDataIsAnError(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("GET", "/v1/agent-runs/r", reply(200, `{}`))
	h.on("POST", "/v1/schedules", reply(200, ``))
	run, err := h.c.AgentRuns.Get(context.Background(), "r")
	assert.Nil(t, run)
	assert.ErrorContains(t, err, `no "data"`)
	s, err := h.c.Schedules.Create(context.Background(), ScheduleCreateParams{ChatID: "c", Cadence: "0 * * * *"})
	assert.Nil(t, s)
	assert.Error(t, err)
}

func TestPollOptionsPrecedence(t *testing.T) {
	t.Parallel()
	c, err := NewClient(WithoutEnvironment(), WithPollOptions(PollOptions{Interval: 2 * time.Second}))
	require.NoError(t, err)
	o, err := c.pollOptions(nil)
	require.NoError(t, err)
	assert.Equal(t, 2*time.Second, o.Interval)
	o, err = c.pollOptions(&PollOptions{Interval: 3 * time.Second})
	require.NoError(t, err)
	assert.Equal(t, 3*time.Second, o.Interval)
	// A call that only bounds the wait keeps the client's pace.
	o, err = c.pollOptions(&PollOptions{MaxWait: time.Minute})
	require.NoError(t, err)
	assert.Equal(t, PollOptions{Interval: 2 * time.Second, MaxWait: time.Minute}, o)
	_, err = c.pollOptions(&PollOptions{MaxWait: -1})
	assert.Error(t, err)
}

func TestConcurrentCalls(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("GET", runPath, reply(500, ``), reply(200, fixture(t, "agent_run_completed.json")))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run, err := h.c.AgentRuns.Get(context.Background(), seedRunID)
			if assert.NoError(t, err) {
				assert.Equal(t, RunCompleted, run.Status)
			}
		}()
	}
	wg.Wait()
	assert.Len(t, h.requests(), 9)
}
