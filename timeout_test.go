package toolhouse

// Nothing waits forever: WithRequestTimeout bounds each attempt of a JSON
// call and the wait for a stream's headers, even when the caller's
// context never ends. The timeout's timer and the retry backoffs run on
// the fixture's fake clock: a timer runs out when the test says, or a
// millisecond after it is armed.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stalled answers nothing until the client goes away. (The server sees
// the client go only once the request body has been read.)
func stalled(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	<-r.Context().Done()
}

// stalledAfter sends a status and the start of a body, then stalls.
func stalledAfter(status int, start string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, start)
		_ = http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}
}

// timeRunsOut makes the client's request timeouts run out once the server
// has stalled: as soon as a request has reached it (no headers will come),
// or, with headersFirst, once the client holds the response's headers and
// waits for the rest of the body.
func timeRunsOut(h *harness, handler http.HandlerFunc, headersFirst bool) http.HandlerFunc {
	if headersFirst {
		return handler
	}
	return func(w http.ResponseWriter, r *http.Request) {
		h.clock.fireTimers()
		handler(w, r)
	}
}

// afterHeaders is a transport that calls f once a response's headers are
// in.
type afterHeaders struct {
	next http.RoundTripper
	f    func()
}

func (a afterHeaders) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := a.next.RoundTrip(req)
	if err == nil {
		a.f()
	}
	return resp, err
}

// assertTimedOut checks the error of an attempt cut by WithRequestTimeout.
func assertTimedOut(t *testing.T, err error, d time.Duration) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "a timeout matches context.DeadlineExceeded")
	var netErr net.Error
	if assert.ErrorAs(t, err, &netErr) {
		assert.True(t, netErr.Timeout(), "and is a network timeout")
	}
	assert.Contains(t, err.Error(), fmt.Sprintf("%s (WithRequestTimeout)", d), "the error names the bound and its option")
}

func TestRequestTimeoutEndsAStalledCall(t *testing.T) {
	t.Parallel()
	const d = 20 * time.Millisecond
	tests := []struct {
		name    string
		handler http.HandlerFunc
		call    func(c *Client) error
		tries   int // requests sent: idempotent calls retry a timeout, once calls do not
		// headersFirst: the response's headers come, then its body stalls.
		headersFirst bool
	}{
		{"List, no headers", stalled, func(c *Client) error {
			_, err := c.AgentRuns.List(context.Background())
			return err
		}, 1 + defaultMaxRetries, false},
		{"Get, body stalls", stalledAfter(http.StatusOK, `{"data":{"id":"r1",`), func(c *Client) error {
			_, err := c.AgentRuns.Get(context.Background(), "r1")
			return err
		}, 1 + defaultMaxRetries, true},
		{"Workers.Get, error body stalls", stalledAfter(http.StatusNotFound, `{"detail":`), func(c *Client) error {
			_, err := c.Workers.Get(context.Background(), "agent-1", "run-1")
			return err
		}, 1, true},
		{"Schedules.Delete", stalled, func(c *Client) error {
			return c.Schedules.Delete(context.Background(), "s1")
		}, 1 + defaultMaxRetries, false},
		{"Create, sent once", stalled, func(c *Client) error {
			_, err := c.AgentRuns.Create(context.Background(), AgentRunCreateParams{ChatID: "c1"})
			return err
		}, 1, false},
		{"Stream, no headers", stalled, func(c *Client) error {
			_, err := c.Workers.Stream(context.Background(), "agent-1", WorkerRunParams{Message: "hi"})
			return err
		}, 1, false},
		{"Continue, no headers", stalled, func(c *Client) error {
			_, err := c.Workers.Continue(context.Background(), "agent-1", "run-1", "hi")
			return err
		}, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var h *harness
			h = newLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				timeRunsOut(h, tt.handler, tt.headersFirst)(w, r)
			}), WithRequestTimeout(d))
			c := h.c
			if tt.headersFirst {
				h.next = afterHeaders{next: h.next, f: h.clock.fireTimers}
				c = h.client(t)
			}
			err := returnsWithin(t, "the call", func() error { return tt.call(c) })
			if tt.name == "Workers.Get, error body stalls" {
				// The status came in time; what the cut body held is kept.
				var apiErr *APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, http.StatusNotFound, apiErr.StatusCode)
				assert.Equal(t, `{"detail":`, string(apiErr.Body))
			} else {
				assertTimedOut(t, err, d)
			}
			assert.Len(t, h.requests(), tt.tries)
			assert.Len(t, h.sleeps(), tt.tries-1, "a backoff before each retry")
		})
	}
}

func TestRequestTimeoutNeverCutsAStreamBody(t *testing.T) {
	t.Parallel()
	const d = 30 * time.Millisecond
	more := make(chan struct{})
	h := newLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		faultNDJSONHeader(w)
		_, _ = io.WriteString(w, `{"type":"text-delta","textDelta":"first"}`+"\n")
		_ = http.NewResponseController(w).Flush()
		// The worker thinks for longer than the request timeout.
		select {
		case <-more:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, `{"type":"text-delta","textDelta":"second"}`+"\n")
	}), WithRequestTimeout(d))

	for _, open := range []func() (*EventStream, error){
		func() (*EventStream, error) {
			return h.c.Workers.Stream(context.Background(), "agent-1", WorkerRunParams{})
		},
		func() (*EventStream, error) {
			return h.c.Workers.Conversation("agent-1").Send(context.Background(), "hi")
		},
	} {
		s, err := open()
		require.NoError(t, err)
		require.True(t, faultNext(t, s))
		assert.Equal(t, "first", s.Current().Text)
		h.clock.fireTimers() // the timeout's time passes while the body streams
		more <- struct{}{}
		require.True(t, faultNext(t, s), "the body ran past the request timeout, uncut: %v", s.Err())
		assert.Equal(t, "second", s.Current().Text)
		assert.False(t, faultNext(t, s))
		assert.NoError(t, s.Err())
		require.NoError(t, s.Close())
	}
}

// TestRequestTimeoutCutsAStreamWaitingForHeaders is the other side: the
// same timeout, run out before the headers came, ends the call.
func TestRequestTimeoutCutsAStreamWaitingForHeaders(t *testing.T) {
	t.Parallel()
	const d = 30 * time.Millisecond
	arrived := make(chan struct{})
	h := newLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	}), WithRequestTimeout(d))
	go func() {
		<-arrived
		h.clock.fireTimers()
	}()
	err := returnsWithin(t, "the call", func() error {
		_, err := h.c.Workers.Stream(context.Background(), "agent-1", WorkerRunParams{})
		return err
	})
	assertTimedOut(t, err, d)
	assert.Contains(t, err.Error(), "no response headers within")
}

func TestRequestTimeoutOption(t *testing.T) {
	t.Parallel()
	c, err := NewClient(WithoutEnvironment())
	require.NoError(t, err)
	assert.Equal(t, 10*time.Minute, c.requestTimeout, "bounded by default")

	_, err = NewClient(WithoutEnvironment(), WithRequestTimeout(-time.Second))
	assert.ErrorContains(t, err, "WithRequestTimeout")

	// 0 turns the bound off: only the caller's context ends the call, here
	// a deadline that passes once the request is in.
	ctx := newExpiringContext()
	h := newLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx.expire()
		stalled(w, r)
	}), WithRequestTimeout(0))
	err = returnsWithin(t, "the call", func() error { _, err := h.c.AgentRuns.List(ctx); return err })
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotContains(t, err.Error(), "WithRequestTimeout", "the caller's deadline ended it")
	assert.Len(t, h.requests(), 1, "a call whose context ended is not retried")
}
