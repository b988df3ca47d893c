package toolhouse

// The fault suite: what a caller sees when a server or the network
// misbehaves. Every server is a loopback httptest server; the retry clock is
// the client's injected sleep, so no test waits for a real backoff.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// faultStream opens a worker's NDJSON stream (POST ndjson/{agentID}), the
// public road to an EventStream.
func faultStream(ctx context.Context, c *Client, agentID string) (*EventStream, error) {
	return c.Workers.Stream(ctx, agentID, WorkerRunParams{Message: "hi"})
}

// faultNDJSONHeader starts a streamed NDJSON answer.
func faultNDJSONHeader(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set(headerRunID, "run-1")
	w.WriteHeader(http.StatusOK)
	_ = http.NewResponseController(w).Flush()
}

// faultNext calls s.Next, failing the test instead of hanging.
func faultNext(t *testing.T, s *EventStream) bool {
	t.Helper()
	return returnsWithin(t, "EventStream.Next", s.Next)
}

// faultDrain reads a stream to its end and returns the texts it delivered.
func faultDrain(t *testing.T, s *EventStream) []string {
	t.Helper()
	var texts []string
	for faultNext(t, s) {
		texts = append(texts, s.Current().Text)
	}
	return texts
}

func TestFaultConnectionResetMidStream(t *testing.T) {
	t.Parallel()
	readTwo := make(chan struct{})
	h := newLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		faultNDJSONHeader(w)
		fmt.Fprint(w, `{"type":"text-delta","textDelta":"a"}`+"\n"+`{"type":"text-delta","textDelta":"b"}`+"\n")
		_ = http.NewResponseController(w).Flush()
		// Reset only once the client holds both events, so that the
		// test does not depend on what the kernel does with unread data.
		select {
		case <-readTwo:
		case <-r.Context().Done():
			return
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if !assert.NoError(t, err) {
			return
		}
		_ = conn.(*net.TCPConn).SetLinger(0) // close sends RST, not FIN
		conn.Close()
	}))
	c := h.c

	s, err := faultStream(context.Background(), c, "agent")
	require.NoError(t, err)
	defer s.Close()
	require.True(t, faultNext(t, s))
	require.True(t, faultNext(t, s))
	assert.Equal(t, "b", s.Current().Text)
	close(readTwo)

	assert.False(t, faultNext(t, s), "a reset connection ends the stream")
	err = s.Err()
	require.Error(t, err, "a reset is not a clean end")
	assert.NotErrorIs(t, err, io.EOF)
	assert.True(t, errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF),
		"the cause stays inspectable: %v", err)
	assert.Contains(t, err.Error(), "reset", "the message says what happened")
	assert.True(t, strings.HasPrefix(err.Error(), "toolhouse: "), "the message says who is speaking: %v", err)
	assert.False(t, faultNext(t, s), "Next stays false after the error")
	assert.Equal(t, err, s.Err(), "Err is stable")
	assert.NoError(t, s.Close())
	assert.Empty(t, h.sleeps(), "a stream whose body started is never retried")
}

func TestFaultStallAfterHeaders(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// ctx returns the stream's context and what ends it, which runs
		// once the first event is in, while the next read stalls.
		ctx  func() (context.Context, func())
		want error
	}{
		{"cancel", func() (context.Context, func()) {
			return context.WithCancel(context.Background())
		}, context.Canceled},
		{"deadline", func() (context.Context, func()) {
			ctx := newExpiringContext()
			return ctx, ctx.expire
		}, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			release := make(chan struct{})
			h := newLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				faultNDJSONHeader(w)
				fmt.Fprint(w, `{"type":"text-delta","textDelta":"first"}`+"\n")
				_ = http.NewResponseController(w).Flush()
				<-release // forever, as far as the client knows
			}))
			// Cleanups run last-in first-out: release the handler, then
			// close the server (which waits for its handlers).
			t.Cleanup(func() { close(release) })
			c := h.c

			ctx, end := tc.ctx()
			defer end()
			s, err := faultStream(ctx, c, "agent")
			require.NoError(t, err)
			defer s.Close()
			require.True(t, faultNext(t, s))
			assert.Equal(t, "first", s.Current().Text)

			time.AfterFunc(2*time.Millisecond, end)
			assert.False(t, faultNext(t, s), "the context ends a stalled stream")
			require.Error(t, s.Err())
			assert.ErrorIs(t, s.Err(), tc.want)
			assert.NoError(t, s.Close())
		})
	}
}

func TestFaultPartialLineThenEOF(t *testing.T) {
	t.Parallel()
	const whole = `{"type":"text-delta","textDelta":"whole"}` + "\n"
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		wantErr error // nil: a clean end
	}{
		{
			// Chunked body that ends cleanly, in the middle of a line.
			name: "chunked",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				faultNDJSONHeader(w)
				fmt.Fprint(w, whole+`{"type":"text-delta","textD`)
			},
			wantErr: io.ErrUnexpectedEOF,
		},
		{
			// The cut falls inside a string value.
			name: "inside a string",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				faultNDJSONHeader(w)
				fmt.Fprint(w, whole+`{"type":"text-delta","textDelta":"hal`)
			},
			wantErr: io.ErrUnexpectedEOF,
		},
		{
			// The server promised more bytes than it sent and hung up.
			name: "short Content-Length",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				body := whole + `{"type":"text-delta","textDelta":"cut"}` + "\n"
				w.Header().Set("Content-Length", fmt.Sprint(len(body)))
				w.WriteHeader(http.StatusOK)
				fmt.Fprint(w, body[:len(body)-10])
			},
			wantErr: io.ErrUnexpectedEOF,
		},
		{
			// Control: a complete last line without its newline is a line.
			name: "complete last line",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				faultNDJSONHeader(w)
				fmt.Fprint(w, whole+`{"type":"text-delta","textDelta":"last"}`)
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newLoopback(t, tc.handler)
			c := h.c
			s, err := faultStream(context.Background(), c, "agent")
			require.NoError(t, err)
			defer s.Close()

			texts := faultDrain(t, s)
			require.NotEmpty(t, texts)
			assert.Equal(t, "whole", texts[0], "the complete line before the cut is delivered")
			if tc.wantErr == nil {
				assert.NoError(t, s.Err())
				assert.Equal(t, []string{"whole", "last"}, texts)
				return
			}
			assert.Len(t, texts, 1, "the cut line is not delivered")
			assert.ErrorIs(t, s.Err(), tc.wantErr)
		})
	}
}

func TestFaultEventsThenHTMLPage(t *testing.T) {
	t.Parallel()
	const n = 10000
	h := newLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		faultNDJSONHeader(w)
		var b bytes.Buffer
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, `{"type":"text-delta","textDelta":"%d"}`+"\n", i)
		}
		// A proxy in the way gave up and appended its own page.
		b.WriteString("<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n" +
			"<body><h1>502 Bad Gateway</h1></body></html>\n")
		_, _ = w.Write(b.Bytes())
	}))
	c := h.c
	s, err := faultStream(context.Background(), c, "agent")
	require.NoError(t, err)
	defer s.Close()

	texts := faultDrain(t, s)
	require.Len(t, texts, n, "every event before the page is delivered")
	for i, text := range texts {
		if text != fmt.Sprint(i) {
			t.Fatalf("event %d has text %q", i, text)
		}
	}
	require.Error(t, s.Err())
	assert.NotErrorIs(t, s.Err(), io.EOF)
	assert.Contains(t, s.Err().Error(), fmt.Sprintf("line %d", n+1), "the error names the page's line")
}

// faultStatus answers with status and a FastAPI error body.
func faultStatus(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"detail":"scripted %d"}`, status)
}

const faultSchedule = `{"data":{"id":"s1","chat_id":"c1","cadence":"0 9 * * *","active":false}}`

func TestFaultRetryAfterBeyondLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		header string
		value  string
		want   string // the hint as Error() shows it
	}{
		{"seconds", "Retry-After", "86400", "24h0m0s"},
		{"milliseconds", "Retry-After-Ms", "86400000", "24h0m0s"},
		{"HTTP date", "Retry-After", "Sun, 06 Nov 1994 10:49:37 GMT", "2h0m0s"}, // now is 08:49:37
	} {
		for _, call := range []struct {
			name string
			do   func(c *Client) error
		}{
			{"GET", func(c *Client) error { _, err := c.AgentRuns.Get(context.Background(), "r1"); return err }},
			{"POST", func(c *Client) error {
				_, err := c.AgentRuns.Create(context.Background(), AgentRunCreateParams{ChatID: "c1"})
				return err
			}},
		} {
			t.Run(tc.name+"/"+call.name, func(t *testing.T) {
				t.Parallel()
				h := newLoopback(t, numbered(func(_ int, w http.ResponseWriter) {
					w.Header().Set(tc.header, tc.value)
					faultStatus(w, http.StatusTooManyRequests)
				}))
				c := h.c
				c.now = func() time.Time { return time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC) }

				err := call.do(c)
				var apiErr *APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, http.StatusTooManyRequests, apiErr.StatusCode)
				assert.Empty(t, h.sleeps(), "the SDK never sleeps for a hint beyond its limit")
				assert.Len(t, h.requests(), 1)
				assert.Contains(t, apiErr.Error(), tc.want, "the error names the server's hint")
				assert.Contains(t, apiErr.Error(), "scripted 429")
				assert.Greater(t, apiErr.RetryAfter, time.Minute)
			})
		}
	}
}

func TestFaultIdempotentRetryResendsSameBody(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		do   func(c *Client) (*Schedule, error)
		want string // the JSON body sent
	}{
		{"Update", func(c *Client) (*Schedule, error) {
			return c.Schedules.Update(context.Background(), "s1", ScheduleUpdateParams{
				Cadence: String("0 9 * * *"), Vars: map[string]string{"city": "Zürich", "note": `a "quoted" é`}})
		}, `{"cadence":"0 9 * * *","vars":{"city":"Zürich","note":"a \"quoted\" é"}}`},
		{"Pause", func(c *Client) (*Schedule, error) {
			return c.Schedules.Pause(context.Background(), "s1")
		}, `{"active":false}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newLoopback(t, numbered(func(n int, w http.ResponseWriter) {
				if n == 0 {
					faultStatus(w, http.StatusServiceUnavailable)
					return
				}
				fmt.Fprint(w, faultSchedule)
			}))
			c := h.c

			sched, err := tc.do(c)
			require.NoError(t, err)
			assert.Equal(t, "s1", sched.ID)
			reqs := h.requests()
			require.Len(t, reqs, 2, "exactly one retry")
			assert.Len(t, h.sleeps(), 1, "one backoff before the retry")
			assert.JSONEq(t, tc.want, string(reqs[0].Body))
			assert.Equal(t, reqs[0].Body, reqs[1].Body, "the retry re-sends the body byte for byte")
			assert.Equal(t, http.MethodPut, reqs[1].Method)
			assert.Equal(t, reqs[0].Path, reqs[1].Path)
		})
	}
}

func TestFaultNonIdempotentNotRetriedAfter5xx(t *testing.T) {
	t.Parallel()
	calls := []struct {
		name string
		do   func(c *Client) error
	}{
		{"AgentRuns.Create", func(c *Client) error {
			_, err := c.AgentRuns.Create(context.Background(), AgentRunCreateParams{ChatID: "c1"})
			return err
		}},
		{"AgentRuns.Continue", func(c *Client) error {
			_, err := c.AgentRuns.Continue(context.Background(), "r1", "and then?")
			return err
		}},
		{"Schedules.Create", func(c *Client) error {
			_, err := c.Schedules.Create(context.Background(), ScheduleCreateParams{ChatID: "c1", Cadence: "0 9 * * *"})
			return err
		}},
		{"stream POST", func(c *Client) error {
			s, err := faultStream(context.Background(), c, "agent")
			if s != nil {
				s.Close()
			}
			return err
		}},
	}
	for _, status := range []int{500, 502, 503, 504} {
		for _, call := range calls {
			t.Run(fmt.Sprintf("%s/%d", call.name, status), func(t *testing.T) {
				t.Parallel()
				h := newLoopback(t, numbered(func(_ int, w http.ResponseWriter) { faultStatus(w, status) }))
				c := h.c

				err := call.do(c)
				var apiErr *APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, status, apiErr.StatusCode)
				assert.Len(t, h.requests(), 1, "a call that may have created something is sent once")
				assert.Empty(t, h.sleeps())
			})
		}
	}

	// Control: the same answer to an idempotent call is retried until the
	// retries run out, so the count above is the policy and not an accident.
	t.Run("control GET", func(t *testing.T) {
		t.Parallel()
		h := newLoopback(t, numbered(func(_ int, w http.ResponseWriter) { faultStatus(w, http.StatusInternalServerError) }))
		c := h.c
		_, err := c.AgentRuns.Get(context.Background(), "r1")
		require.Error(t, err)
		assert.Len(t, h.requests(), 1+defaultMaxRetries)
		assert.Len(t, h.sleeps(), defaultMaxRetries)
	})
}

// faultKey is distinctive enough that any appearance of it is a leak.
const faultKey = "th-KEYCANARY-5f0c1e9a7b3d"

func TestFaultKeyNeverLeaks(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := faultJSONLogger(&logs, &logMu)
	var seen []string // every error and panic text the scenarios produced
	check := func(what string, v any) {
		t.Helper()
		text := fmt.Sprint(v)
		seen = append(seen, what+": "+text)
		assert.NotContains(t, text, faultKey, "%s leaks the key", what)
		assert.NotContains(t, text, strings.TrimPrefix(faultKey, "th-"), "%s leaks part of the key", what)
	}

	var n atomic.Int64
	h := newLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !assert.Equal(t, "Bearer "+faultKey, r.Header.Get("Authorization")) {
			return
		}
		switch r.URL.Path {
		case "/v1/agent-runs/ok":
			fmt.Fprint(w, `{"data":{"id":"ok","status":"completed"}}`)
		case "/v1/agent-runs/flaky":
			if n.Add(1) == 1 {
				w.Header().Set("Retry-After-Ms", "1")
				faultStatus(w, http.StatusServiceUnavailable)
				return
			}
			fmt.Fprint(w, `{"data":{"id":"flaky","status":"completed"}}`)
		case "/v1/agent-runs/missing":
			faultStatus(w, http.StatusNotFound)
		case "/v1/agent-runs":
			w.WriteHeader(http.StatusUnprocessableEntity)
			fmt.Fprint(w, `{"detail":[{"loc":["body","chat_id"],"msg":"field required","type":"missing"}]}`)
		case "/v1/agent-runs/hangup":
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		default:
			faultStatus(w, http.StatusTeapot)
		}
	}))
	// The key is also in the base URL's user information, where a careless
	// caller might put it: it must not show up in any URL either.
	base := strings.Replace(h.srv.URL, "http://", "http://user:"+faultKey+"@", 1)
	c := h.client(t, WithAPIKey(faultKey), WithBaseURL(base), WithLogger(logger))
	ctx := context.Background()

	// Success, a retry, API errors.
	_, err := c.AgentRuns.Get(ctx, "ok")
	require.NoError(t, err)
	_, err = c.AgentRuns.Get(ctx, "flaky")
	require.NoError(t, err)
	_, err = c.AgentRuns.Get(ctx, "missing")
	require.ErrorIs(t, err, ErrNotFound)
	check("404 error", err)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	check("APIError.URL", apiErr.URL)
	check("APIError %+v", fmt.Sprintf("%+v %#v", apiErr, apiErr.Header))
	_, err = c.AgentRuns.Create(ctx, AgentRunCreateParams{ChatID: "c1"})
	require.Error(t, err)
	check("422 error", err)

	// Transport errors: a connection dropped before any answer (retried,
	// then given up), and a server that is gone.
	_, err = c.AgentRuns.Get(ctx, "hangup")
	require.Error(t, err)
	check("hang-up error", err)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := strings.Replace(dead.URL, "http://", "http://user:"+faultKey+"@", 1)
	dead.Close()
	cd := h.client(t, WithAPIKey(faultKey), WithBaseURL(deadURL), WithLogger(logger))
	_, err = cd.AgentRuns.Get(ctx, "r1")
	require.Error(t, err)
	check("refused error", err)

	// A context that ends during the retry sleep.
	cctx, cancel := context.WithCancel(ctx)
	cd.sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	_, err = cd.AgentRuns.Get(cctx, "r1")
	require.Error(t, err)
	check("cancelled retry error", err)

	// Misuse: a nil context, a nil service, a stream read after Close.
	for name, misuse := range map[string]func() error{
		"nil context Get": func() error {
			//lint:ignore SA1012 a nil context is the misuse under test
			_, err := c.AgentRuns.Get(nil, "r1")
			return err
		},
		"nil context Create": func() error {
			//lint:ignore SA1012 a nil context is the misuse under test
			_, err := c.AgentRuns.Create(nil, AgentRunCreateParams{ChatID: "c1"})
			return err
		},
		"nil context stream": func() error {
			//lint:ignore SA1012 a nil context is the misuse under test
			_, err := faultStream(nil, c, "agent")
			return err
		},
		"service without client": func() error {
			_, err := (&AgentRunsService{}).Get(ctx, "r1")
			return err
		},
	} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					check(name+" panic", r)
				}
			}()
			err := misuse()
			check(name+" error", err)
		}()
	}

	logMu.Lock()
	out := logs.String()
	logMu.Unlock()
	for _, want := range []string{`"status":200`, `"status":503`, `"status":404`, `"status":422`, "retrying", `"error":`} {
		assert.Contains(t, out, want, "the log saw every scenario, or this test proves nothing")
	}
	assert.NotContains(t, out, faultKey, "a log line leaks the key")
	assert.NotContains(t, out, strings.TrimPrefix(faultKey, "th-"), "a log line leaks part of the key")
	if t.Failed() {
		t.Logf("errors seen:\n%s\nlogs:\n%s", strings.Join(seen, "\n"), out)
	}
}

// faultJSONLogger logs everything, from Debug up, as JSON into w.
func faultJSONLogger(w io.Writer, mu *sync.Mutex) *slog.Logger {
	return slog.New(slog.NewJSONHandler(&faultLockedWriter{mu: mu, w: w},
		&slog.HandlerOptions{Level: slog.LevelDebug, AddSource: true}))
}

type faultLockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *faultLockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestFaultMangledErrorPage(t *testing.T) {
	t.Parallel()
	// A proxy's error page with stray bytes before its title once made the
	// error builder slice out of range: the caller's program crashed.
	page := strings.Repeat("\xff", 64) + "<html><head><title>502 Bad Gateway</title></head></html>"
	h := newLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, page)
	}), WithMaxRetries(0))
	c := h.c

	var err error
	require.NotPanics(t, func() { _, err = c.AgentRuns.Get(context.Background(), "r1") })
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusBadGateway, apiErr.StatusCode)
	assert.Contains(t, apiErr.Message, "502 Bad Gateway", "the page's title is the message")
	assert.Equal(t, []byte(page), apiErr.Body)
}

func TestFaultTextStreamStallAndReset(t *testing.T) {
	t.Parallel()
	// The text endpoints have no framing: all a caller has is Read's error.
	release := make(chan struct{})
	h := newLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(headerRunID, "run-1")
		fmt.Fprint(w, "Hello")
		_ = http.NewResponseController(w).Flush()
		switch r.URL.Path {
		case "/stall":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/reset":
			<-release
			conn, _, err := http.NewResponseController(w).Hijack()
			if assert.NoError(t, err) {
				_ = conn.(*net.TCPConn).SetLinger(0)
				conn.Close()
			}
		}
	}))
	releaseOnce := sync.OnceFunc(func() { close(release) })
	t.Cleanup(releaseOnce) // runs before the server closes, which waits for handlers
	c := h.c

	// readHello reads the first chunk, then the rest until an error.
	readHello := func(t *testing.T, ts *TextStream, afterHello func()) error {
		t.Helper()
		buf := make([]byte, len("Hello"))
		_, err := io.ReadFull(ts, buf)
		require.NoError(t, err)
		require.Equal(t, "Hello", string(buf))
		afterHello()
		return returnsWithin(t, "TextStream.Read", func() error { _, err := io.Copy(io.Discard, ts); return err })
	}

	t.Run("stall", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ts, err := c.Workers.Run(ctx, "stall", WorkerRunParams{})
		require.NoError(t, err)
		defer ts.Close()
		err = readHello(t, ts, cancel)
		assert.ErrorIs(t, err, context.Canceled)
	})
	t.Run("reset", func(t *testing.T) {
		ts, err := c.Workers.Run(context.Background(), "reset", WorkerRunParams{})
		require.NoError(t, err)
		defer ts.Close()
		err = readHello(t, ts, releaseOnce)
		require.Error(t, err, "a reset text stream does not end like a finished one")
		assert.True(t, errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF), "%v", err)
	})
}
