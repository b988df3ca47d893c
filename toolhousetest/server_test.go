package toolhousetest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/toolhouseai/toolhouse-go"
)

func TestPlatformAuth(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, WithAPIKey("th-right"))
	ctx := testContext(t)

	wrong, err := srv.Client(toolhouse.WithAPIKey("th-wrong"))
	require.NoError(t, err)
	_, err = wrong.AgentRuns.List(ctx)
	apiErr := apiError(t, err, http.StatusUnauthorized, "Invalid API key")
	assert.Equal(t, "Bearer", apiErr.Header.Get("WWW-Authenticate"))
	assert.NotContains(t, err.Error(), "th-wrong")
	_, err = wrong.Schedules.TextToCron(ctx, "hourly")
	apiError(t, err, http.StatusUnauthorized, "Invalid API key")

	right, err := srv.Client()
	require.NoError(t, err)
	_, err = right.AgentRuns.List(ctx)
	require.NoError(t, err)

	resp := call(t, srv, http.MethodGet, srv.BaseURL()+"/v1/schedules", "", nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.JSONEq(t, `{"detail":"Not authenticated"}`, string(readBody(t, resp)))

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.BaseURL()+"/v1/schedules", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Basic th-right")
	resp, err = srv.HTTPClient().Do(req)
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "only a Bearer token counts")
	readBody(t, resp)

	// Routing answers before the key is looked at, as FastAPI does.
	resp = call(t, srv, http.MethodGet, srv.BaseURL()+"/v1/nothing", "", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.JSONEq(t, `{"detail":"Not Found"}`, string(readBody(t, resp)))
	resp = call(t, srv, http.MethodDelete, srv.BaseURL()+"/v1/agent-runs", "", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, "GET, POST", resp.Header.Get("Allow"))
	assert.JSONEq(t, `{"detail":"Method Not Allowed"}`, string(readBody(t, resp)))
}

func TestClientOptionsOverride(t *testing.T) {
	t.Parallel()
	srv, _ := start(t)
	client, err := srv.Client(toolhouse.WithUserAgent("mytests/1.0"))
	require.NoError(t, err)
	_, err = client.AgentRuns.List(testContext(t))
	require.NoError(t, err)
	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	assert.Contains(t, reqs[0].Header.Get("User-Agent"), "mytests/1.0")
}

func TestStartReportsBrokenScripts(t *testing.T) {
	t.Parallel()
	srv, err := Start(
		WithChat(Chat{ID: "chat-1"}),
		WithAgent(Agent{ID: "a/b"}),
		WithAgent(Agent{ID: ""}),
		WithAgent(Agent{ID: "x", Turns: []Turn{{StartJob(), StartJobFor(time.Second)}}}),
		WithAgent(Agent{ID: "y", Turns: []Turn{{Step{}}}}),
		WithAgent(Agent{ID: "z", Turns: []Turn{{CallTool("t", func() {}, nil)}}}),
		WithJobTime(-time.Second),
		WithListenAddr("elsewhere", "127.0.0.1:0"),
	)
	require.Error(t, err)
	assert.Nil(t, srv)
	assert.Equal(t, strings.Join([]string{
		`toolhousetest: WithJobTime(-1s): a job cannot run for a negative time`,
		`toolhousetest: WithListenAddr: unknown API "elsewhere" (want "platform" or "workers")`,
		`toolhousetest: chat ID "chat-1" is not a UUID; the platform accepts only UUIDs`,
		`toolhousetest: agent ID "" must be one non-empty path segment`,
		`toolhousetest: agent ID "a/b" must be one non-empty path segment`,
		`toolhousetest: agent x turn 0 starts 2 jobs; a turn starts at most one`,
		`toolhousetest: agent y turn 0 has a zero Step; build steps with Say, CallTool, StartJob, Fail or OutOfExecs`,
		`toolhousetest: agent z turn 0: CallTool "t" args: json: unsupported type: func()`,
	}, "\n"), err.Error())

	// NewServer has no error to return: it panics with the same one.
	assert.PanicsWithError(t, `toolhousetest: chat ID "chat-1" is not a UUID; the platform accepts only UUIDs`,
		func() { NewServer(WithChat(Chat{ID: "chat-1"})) })
}

// fatalRecorder is a testing.TB whose Fatal ends the goroutine, as the
// real one does, and keeps the message.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

func TestNewFailsTheTestAndClosesWithIt(t *testing.T) {
	t.Parallel()
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		New(rec, WithChat(Chat{ID: "chat-1"}))
		rec.msg = "New returned"
	}()
	<-done
	assert.Equal(t, `toolhousetest: chat ID "chat-1" is not a UUID; the platform accepts only UUIDs`, rec.msg)

	var url string
	t.Run("server", func(t *testing.T) {
		srv := New(t)
		url = srv.AgentsURL()
		resp := call(t, srv, http.MethodPost, url+"/"+DemoAgentID, "", nil)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	})
	_, err := http.Post(url+"/"+DemoAgentID, "application/json", nil)
	require.Error(t, err, "the server is closed when the test that made it ends")
}

func TestListenAddr(t *testing.T) {
	t.Parallel()
	srv := New(t, WithListenAddr(PlatformAPI, "127.0.0.1:0"), WithListenAddr(WorkersAPI, ":0"))
	assert.Regexp(t, `^http://127\.0\.0\.1:[1-9][0-9]*$`, srv.BaseURL())
	assert.Regexp(t, `^http://127\.0\.0\.1:[1-9][0-9]*$`, srv.AgentsURL(), "all interfaces are reached on loopback")
	resp := call(t, srv, http.MethodPost, srv.AgentsURL()+"/"+DemoAgentID, "", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	// A port in use is an error to return, not a panic.
	taken := strings.TrimPrefix(srv.BaseURL(), "http://")
	_, err := Start(WithListenAddr(WorkersAPI, taken))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "toolhousetest: listening on "+taken)
}

// TestCloseCutsAbandonedStreams opens streams that the client never reads
// nor closes, then closes the server: Close must return at once rather
// than wait for the client.
func TestCloseCutsAbandonedStreams(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts []Option
		path string
	}{
		// The handler waits between pieces for a client that never
		// reads: Close ends the wait.
		{"paced stream", []Option{WithStreamDelay(time.Hour)}, "/ndjson/" + DemoAgentID},
		// The handler is stuck writing a body larger than the socket
		// buffers: only cutting the connection frees it.
		{"blocked write", []Option{WithAgent(Agent{ID: "big", Turns: []Turn{{Say(strings.Repeat("x", 16<<20))}}})}, "/big"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, err := Start(tc.opts...)
			require.NoError(t, err)
			t.Cleanup(srv.Close)
			// A client of its own, whose connections Close cannot close
			// for being idle.
			tr := &http.Transport{}
			t.Cleanup(tr.CloseIdleConnections)
			req, err := http.NewRequestWithContext(testContext(t), http.MethodPost, srv.AgentsURL()+tc.path, nil)
			require.NoError(t, err)
			resp, err := tr.RoundTrip(req)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			defer resp.Body.Close()

			closed := make(chan struct{})
			go func() {
				srv.Close()
				close(closed)
			}()
			select {
			case <-closed:
			case <-time.After(5 * time.Second):
				t.Fatal("Close is still blocked after 5s by a stream the client left open")
			}
			_, err = io.Copy(io.Discard, resp.Body)
			require.Error(t, err, "the stream was cut, not finished")
		})
	}
}

func TestRequestBodiesAreBounded(t *testing.T) {
	t.Parallel()
	srv, _ := start(t)
	// {"message":"xxx…"} of exactly 1 MiB is fine; one byte more is not.
	fill := func(n int) json.RawMessage {
		return json.RawMessage(`{"message":"` + strings.Repeat("x", n-len(`{"message":""}`)) + `"}`)
	}

	resp := call(t, srv, http.MethodPost, srv.AgentsURL()+"/"+DemoAgentID, "", fill(1<<20))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	readBody(t, resp)

	resp = call(t, srv, http.MethodPost, srv.AgentsURL()+"/"+DemoAgentID, "", fill(1<<20+1))
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assert.JSONEq(t, `{"error":"Request body too large: the limit is 1048576 bytes"}`, string(readBody(t, resp)))

	resp = call(t, srv, http.MethodPost, srv.BaseURL()+"/v1/agent-runs", srv.APIKey(), fill(1<<20+1))
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assert.JSONEq(t, `{"detail":"Request body too large: the limit is 1048576 bytes"}`, string(readBody(t, resp)))

	reqs := srv.Requests()
	require.Len(t, reqs, 3)
	assert.Len(t, reqs[0].Body, 1<<20)
	assert.Nil(t, reqs[1].Body, "a body over the limit is not kept")
	assert.Equal(t, "/v1/agent-runs", reqs[2].Path)
}

func TestMaxRequests(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, WithMaxRequests(3))
	for i := range 10 {
		resp := call(t, srv, http.MethodGet, fmt.Sprintf("%s/v1/nothing?i=%d", srv.BaseURL(), i), "", nil)
		readBody(t, resp)
		var got []string
		for _, r := range srv.Requests() {
			got = append(got, r.Query.Get("i"))
		}
		var want []string
		for j := max(0, i-2); j <= i; j++ {
			want = append(want, fmt.Sprint(j))
		}
		require.Equal(t, want, got, "the 3 most recent requests, oldest first")
		srv.mu.Lock()
		held := len(srv.requests)
		srv.mu.Unlock()
		require.LessOrEqual(t, held, 6, "the server holds at most twice the bound")
	}

	none, _ := start(t, WithMaxRequests(0))
	readBody(t, call(t, none, http.MethodGet, none.BaseURL()+"/v1/nothing", "", nil))
	assert.Empty(t, none.Requests())

	_, err := Start(WithMaxRequests(-1))
	assert.EqualError(t, err, "toolhousetest: WithMaxRequests(-1): a server cannot keep a negative number of requests")
}

func TestWorkersCORS(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, WithClock(newClock().Now))
	const origin = "https://app.example.com"
	send := func(method, path, origin string, body io.Reader, header map[string]string) *http.Response {
		req, err := http.NewRequestWithContext(testContext(t), method, srv.AgentsURL()+path, body)
		require.NoError(t, err)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req) // a plain client, as a browser would be
		require.NoError(t, err)
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}

	// The preflight a browser sends before a JSON POST with a key.
	resp := send(http.MethodOptions, "/"+DemoAgentID, origin, nil, map[string]string{
		"Access-Control-Request-Method":  "POST",
		"Access-Control-Request-Headers": "content-type, authorization",
	})
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	h := resp.Header
	assert.Equal(t, origin, h.Get("Access-Control-Allow-Origin"))
	for _, m := range []string{"GET", "POST", "PUT"} {
		assert.Contains(t, h.Get("Access-Control-Allow-Methods"), m)
	}
	assert.Equal(t, "Authorization, Content-Type", h.Get("Access-Control-Allow-Headers"))
	assert.Empty(t, readBody(t, resp))

	// The request itself: the page may read the run and job headers.
	resp = send(http.MethodPost, "/"+DemoAgentID, origin, strings.NewReader(`{"message":""}`),
		map[string]string{"Content-Type": "application/json"})
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, origin, resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "X-Toolhouse-Run-ID, X-Toolhouse-Job-ID", resp.Header.Get("Access-Control-Expose-Headers"))
	assert.NotEmpty(t, resp.Header.Get("X-Toolhouse-Job-ID"))
	runID := resp.Header.Get("X-Toolhouse-Run-ID")
	readBody(t, resp)

	// Errors too, or the page cannot even see the status: the 409 of a
	// PUT while the job runs, and a 404.
	resp = send(http.MethodPut, "/"+DemoAgentID+"/"+runID, origin, strings.NewReader(`{"message":"hi"}`), nil)
	assert.Equal(t, http.StatusConflict, resp.StatusCode)
	assert.Equal(t, origin, resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "X-Toolhouse-Run-ID, X-Toolhouse-Job-ID", resp.Header.Get("Access-Control-Expose-Headers"))
	resp = send(http.MethodGet, "/nobody/"+runID, origin, nil, nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, origin, resp.Header.Get("Access-Control-Allow-Origin"))

	// Headers the page asks for beyond those are allowed too.
	resp = send(http.MethodOptions, "/"+DemoAgentID, origin, nil, map[string]string{
		"Access-Control-Request-Method":  "PUT",
		"Access-Control-Request-Headers": "x-request-id,Content-Type",
	})
	assert.Equal(t, "Authorization, Content-Type, x-request-id", resp.Header.Get("Access-Control-Allow-Headers"))

	// A preflight without an Origin still answers; a request without one
	// gets no CORS headers.
	resp = send(http.MethodOptions, "/ndjson/"+DemoAgentID+"/"+runID, "", nil, nil)
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"))
	resp = send(http.MethodGet, "/"+DemoAgentID+"/"+runID, "", nil, nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Empty(t, resp.Header.Get("Access-Control-Expose-Headers"))

	// Preflights are requests the server received.
	assert.Equal(t, http.MethodOptions, srv.Requests()[0].Method)
}

// TestParallelUse runs many servers at once, each used by many goroutines;
// with -race it shows the locking is right and servers share nothing.
func TestParallelUse(t *testing.T) {
	t.Parallel()
	for i := range 4 {
		t.Run(fmt.Sprint("server", i), func(t *testing.T) {
			t.Parallel()
			srv, client := start(t, WithRunReads(0, 1))
			ctx := testContext(t)
			var wg sync.WaitGroup
			errs := make(chan error, 64)
			for range 8 {
				wg.Add(2)
				go func() {
					defer wg.Done()
					run, err := client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{ChatID: DemoChatID})
					if err == nil {
						_, err = client.AgentRuns.Wait(ctx, run.ID, nil)
					}
					if err == nil {
						var sc *toolhouse.Schedule
						if sc, err = client.Schedules.Create(ctx, toolhouse.ScheduleCreateParams{ChatID: DemoChatID, Cadence: "daily"}); err == nil {
							_, err = client.Schedules.Pause(ctx, sc.ID)
						}
					}
					errs <- err
				}()
				go func() {
					defer wg.Done()
					req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.AgentsURL()+"/ndjson/"+DemoAgentID, nil)
					if err != nil {
						errs <- err
						return
					}
					resp, err := srv.HTTPClient().Do(req)
					if err != nil {
						errs <- err
						return
					}
					runID := resp.Header.Get("X-Toolhouse-Run-ID")
					_ = resp.Body.Close()
					for range 3 {
						r, err := srv.HTTPClient().Get(srv.AgentsURL() + "/" + DemoAgentID + "/" + runID)
						if err != nil {
							errs <- err
							return
						}
						_ = r.Body.Close()
					}
					errs <- nil
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			runs, err := client.AgentRuns.List(ctx)
			require.NoError(t, err)
			assert.Len(t, runs, 8)
			for _, r := range runs {
				assert.Equal(t, toolhouse.RunCompleted, r.Status)
			}
			scheds, err := client.Schedules.List(ctx)
			require.NoError(t, err)
			assert.Len(t, scheds, 8)
		})
	}
}
