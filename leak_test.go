package toolhouse

// Connections and goroutines: every body the SDK reads is drained and
// closed, so a kept-alive connection carries call after call, and a stream
// cut short by its caller gives back its connection and goroutines.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// connCounter counts a test server's connections as the server sees them.
type connCounter struct {
	mu       sync.Mutex
	accepted int
	open     int
	maxOpen  int
}

func (c *connCounter) track(_ net.Conn, state http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch state {
	case http.StateNew:
		c.accepted++
		c.open++
		c.maxOpen = max(c.maxOpen, c.open)
	case http.StateClosed, http.StateHijacked:
		c.open--
	}
}

func (c *connCounter) counts() (accepted, open, maxOpen int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.accepted, c.open, c.maxOpen
}

// waitClosed waits until the server has seen every connection close. The
// server learns of a close asynchronously, hence the short polls.
func (c *connCounter) waitClosed(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		_, open, _ := c.counts()
		if open == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open on the server", open)
		}
		time.Sleep(time.Millisecond)
	}
}

// countedServer starts a loopback server whose connections are counted.
func countedServer(t *testing.T, h http.Handler) (*httptest.Server, *connCounter) {
	t.Helper()
	counter := &connCounter{}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = counter.track
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, counter
}

func TestConnectionReusedAcrossSuccessesAndErrors(t *testing.T) {
	// Not parallel: it counts connections, and a loaded machine widens the
	// race below.
	bigPage := "<html><head><title>500 Internal Server Error</title></head><body>" +
		strings.Repeat("<p>stack frame</p>\n", 5000) + "</body></html>" // 95 KB: more than one read, more than the 64 KiB drain
	srv, counter := countedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v1/agent-runs/ok":
			fmt.Fprint(w, `{"data":{"id":"ok","status":"completed"}}`)
		case r.URL.Path == "/v1/agent-runs/missing":
			faultStatus(w, http.StatusNotFound)
		case r.URL.Path == "/v1/agent-runs" && r.Method == http.MethodPost:
			w.WriteHeader(http.StatusUnprocessableEntity)
			fmt.Fprint(w, `{"detail":[{"loc":["body","chat_id"],"msg":"field required","type":"missing"}]}`)
		case r.URL.Path == "/v1/agent-runs/broken":
			faultStatus(w, http.StatusInternalServerError)
		case r.URL.Path == "/v1/agent-runs/proxy":
			// No Content-Length: a chunked page much larger than one read.
			w.WriteHeader(http.StatusInternalServerError)
			_ = http.NewResponseController(w).Flush()
			fmt.Fprint(w, bigPage)
		case r.URL.Path == "/v1/schedules/gone" && r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"detail":"Schedule not found"}`)
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	h := loopbackTo(t, srv, WithMaxRetries(0))
	c := h.c
	ctx := context.Background()

	calls := []struct {
		name string
		do   func() error
		want int // status; 200 means success
	}{
		{"200", func() error { _, err := c.AgentRuns.Get(ctx, "ok"); return err }, 200},
		{"404", func() error { _, err := c.AgentRuns.Get(ctx, "missing"); return err }, 404},
		{"422", func() error { _, err := c.AgentRuns.Create(ctx, AgentRunCreateParams{ChatID: "c1"}); return err }, 422},
		{"500", func() error { _, err := c.AgentRuns.Get(ctx, "broken"); return err }, 500},
		{"500 page", func() error { _, err := c.AgentRuns.Get(ctx, "proxy"); return err }, 500},
		{"400 delete", func() error { return c.Schedules.Delete(ctx, "gone") }, 400},
	}
	const n = 1000
	for i := 0; i < n; i++ {
		call := calls[i%len(calls)]
		err := call.do()
		if call.want == http.StatusOK {
			require.NoError(t, err, "call %d (%s)", i, call.name)
			continue
		}
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr, "call %d (%s)", i, call.name)
		require.Equal(t, call.want, apiErr.StatusCode, "call %d (%s)", i, call.name)
	}

	// A body read to its end hands its connection back from the
	// transport's read loop, which can lose the race against the next
	// call's dial on a busy machine: a spare connection or two is that
	// race, not a leak, which would cost one per error (hundreds).
	accepted, _, maxOpen := counter.counts()
	assert.LessOrEqual(t, accepted, 3, "%d sequential calls, successes and errors, share their connection", n)
	assert.LessOrEqual(t, maxOpen, 2)
	assert.Empty(t, h.sleeps(), "retries are disabled")
}

func TestStreamCyclesLeakNothing(t *testing.T) {
	// 10,000 cycles take 5-9 s under -race on 2 cores: the race run keeps
	// the shape with fewer cycles, and .ci/run runs the whole volume
	// without the race detector.
	n := 10000
	if testing.Short() || raceEnabled {
		n = 500
	}
	baseline := goleak.IgnoreCurrent()

	srv, counter := countedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		faultNDJSONHeader(w)
		fmt.Fprint(w, `{"type":"text-delta","textDelta":"a"}`+"\n"+`{"type":"text-delta","textDelta":"b"}`+"\n")
		if r.URL.Path != "/ndjson/stall" {
			fmt.Fprint(w, `{"type":"finish"}`+"\n")
			return
		}
		// Hold the stream open until the client goes away.
		_ = http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}))
	h := loopbackTo(t, srv)
	c := h.c

	for i := 0; i < n; i++ {
		if i%2 == 0 {
			s, err := faultStream(context.Background(), c, "agent")
			require.NoError(t, err)
			events := 0
			for ev, err := range s.All() {
				require.NoError(t, err, "cycle %d", i)
				_ = ev
				events++
			}
			require.Equal(t, 3, events, "cycle %d", i)
			continue
		}
		// Cancelled mid-read: two events in, the third never comes.
		ctx, cancel := context.WithCancel(context.Background())
		s, err := faultStream(ctx, c, "stall")
		require.NoError(t, err)
		require.True(t, s.Next())
		require.True(t, s.Next())
		cancel()
		require.False(t, s.Next(), "cycle %d", i)
		require.ErrorIs(t, s.Err(), context.Canceled, "cycle %d", i)
		require.NoError(t, s.Close())
	}

	accepted, _, maxOpen := counter.counts()
	t.Logf("%d stream cycles: %d connections accepted, at most %d open at once", n, accepted, maxOpen)
	// A stream read to its end hands its connection back; a cancelled one
	// closes its own. So each cancellation costs one connection, nothing
	// else does, and they never pile up.
	assert.LessOrEqual(t, accepted, n/2+2, "streams read to the end reuse their connection")
	assert.LessOrEqual(t, maxOpen, 64, "cancelled streams release their connections as they go")

	h.next.(*http.Transport).CloseIdleConnections()
	counter.waitClosed(t)
	srv.Close()
	goleak.VerifyNone(t, baseline)
}
