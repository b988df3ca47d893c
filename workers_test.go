package toolhouse

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// The tests below talk to fake Workers APIs on loopback. Waits (retries,
// job polls) run on an instant clock that records them, so no test sleeps.

// workerClock is the client's clock in these tests: a sleep returns at
// once, moves the fake time forward and is recorded.
type workerClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (k *workerClock) sleep(ctx context.Context, d time.Duration) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.sleeps = append(k.sleeps, d)
	k.now = k.now.Add(d)
	return ctx.Err()
}

func (k *workerClock) Now() time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.now
}

func (k *workerClock) slept() []time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]time.Duration(nil), k.sleeps...)
}

// newWorkerClient returns a client of the Workers API at srv on an instant
// clock. It has no API key unless opts give one, as for a public agent.
func newWorkerClient(t *testing.T, srv *httptest.Server, opts ...Option) (*Client, *workerClock) {
	t.Helper()
	clock := &workerClock{now: time.Date(2025, 1, 15, 1, 46, 23, 0, time.UTC)}
	base := []Option{WithoutEnvironment(), WithAgentsURL(srv.URL), WithHTTPClient(srv.Client())}
	c, err := NewClient(append(base, opts...)...)
	require.NoError(t, err)
	c.sleep, c.now = clock.sleep, clock.Now
	return c, clock
}

// checkWorkerLeaks fails the test if it leaves a goroutine behind. Call it
// first: the check then runs after the servers' own cleanups.
func checkWorkerLeaks(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// workerReply is one scripted answer of the fake Workers API.
type workerReply struct {
	call   string            // the request expected: "METHOD /path"
	status int               // 200 when zero
	header map[string]string // sent with the keys exactly as written
	body   string
	before func() // runs before the answer is sent, to hold it back
}

// workerRequest is one request the fake Workers API received.
type workerRequest struct {
	call   string // "METHOD /path"
	body   string
	header http.Header
}

// workerAPI is a fake Workers API that answers its script in order and
// records every request.
type workerAPI struct {
	*httptest.Server
	t      *testing.T
	mu     sync.Mutex
	script []workerReply
	got    []workerRequest
}

func newWorkerAPI(t *testing.T, script ...workerReply) *workerAPI {
	a := &workerAPI{t: t, script: script}
	a.Server = httptest.NewServer(a)
	t.Cleanup(func() {
		a.Close()
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, r := range a.script {
			t.Errorf("fake Workers API: scripted %s was never requested", r.call)
		}
	})
	return a
}

func (a *workerAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	call := r.Method + " " + r.URL.Path
	a.mu.Lock()
	a.got = append(a.got, workerRequest{call: call, body: string(body), header: r.Header.Clone()})
	var reply workerReply
	scripted := len(a.script) > 0
	if scripted {
		reply, a.script = a.script[0], a.script[1:]
	}
	a.mu.Unlock()
	if !scripted || reply.call != call {
		a.t.Errorf("fake Workers API: got %s, the script expected %q", call, reply.call)
		http.Error(w, "unexpected request", http.StatusTeapot)
		return
	}
	if reply.before != nil {
		reply.before()
	}
	for k, v := range reply.header {
		w.Header()[k] = []string{v}
	}
	if reply.status == 0 {
		reply.status = http.StatusOK
	}
	w.WriteHeader(reply.status)
	_, _ = io.WriteString(w, reply.body)
}

// requests returns what the fake API received, in order.
func (a *workerAPI) requests() []workerRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]workerRequest(nil), a.got...)
}

// calls renders the requests received as "METHOD /path body".
func (a *workerAPI) calls() []string {
	var out []string
	for _, r := range a.requests() {
		out = append(out, strings.TrimSpace(r.call+" "+r.body))
	}
	return out
}

// trace reads a stream to its end and renders each event as "type text"
// or "type job".
func trace(t *testing.T, s *EventStream) []string {
	t.Helper()
	var out []string
	for ev, err := range s.All() {
		require.NoError(t, err)
		out = append(out, strings.TrimSpace(ev.Type+" "+ev.Text+ev.JobID+ev.ToolName))
	}
	return out
}

// pacedAnswer answers at once with header and no body, then writes each
// piece sent on pieces (flushed), until pieces is closed. An unbuffered
// pieces channel lets the test read one piece before the next is written.
func pacedAnswer(header map[string]string, pieces <-chan string, got chan<- *http.Request) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		got <- r
		for k, v := range header {
			w.Header()[k] = []string{v}
		}
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		for {
			select {
			case p, ok := <-pieces:
				if !ok {
					return
				}
				_, _ = io.WriteString(w, p)
				w.(http.Flusher).Flush()
			case <-r.Context().Done():
				return
			}
		}
	}
}

func TestWorkersRunStreamsTextAsItArrives(t *testing.T) {
	checkWorkerLeaks(t)
	pieces, got := make(chan string), make(chan *http.Request, 1)
	// Lower-case header names, as the Workers API sends them: they are read
	// case-insensitively.
	srv := httptest.NewServer(pacedAnswer(map[string]string{"x-toolhouse-run-id": "run-1"}, pieces, got))
	t.Cleanup(srv.Close)
	client, _ := newWorkerClient(t, srv)

	text, err := client.Workers.Run(context.Background(), "agent-1", WorkerRunParams{Message: "Find discounts on wide-angle displays"})
	require.NoError(t, err)
	defer text.Close()

	// The run ID is known before the worker has written a byte.
	assert.Equal(t, "run-1", text.RunID())
	assert.Empty(t, text.JobID())

	req := <-got
	body, _ := io.ReadAll(req.Body)
	assert.Equal(t, "POST /agent-1", req.Method+" "+req.URL.Path)
	assert.JSONEq(t, `{"message":"Find discounts on wide-angle displays"}`, string(body))
	assert.Equal(t, "application/json", req.Header.Get("Content-Type"))
	assert.True(t, strings.HasPrefix(req.Header.Get("User-Agent"), "toolhouse-go/"), req.Header.Get("User-Agent"))
	assert.NotContains(t, req.Header, "Authorization", "a public agent gets no Authorization header")

	// Each piece is readable, with room to spare in the buffer, before the
	// server writes the next one.
	for _, piece := range []string{"Here are ", "three deals", " on displays."} {
		pieces <- piece
		assert.Equal(t, piece, readArrived(t, text, len(piece)))
	}
	close(pieces)
	rest, err := io.ReadAll(text)
	require.NoError(t, err)
	assert.Empty(t, rest)
}

func TestWorkersStreamDeliversEventsAsTheyArrive(t *testing.T) {
	checkWorkerLeaks(t)
	pieces, got := make(chan string), make(chan *http.Request, 1)
	srv := httptest.NewServer(pacedAnswer(map[string]string{
		"X-Toolhouse-Run-ID": "run-1",
		"x-toolhouse-job-id": "job-1",
	}, pieces, got))
	t.Cleanup(srv.Close)
	client, _ := newWorkerClient(t, srv, WithAPIKey("th-test-key"))

	stream, err := client.Workers.Stream(context.Background(), "agent-1", WorkerRunParams{Message: "Plot a histogram of data.csv"})
	require.NoError(t, err)
	defer stream.Close()

	// Both IDs are known before the first event.
	assert.Equal(t, "run-1", stream.RunID())
	assert.Equal(t, "job-1", stream.JobID())

	req := <-got
	assert.Equal(t, "POST /ndjson/agent-1", req.Method+" "+req.URL.Path)
	assert.Equal(t, "Bearer th-test-key", req.Header.Get("Authorization"), "a private agent gets the key")

	lines := []struct{ line, want string }{
		{`{"type":"text-delta","textDelta":"Plotting"}` + "\n", "text-delta Plotting"},
		{`{"type":"tool-call","toolCallId":"call-1","toolName":"code_interpreter","args":{"code":"hist()"}}` + "\n", "tool-call code_interpreter"},
		{`{"type":"finish","finishReason":"stop"}` + "\n", "finish"},
	}
	for _, l := range lines {
		pieces <- l.line
		require.True(t, stream.Next(), "event for %s", l.line)
		ev := stream.Current()
		assert.Equal(t, l.want, strings.TrimSpace(ev.Type+" "+ev.Text+ev.ToolName))
	}
	close(pieces)
	assert.False(t, stream.Next())
	assert.NoError(t, stream.Err())
}

func TestWorkersRequests(t *testing.T) {
	answer := map[string]string{"x-toolhouse-run-id": "run-1"}
	tests := []struct {
		name     string
		call     func(context.Context, *WorkersService) (io.Closer, error)
		wantCall string
		wantBody string // exact bytes; "" means no body at all
	}{
		{
			name: "Run with no parameters sends no body: the agent's default message",
			call: func(ctx context.Context, w *WorkersService) (io.Closer, error) {
				return w.Run(ctx, "agent-1", WorkerRunParams{})
			},
			wantCall: "POST /agent-1",
		},
		{
			name: "Run sends only the fields that are set",
			call: func(ctx context.Context, w *WorkersService) (io.Closer, error) {
				return w.Run(ctx, "agent-1", WorkerRunParams{Vars: map[string]string{"city": "Rome"}})
			},
			wantCall: "POST /agent-1",
			wantBody: `{"vars":{"city":"Rome"}}`,
		},
		{
			name: "Stream sends every field",
			call: func(ctx context.Context, w *WorkersService) (io.Closer, error) {
				return w.Stream(ctx, "agent-1", WorkerRunParams{Message: "Hi", Vars: map[string]string{"city": "Rome"}, ToolhouseID: "user-42"})
			},
			wantCall: "POST /ndjson/agent-1",
			wantBody: `{"message":"Hi","vars":{"city":"Rome"},"toolhouse_id":"user-42"}`,
		},
		{
			name: "Continue puts the message on the run",
			call: func(ctx context.Context, w *WorkersService) (io.Closer, error) {
				return w.Continue(ctx, "agent-1", "run-1", "thank you, now find products similar to an iPhone")
			},
			wantCall: "PUT /agent-1/run-1",
			wantBody: `{"message":"thank you, now find products similar to an iPhone"}`,
		},
		{
			name: "ContinueStream with an empty message resumes the run",
			call: func(ctx context.Context, w *WorkersService) (io.Closer, error) {
				return w.ContinueStream(ctx, "agent-1", "run-1", "")
			},
			wantCall: "PUT /ndjson/agent-1/run-1",
			wantBody: `{"message":""}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newWorkerAPI(t, workerReply{call: tt.wantCall, header: answer, body: "ok"})
			client, _ := newWorkerClient(t, api.Server)

			stream, err := tt.call(context.Background(), client.Workers)
			require.NoError(t, err)
			require.NoError(t, stream.Close())

			reqs := api.requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, tt.wantCall, reqs[0].call)
			assert.Equal(t, tt.wantBody, reqs[0].body)
			if tt.wantBody == "" {
				assert.Empty(t, reqs[0].header.Get("Content-Type"))
			} else {
				assert.Equal(t, "application/json", reqs[0].header.Get("Content-Type"))
			}
		})
	}
}

func TestWorkersStreamingCallsAreNotRetriedAfterServerError(t *testing.T) {
	// A POST or PUT may have reached the worker before it failed: sending it
	// again could run the agent twice.
	calls := map[string]func(context.Context, *WorkersService) error{
		"POST /agent-1": func(ctx context.Context, w *WorkersService) error {
			_, err := w.Run(ctx, "agent-1", WorkerRunParams{Message: "hi"})
			return err
		},
		"POST /ndjson/agent-1": func(ctx context.Context, w *WorkersService) error {
			_, err := w.Stream(ctx, "agent-1", WorkerRunParams{})
			return err
		},
		"PUT /agent-1/run-1": func(ctx context.Context, w *WorkersService) error {
			_, err := w.Continue(ctx, "agent-1", "run-1", "hi")
			return err
		},
		"PUT /ndjson/agent-1/run-1": func(ctx context.Context, w *WorkersService) error {
			_, err := w.ContinueStream(ctx, "agent-1", "run-1", "")
			return err
		},
	}
	for call, send := range calls {
		t.Run(call, func(t *testing.T) {
			api := newWorkerAPI(t, workerReply{call: call, status: http.StatusInternalServerError, body: `{"error":"worker crashed"}`})
			client, clock := newWorkerClient(t, api.Server)

			err := send(context.Background(), client.Workers)

			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, http.StatusInternalServerError, apiErr.StatusCode)
			assert.Equal(t, "worker crashed", apiErr.Message)
			assert.Len(t, api.requests(), 1, "exactly one request")
			assert.Empty(t, clock.slept())
		})
	}
}

func TestWorkersGetDecodesHistoryAndJob(t *testing.T) {
	history, err := os.ReadFile("testdata/workers/history.json")
	require.NoError(t, err)
	api := newWorkerAPI(t, workerReply{call: "GET /agent-1/run-1", header: map[string]string{"x-toolhouse-job-id": "job-7"}, body: string(history)})
	client, _ := newWorkerClient(t, api.Server)

	run, err := client.Workers.Get(context.Background(), "agent-1", "run-1")
	require.NoError(t, err)

	assert.Equal(t, "run-1", run.RunID)
	assert.Equal(t, "job-7", run.JobID, "a background job is running")
	require.Len(t, run.Messages, 4)

	user := run.Messages[0] // content is a bare string
	assert.Equal(t, "user", user.Role)
	assert.True(t, strings.HasPrefix(user.Text(), "Generate a random pet fact"))

	call := run.Messages[1] // content is a list of parts
	assert.Equal(t, "assistant", call.Role)
	require.Len(t, call.Content, 2)
	assert.Equal(t, "text", call.Content[0].Type)
	assert.Equal(t, "tool-call", call.Content[1].Type)
	assert.Equal(t, "web_search", call.Content[1].ToolName)
	assert.Equal(t, "toolu_01SGidsQaEsE5jTj2cM8Stxx", call.Content[1].ToolCallID)
	assert.JSONEq(t, `{"query":"interesting unique pet facts animals","num_results":3}`, string(call.Content[1].Args))

	result := run.Messages[2].Content[0]
	assert.Equal(t, "tool", run.Messages[2].Role)
	assert.Equal(t, "tool-result", result.Type)
	var text string
	require.NoError(t, json.Unmarshal(result.Result, &text))
	assert.True(t, strings.HasPrefix(text, "Position: 1\nTitle: Fun Facts"))

	assert.Contains(t, run.Messages[3].Text(), "The email has been sent to your inbox!")

	reqs := api.requests()
	require.Len(t, reqs, 1)
	assert.Empty(t, reqs[0].body)
}

func TestWorkersGetRetriesServerErrors(t *testing.T) {
	// Reading the history changes nothing, so a 503 is worth another try.
	api := newWorkerAPI(t,
		workerReply{call: "GET /agent-1/run-1", status: http.StatusServiceUnavailable, header: map[string]string{"retry-after": "2"}},
		workerReply{call: "GET /agent-1/run-1", body: `[]`},
	)
	client, clock := newWorkerClient(t, api.Server)

	run, err := client.Workers.Get(context.Background(), "agent-1", "run-1")
	require.NoError(t, err)
	assert.Empty(t, run.JobID)
	assert.Empty(t, run.Messages)
	assert.Equal(t, []time.Duration{2 * time.Second}, clock.slept(), "the server's Retry-After")
}

func TestWorkersWaitForJobHonoursRetryAfter(t *testing.T) {
	running := map[string]string{"x-toolhouse-job-id": "job-1", "Retry-After": "7"}
	api := newWorkerAPI(t,
		workerReply{call: "GET /agent-1/run-1", header: running, body: `[]`},
		workerReply{call: "GET /agent-1/run-1", header: map[string]string{"x-toolhouse-job-id": "job-1"}, body: `[]`},
		workerReply{call: "GET /agent-1/run-1", body: `[{"role":"assistant","content":"Histogram saved."}]`},
	)
	client, clock := newWorkerClient(t, api.Server)

	run, err := client.Workers.WaitForJob(context.Background(), "agent-1", "run-1",
		&PollOptions{Interval: time.Second, MaxInterval: 4 * time.Second})
	require.NoError(t, err)

	assert.Empty(t, run.JobID, "the job is over")
	require.Len(t, run.Messages, 1)
	assert.Equal(t, "Histogram saved.", run.Messages[0].Text())
	slept := clock.slept()
	require.Len(t, slept, 2)
	assert.Equal(t, 7*time.Second, slept[0], "the server asked for 7 s, more than the 1 s interval")
	assert.InDelta(t, 2*time.Second, slept[1], float64(time.Second/2), "then the doubled interval, less jitter")
}

func TestWorkersWaitForJobStopsAtMaxWait(t *testing.T) {
	// The job never ends; how many looks fit in MaxWait depends on the jitter.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["x-toolhouse-job-id"] = []string{"job-1"}
		_, _ = io.WriteString(w, `[]`)
	}))
	t.Cleanup(srv.Close)
	client, clock := newWorkerClient(t, srv)

	run, err := client.Workers.WaitForJob(context.Background(), "agent-1", "run-1",
		&PollOptions{Interval: time.Second, MaxInterval: 2 * time.Second, MaxWait: 5 * time.Second})

	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.EqualError(t, err, "toolhouse: timed out after 5s (PollOptions.MaxWait) waiting for background job job-1 "+
		"of worker agent-1 run run-1: context deadline exceeded")
	assert.Equal(t, "job-1", run.JobID, "the last look is returned")
	var total time.Duration
	for _, d := range clock.slept() {
		total += d
	}
	assert.Equal(t, 5*time.Second, total, "the last wait is trimmed to end at MaxWait")
}

func TestWorkersWaitForJobStopsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	running := map[string]string{"x-toolhouse-job-id": "job-1"}
	api := newWorkerAPI(t,
		workerReply{call: "GET /agent-1/run-1", header: running, body: `[]`, before: cancel},
	)
	client, _ := newWorkerClient(t, api.Server)

	_, err := client.Workers.WaitForJob(ctx, "agent-1", "run-1", nil)

	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "worker agent-1 run run-1")
}

func TestConversationFollowsBackgroundJobs(t *testing.T) {
	checkWorkerLeaks(t)
	// The cycle of the Workers API documents: an answer that starts a job,
	// polls until the job header is gone, the resume PUT, a second job, the
	// final answer; then a follow-up message on the same run.
	running := func(job string) map[string]string { return map[string]string{"x-toolhouse-job-id": job} }
	api := newWorkerAPI(t,
		workerReply{call: "POST /ndjson/agent-1", header: map[string]string{"x-toolhouse-run-id": "run-1", "x-toolhouse-job-id": "job-1"},
			body: `{"type":"text-delta","textDelta":"Loading sales.csv"}` + "\n" +
				`{"type":"tool-call","toolCallId":"c1","toolName":"code_interpreter","args":{"code":"load()"}}` + "\n"},
		workerReply{call: "GET /agent-1/run-1", header: running("job-1"), body: `[]`},
		workerReply{call: "GET /agent-1/run-1", body: `[]`},
		workerReply{call: "PUT /ndjson/agent-1/run-1", header: map[string]string{"x-toolhouse-run-id": "run-1", "x-toolhouse-job-id": "job-2"},
			body: `{"type":"text-delta","textDelta":"Plotting"}` + "\n"},
		workerReply{call: "GET /agent-1/run-1", header: running("job-2"), body: `[]`},
		workerReply{call: "GET /agent-1/run-1", body: `[]`},
		workerReply{call: "PUT /ndjson/agent-1/run-1", header: map[string]string{"x-toolhouse-run-id": "run-1"},
			body: `{"type":"text-delta","textDelta":"Sales peak in May."}` + "\n" + `{"type":"finish","finishReason":"stop"}`},
		workerReply{call: "PUT /ndjson/agent-1/run-1", header: map[string]string{"x-toolhouse-run-id": "run-1"},
			body: `{"type":"text-delta","textDelta":"By month: ..."}` + "\n"},
	)
	client, clock := newWorkerClient(t, api.Server, WithPollOptions(PollOptions{Interval: time.Second, MaxInterval: time.Second}))
	ctx := context.Background()

	conv := client.Workers.Conversation("agent-1")
	assert.Empty(t, conv.RunID(), "no run before the first Send")

	stream, err := conv.Send(ctx, "Analyze sales.csv")
	require.NoError(t, err)
	assert.Equal(t, "run-1", conv.RunID())
	assert.Equal(t, []string{
		"text-delta Loading sales.csv",
		"tool-call code_interpreter",
		EventJobStarted + " job-1",
		EventJobFinished + " job-1",
		"text-delta Plotting",
		EventJobStarted + " job-2",
		EventJobFinished + " job-2",
		"text-delta Sales peak in May.",
		"finish",
	}, trace(t, stream))

	stream, err = conv.Send(ctx, "Now plot it by month")
	require.NoError(t, err)
	assert.Equal(t, []string{"text-delta By month: ..."}, trace(t, stream))

	assert.Equal(t, []string{
		`POST /ndjson/agent-1 {"message":"Analyze sales.csv"}`,
		`GET /agent-1/run-1`,
		`GET /agent-1/run-1`,
		`PUT /ndjson/agent-1/run-1 {"message":""}`,
		`GET /agent-1/run-1`,
		`GET /agent-1/run-1`,
		`PUT /ndjson/agent-1/run-1 {"message":""}`,
		`PUT /ndjson/agent-1/run-1 {"message":"Now plot it by month"}`,
	}, api.calls())
	assert.Len(t, clock.slept(), 2, "one poll interval per job")
}

func TestConversationResumedElsewhereWaitsForTheRunningJob(t *testing.T) {
	checkWorkerLeaks(t)
	// Another process started run-1, whose job still runs. This one picks
	// the run up with its IDs alone: the PUT meets 409, the conversation
	// waits for the job and sends the message again.
	api := newWorkerAPI(t,
		workerReply{call: "PUT /ndjson/agent-1/run-1", status: http.StatusConflict, body: `{"detail":"A background job is running"}`},
		workerReply{call: "GET /agent-1/run-1", header: map[string]string{"x-toolhouse-job-id": "job-1"}, body: `[]`},
		workerReply{call: "GET /agent-1/run-1", body: `[]`},
		workerReply{call: "PUT /ndjson/agent-1/run-1", header: map[string]string{"x-toolhouse-run-id": "run-1"},
			body: `{"type":"text-delta","textDelta":"The histogram is ready."}` + "\n"},
	)
	client, _ := newWorkerClient(t, api.Server)

	conv := client.Workers.ResumeConversation("agent-1", "run-1")
	stream, err := conv.Send(context.Background(), "")
	require.NoError(t, err)

	assert.Equal(t, []string{"text-delta The histogram is ready."}, trace(t, stream))
	assert.Equal(t, []string{
		`PUT /ndjson/agent-1/run-1 {"message":""}`,
		`GET /agent-1/run-1`,
		`GET /agent-1/run-1`,
		`PUT /ndjson/agent-1/run-1 {"message":""}`,
	}, api.calls())
}

func TestConversationGivesUpOnAConflictThatIsNotAJob(t *testing.T) {
	// A 409 while no job shows on the run will not go away by waiting: after
	// a few tries the conflict is the answer.
	conflict := workerReply{call: "PUT /ndjson/agent-1/run-1", status: http.StatusConflict}
	idle := workerReply{call: "GET /agent-1/run-1", body: `[]`}
	var script []workerReply
	for range maxConflicts {
		script = append(script, conflict, idle)
	}
	api := newWorkerAPI(t, append(script, conflict)...)
	client, _ := newWorkerClient(t, api.Server)

	_, err := client.Workers.ResumeConversation("agent-1", "run-1").Send(context.Background(), "hello?")

	require.ErrorIs(t, err, ErrJobInProgress)
	assert.Len(t, api.requests(), 2*maxConflicts+1)
}

func TestConversationTakesOneSendAtATime(t *testing.T) {
	checkWorkerLeaks(t)
	arrived, release := make(chan struct{}), make(chan struct{})
	api := newWorkerAPI(t,
		workerReply{call: "POST /ndjson/agent-1", header: map[string]string{"x-toolhouse-run-id": "run-1"},
			body:   `{"type":"text-delta","textDelta":"First answer"}` + "\n",
			before: func() { close(arrived); <-release }},
		workerReply{call: "PUT /ndjson/agent-1/run-1", body: `{"type":"text-delta","textDelta":"Second answer"}` + "\n"},
	)
	client, _ := newWorkerClient(t, api.Server)
	ctx := context.Background()
	conv := client.Workers.Conversation("agent-1")

	type sent struct {
		stream *EventStream
		err    error
	}
	first := make(chan sent)
	go func() {
		s, err := conv.Send(ctx, "first")
		first <- sent{s, err}
	}()
	<-arrived // the first Send waits for its answer

	_, err := conv.Send(ctx, "second")
	require.ErrorIs(t, err, ErrConversationBusy, "refused at once, not blocked")

	close(release)
	got := <-first
	require.NoError(t, got.err)
	_, err = conv.Send(ctx, "second")
	require.ErrorIs(t, err, ErrConversationBusy, "the first answer is still open")

	assert.Equal(t, []string{"text-delta First answer"}, trace(t, got.stream))
	stream, err := conv.Send(ctx, "second")
	require.NoError(t, err)
	assert.Equal(t, []string{"text-delta Second answer"}, trace(t, stream))

	assert.Equal(t, []string{
		`POST /ndjson/agent-1 {"message":"first"}`,
		`PUT /ndjson/agent-1/run-1 {"message":"second"}`,
	}, api.calls(), "the refused Sends sent nothing")
}

func TestConversationStreamLeftAtAJobDoesNotHoldTheRun(t *testing.T) {
	checkWorkerLeaks(t)
	// A caller may stop reading at EventJobStarted (to show "working…" and
	// come back later). The next Send takes the run over and waits for the
	// job itself; the abandoned stream stops following the run.
	api := newWorkerAPI(t,
		workerReply{call: "POST /ndjson/agent-1", header: map[string]string{"x-toolhouse-run-id": "run-1", "x-toolhouse-job-id": "job-1"},
			body: `{"type":"tool-call","toolCallId":"c1","toolName":"code_interpreter","args":{}}` + "\n"},
		workerReply{call: "PUT /ndjson/agent-1/run-1", status: http.StatusConflict},
		workerReply{call: "GET /agent-1/run-1", body: `[]`},
		workerReply{call: "PUT /ndjson/agent-1/run-1", body: `{"type":"text-delta","textDelta":"Done."}` + "\n"},
	)
	client, _ := newWorkerClient(t, api.Server)
	ctx := context.Background()
	conv := client.Workers.Conversation("agent-1")

	first, err := conv.Send(ctx, "Run the analysis")
	require.NoError(t, err)
	require.True(t, first.Next())
	require.True(t, first.Next())
	require.Equal(t, EventJobStarted, first.Current().Type)

	second, err := conv.Send(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, []string{"text-delta Done."}, trace(t, second))

	assert.False(t, first.Next())
	assert.ErrorContains(t, first.Err(), "took the run over")
	require.NoError(t, first.Close())
	assert.Len(t, api.requests(), 4, "the abandoned stream sent nothing")
}

func TestConversationCancelledDuringJobWait(t *testing.T) {
	checkWorkerLeaks(t)
	api := newWorkerAPI(t,
		workerReply{call: "POST /ndjson/agent-1", header: map[string]string{"x-toolhouse-run-id": "run-1", "x-toolhouse-job-id": "job-1"}},
		workerReply{call: "PUT /ndjson/agent-1/run-1", body: `{"type":"text-delta","textDelta":"Resumed."}` + "\n"},
	)
	client, _ := newWorkerClient(t, api.Server)
	conv := client.Workers.Conversation("agent-1")
	ctx, cancel := context.WithCancel(context.Background())

	stream, err := conv.Send(ctx, "Run the analysis")
	require.NoError(t, err)
	require.True(t, stream.Next())
	require.Equal(t, EventJobStarted, stream.Current().Type)
	cancel()

	assert.False(t, stream.Next(), "the job wait ends with the context")
	assert.ErrorIs(t, stream.Err(), context.Canceled)
	require.NoError(t, stream.Close())

	// The conversation is free again for a caller with a live context.
	stream, err = conv.Send(context.Background(), "")
	require.NoError(t, err)
	assert.Equal(t, []string{"text-delta Resumed."}, trace(t, stream))
}

func TestWorkersCancelEndsABlockedRead(t *testing.T) {
	checkWorkerLeaks(t)
	pieces, got := make(chan string), make(chan *http.Request, 1)
	srv := httptest.NewServer(pacedAnswer(map[string]string{"x-toolhouse-run-id": "run-1"}, pieces, got))
	t.Cleanup(srv.Close)
	client, _ := newWorkerClient(t, srv)

	t.Run("TextStream.Read", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		text, err := client.Workers.Run(ctx, "agent-1", WorkerRunParams{})
		require.NoError(t, err)
		defer text.Close()
		<-got
		pieces <- "partial"
		buf := make([]byte, len("partial"))
		_, err = io.ReadFull(text, buf)
		require.NoError(t, err)

		err = endsWithin(t, cancel, func() error { _, err := text.Read(buf); return err })
		assert.ErrorIs(t, err, context.Canceled)
	})
	t.Run("EventStream.Next", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		stream, err := client.Workers.Stream(ctx, "agent-1", WorkerRunParams{})
		require.NoError(t, err)
		defer stream.Close()
		<-got
		pieces <- `{"type":"text-delta","textDelta":"partial"}` + "\n"
		require.True(t, stream.Next())

		err = endsWithin(t, cancel, func() error { stream.Next(); return stream.Err() })
		assert.ErrorIs(t, err, context.Canceled)
	})
}

// readArrived reads n bytes that the server has already sent, through
// Reads with a larger buffer: a reader that waits to fill its buffer fails.
func readArrived(t *testing.T, r io.Reader, n int) string {
	t.Helper()
	done := make(chan string, 1)
	go func() {
		var got []byte
		buf := make([]byte, 4096)
		for len(got) < n {
			k, err := r.Read(buf)
			got = append(got, buf[:k]...)
			if err != nil {
				break
			}
		}
		done <- string(got)
	}()
	select {
	case got := <-done:
		return got
	case <-time.After(5 * time.Second):
		t.Fatalf("Read did not return the %d bytes that arrived", n)
		return ""
	}
}

// endsWithin runs blocked in a goroutine, cancels, and returns its error;
// it fails the test if the cancellation does not end it promptly.
func endsWithin(t *testing.T, cancel func(), blocked func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- blocked() }()
	cancel()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("the blocked call did not end after the context was cancelled")
		return nil
	}
}

func TestWorkersStreamsCloseTwiceAndAfterError(t *testing.T) {
	checkWorkerLeaks(t)
	api := newWorkerAPI(t,
		workerReply{call: "POST /agent-1", body: "all of it"},
		workerReply{call: "POST /ndjson/agent-1", body: "not json\n"},
	)
	client, _ := newWorkerClient(t, api.Server)
	ctx := context.Background()

	text, err := client.Workers.Run(ctx, "agent-1", WorkerRunParams{})
	require.NoError(t, err)
	assert.NoError(t, text.Close())
	assert.NoError(t, text.Close())
	_, err = text.Read(make([]byte, 8))
	assert.Error(t, err, "a closed stream reads nothing")

	stream, err := client.Workers.Stream(ctx, "agent-1", WorkerRunParams{})
	require.NoError(t, err)
	assert.False(t, stream.Next())
	assert.ErrorContains(t, stream.Err(), "line 1")
	assert.NoError(t, stream.Close())
	assert.NoError(t, stream.Close())
}

func TestWorkersRejectInvalidIDsBeforeSending(t *testing.T) {
	api := newWorkerAPI(t) // any request fails the test
	client, _ := newWorkerClient(t, api.Server)
	w := client.Workers
	ctx := context.Background()
	tests := []struct {
		name, arg string
		call      func() error
	}{
		{"Run with an empty agent", "agentID", func() error { _, err := w.Run(ctx, "", WorkerRunParams{}); return err }},
		{"Stream with a slash", "agentID", func() error { _, err := w.Stream(ctx, "agent/1", WorkerRunParams{}); return err }},
		{"Continue with an empty run", "runID", func() error { _, err := w.Continue(ctx, "agent-1", "", "hi"); return err }},
		{"ContinueStream with ..", "runID", func() error { _, err := w.ContinueStream(ctx, "agent-1", "..", "hi"); return err }},
		{"Get with a path", "runID", func() error { _, err := w.Get(ctx, "agent-1", "../run-1"); return err }},
		{"WaitForJob with an empty agent", "agentID", func() error { _, err := w.WaitForJob(ctx, " ", "run-1", nil); return err }},
		{"Conversation with a slash", "agentID", func() error { _, err := w.Conversation("a/b").Send(ctx, "hi"); return err }},
		{"ResumeConversation with ..", "runID", func() error { _, err := w.ResumeConversation("agent-1", "run..1").Send(ctx, "hi"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var argErr *ArgumentError
			require.ErrorAs(t, tt.call(), &argErr)
			assert.Equal(t, tt.arg, argErr.Arg)
		})
	}
	assert.Empty(t, api.requests())

	// A refused Send leaves the conversation usable.
	conv := w.ResumeConversation("agent-1", "run/1")
	_, err := conv.Send(ctx, "hi")
	var argErr *ArgumentError
	require.ErrorAs(t, err, &argErr)
	_, err = conv.Send(ctx, "hi")
	assert.NotErrorIs(t, err, ErrConversationBusy)
	assert.True(t, errors.As(err, &argErr))
}
