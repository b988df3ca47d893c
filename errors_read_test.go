package toolhouse

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Errors that say what happened, in the SDK's words.

func TestDotSegmentIDsAreNamedAsSuch(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]string{
		".":    `toolhouse: invalid argument id: "." is a dot segment, which a URL path resolves away instead of sending it`,
		"..":   `toolhouse: invalid argument id: ".." is a dot segment, which a URL path resolves away instead of sending it`,
		"a..b": `toolhouse: invalid argument id: must not contain ".."`,
	} {
		h := newHarness(t)
		_, err := h.c.AgentRuns.Get(context.Background(), id)
		var argErr *ArgumentError
		require.ErrorAs(t, err, &argErr, "id %q", id)
		assert.Equal(t, "id", argErr.Arg)
		assert.Equal(t, want, err.Error())
		assert.Empty(t, h.requests(), "nothing is sent for id %q", id)
	}
}

// A MaxWait that runs out before the first answer says that no status was
// read, rather than call the run "still unknown".
func TestWaitMaxWaitBeforeAnyStatus(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("GET", "/v1/agent-runs/r", func(req *http.Request) (*http.Response, error) {
		<-req.Context().Done() // a server slower than MaxWait
		return nil, req.Context().Err()
	})
	run, err := h.c.AgentRuns.Wait(context.Background(), "r", &PollOptions{MaxWait: time.Nanosecond})
	assert.Nil(t, run)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, "toolhouse: agent run r: PollOptions.MaxWait (1ns) ran out before any status of the run was read: "+
		"context deadline exceeded", err.Error())
}

func TestWaitMaxWaitAfterAStatus(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("GET", "/v1/agent-runs/r", reply(200, fixture(t, "agent_run_in_progress.json")))
	run, err := h.c.AgentRuns.Wait(context.Background(), "r", &PollOptions{Interval: time.Second, MaxWait: 3 * time.Second})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NotNil(t, run)
	assert.Equal(t, "toolhouse: agent run r still in_progress after 3s (PollOptions.MaxWait): context deadline exceeded", err.Error())
}

// textServer answers a worker run with "Hello, " and then holds the answer
// open until the client goes away or the test ends.
func textServer(t *testing.T) *harness {
	testOver := make(chan struct{})
	h := newLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "Hello, ")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-testOver:
		}
	}))
	t.Cleanup(func() { close(testOver) }) // before the server's own cleanup
	return h
}

func TestTextStreamReadAfterClose(t *testing.T) {
	t.Parallel()
	h := textServer(t)
	text, err := h.c.Workers.Run(context.Background(), "agent-1", WorkerRunParams{})
	require.NoError(t, err)
	buf := make([]byte, 64)
	n, err := text.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "Hello, ", string(buf[:n]))
	require.NoError(t, text.Close())

	n, err = text.Read(buf)
	assert.Zero(t, n)
	require.ErrorIs(t, err, os.ErrClosed)
	assert.Equal(t, "toolhouse: read from a TextStream after its Close", err.Error())
}

func TestTextStreamCloseDuringRead(t *testing.T) {
	t.Parallel()
	h := textServer(t)
	text, err := h.c.Workers.Run(context.Background(), "agent-1", WorkerRunParams{})
	require.NoError(t, err)
	buf := make([]byte, 64)
	_, err = io.ReadAtLeast(text, buf, len("Hello, "))
	require.NoError(t, err)

	read := inBackground(t, "the Read before Close", func() error {
		_, err := text.Read(buf) // blocks: the server sends nothing more
		return err
	})
	time.Sleep(time.Millisecond) // let the Read block; the result is the same if it has not yet
	require.NoError(t, text.Close())
	err = read()
	require.ErrorIs(t, err, os.ErrClosed)
	assert.Equal(t, "toolhouse: read from a TextStream after its Close", err.Error())
}

func TestDecodeErrorOfA2xxShowsTheURL(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("GET", "/v1/schedules/text-to-cron", reply(200, "<html><body>Maintenance</body></html>"))
	_, err := h.c.Schedules.TextToCron(context.Background(), "sundays at 5pm")
	require.Error(t, err)
	assert.Equal(t, "toolhouse: GET "+testBase+"/v1/schedules/text-to-cron?cron=sundays+at+5pm: "+
		"decoding the 200 response: response is not JSON: Maintenance", err.Error())
}

// A 400 whose message says "not found" is a not-found only where the
// server is known to answer that way: Schedules.Delete.
func TestErrNotFoundMatchesA400OnlyForScheduleDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		method   string
		url      string
		status   int
		body     string
		call     func(c *Client) error
		notFound bool
	}{
		{"schedule delete, 400 not found", "DELETE", testBase + "/v1/schedules/s", 400, `{"detail":"Schedule not found"}`,
			func(c *Client) error { return c.Schedules.Delete(ctx, "s") }, true},
		{"schedule delete, other 400", "DELETE", testBase + "/v1/schedules/s", 400, `{"detail":"Invalid schedule id"}`,
			func(c *Client) error { return c.Schedules.Delete(ctx, "s") }, false},
		{"schedule get, 400 not found", "GET", testBase + "/v1/schedules/s", 400, `{"detail":"Schedule not found"}`,
			func(c *Client) error { _, err := c.Schedules.Get(ctx, "s"); return err }, false},
		{"agent run get, 400 not found", "GET", testBase + "/v1/agent-runs/r", 400, `{"detail":"Agent run not found"}`,
			func(c *Client) error { _, err := c.AgentRuns.Get(ctx, "r"); return err }, false},
		{"worker get, 400 not found", "GET", testAgents + "/agent-1/run-1", 400, `{"error":"Run not found"}`,
			func(c *Client) error { _, err := c.Workers.Get(ctx, "agent-1", "run-1"); return err }, false},
		{"agent run get, 404", "GET", testBase + "/v1/agent-runs/r", 404, `{"detail":"Agent run not found"}`,
			func(c *Client) error { _, err := c.AgentRuns.Get(ctx, "r"); return err }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.on(tc.method, tc.url, reply(tc.status, tc.body))
			err := tc.call(h.c)
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tc.status, apiErr.StatusCode)
			assert.Equal(t, tc.notFound, errors.Is(err, ErrNotFound))
		})
	}
}
