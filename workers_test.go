package toolhouse

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests below talk to fake Workers APIs on loopback. Waits (retries,
// job polls) run on the fixture's fake clock, so no test sleeps.

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
func pacedAnswer(header map[string]string, pieces <-chan string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
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
	checkLeaks(t)
	pieces := make(chan string)
	// Lower-case header names, as the Workers API sends them: they are read
	// case-insensitively.
	h := newLoopback(t, pacedAnswer(map[string]string{"x-toolhouse-run-id": "run-1"}, pieces), WithAPIKey(""))
	client := h.c

	text, err := client.Workers.Run(context.Background(), "agent-1", WorkerRunParams{Message: "Find discounts on wide-angle displays"})
	require.NoError(t, err)
	defer text.Close()

	// The run ID is known before the worker has written a byte.
	assert.Equal(t, "run-1", text.RunID())
	assert.Empty(t, text.JobID())

	reqs := h.requests()
	require.Len(t, reqs, 1)
	req := reqs[0]
	assert.Equal(t, "POST /agent-1", req.Method+" "+req.Path)
	assert.JSONEq(t, `{"message":"Find discounts on wide-angle displays"}`, string(req.Body))
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
	checkLeaks(t)
	pieces := make(chan string)
	h := newLoopback(t, pacedAnswer(map[string]string{
		"X-Toolhouse-Run-ID": "run-1",
		"x-toolhouse-job-id": "job-1",
	}, pieces), WithAPIKey("th-test-key"))
	client := h.c

	stream, err := client.Workers.Stream(context.Background(), "agent-1", WorkerRunParams{Message: "Plot a histogram of data.csv"})
	require.NoError(t, err)
	defer stream.Close()

	// Both IDs are known before the first event.
	assert.Equal(t, "run-1", stream.RunID())
	assert.Equal(t, "job-1", stream.JobID())

	reqs := h.requests()
	require.Len(t, reqs, 1)
	req := reqs[0]
	assert.Equal(t, "POST /ndjson/agent-1", req.Method+" "+req.Path)
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
	t.Parallel()
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
			t.Parallel()
			api := newLoopback(t, newScript(t, step{call: tt.wantCall, header: answer, body: "ok"}))
			client := api.c

			stream, err := tt.call(context.Background(), client.Workers)
			require.NoError(t, err)
			require.NoError(t, stream.Close())

			reqs := api.requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, tt.wantCall, reqs[0].Method+" "+reqs[0].Path)
			assert.Equal(t, tt.wantBody, string(reqs[0].Body))
			if tt.wantBody == "" {
				assert.Empty(t, reqs[0].Header.Get("Content-Type"))
			} else {
				assert.Equal(t, "application/json", reqs[0].Header.Get("Content-Type"))
			}
		})
	}
}

func TestWorkersStreamingCallsAreNotRetriedAfterServerError(t *testing.T) {
	t.Parallel()
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
			t.Parallel()
			api := newLoopback(t, newScript(t, step{call: call, status: http.StatusInternalServerError, body: `{"error":"worker crashed"}`}))
			client, clock := api.c, api.clock

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
	t.Parallel()
	api := newLoopback(t, newScript(t, step{call: "GET /agent-1/run-1", header: map[string]string{"x-toolhouse-job-id": "job-7"},
		body: workerStream(t, "history.json")}))
	client := api.c

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
	assert.Empty(t, string(reqs[0].Body))
}

func TestWorkersGetRetriesServerErrors(t *testing.T) {
	t.Parallel()
	// Reading the history changes nothing, so a 503 is worth another try.
	api := newLoopback(t, newScript(t,
		step{call: "GET /agent-1/run-1", status: http.StatusServiceUnavailable, header: map[string]string{"retry-after": "2"}},
		step{call: "GET /agent-1/run-1", body: `[]`},
	))
	client, clock := api.c, api.clock

	run, err := client.Workers.Get(context.Background(), "agent-1", "run-1")
	require.NoError(t, err)
	assert.Empty(t, run.JobID)
	assert.Empty(t, run.Messages)
	assert.Equal(t, []time.Duration{2 * time.Second}, clock.slept(), "the server's Retry-After")
}

func TestWorkersWaitForJobHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	running := map[string]string{"x-toolhouse-job-id": "job-1", "Retry-After": "7"}
	api := newLoopback(t, newScript(t,
		step{call: "GET /agent-1/run-1", header: running, body: `[]`},
		step{call: "GET /agent-1/run-1", header: map[string]string{"x-toolhouse-job-id": "job-1"}, body: `[]`},
		step{call: "GET /agent-1/run-1", body: `[{"role":"assistant","content":"Histogram saved."}]`},
	))
	client, clock := api.c, api.clock

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
	t.Parallel()
	// The job never ends; how many looks fit in MaxWait depends on the jitter.
	h := newLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["x-toolhouse-job-id"] = []string{"job-1"}
		_, _ = io.WriteString(w, `[]`)
	}), WithAPIKey(""))
	client, clock := h.c, h.clock

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
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	running := map[string]string{"x-toolhouse-job-id": "job-1"}
	api := newLoopback(t, newScript(t,
		step{call: "GET /agent-1/run-1", header: running, body: `[]`, before: cancel},
	))
	client := api.c

	_, err := client.Workers.WaitForJob(ctx, "agent-1", "run-1", nil)

	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "worker agent-1 run run-1")
}

func TestConversationFollowsBackgroundJobs(t *testing.T) {
	checkLeaks(t)
	// The cycle of the Workers API documents: an answer that starts a job,
	// polls until the job header is gone, the resume PUT, a second job, the
	// final answer; then a follow-up message on the same run.
	running := func(job string) map[string]string { return map[string]string{"x-toolhouse-job-id": job} }
	api := newLoopback(t, newScript(t,
		step{call: "POST /ndjson/agent-1", header: map[string]string{"x-toolhouse-run-id": "run-1", "x-toolhouse-job-id": "job-1"},
			body: `{"type":"text-delta","textDelta":"Loading sales.csv"}` + "\n" +
				`{"type":"tool-call","toolCallId":"c1","toolName":"code_interpreter","args":{"code":"load()"}}` + "\n"},
		step{call: "GET /agent-1/run-1", header: running("job-1"), body: `[]`},
		step{call: "GET /agent-1/run-1", body: `[]`},
		step{call: "PUT /ndjson/agent-1/run-1", header: map[string]string{"x-toolhouse-run-id": "run-1", "x-toolhouse-job-id": "job-2"},
			body: `{"type":"text-delta","textDelta":"Plotting"}` + "\n"},
		step{call: "GET /agent-1/run-1", header: running("job-2"), body: `[]`},
		step{call: "GET /agent-1/run-1", body: `[]`},
		step{call: "PUT /ndjson/agent-1/run-1", header: map[string]string{"x-toolhouse-run-id": "run-1"},
			body: `{"type":"text-delta","textDelta":"Sales peak in May."}` + "\n" + `{"type":"finish","finishReason":"stop"}`},
		step{call: "PUT /ndjson/agent-1/run-1", header: map[string]string{"x-toolhouse-run-id": "run-1"},
			body: `{"type":"text-delta","textDelta":"By month: ..."}` + "\n"},
	))
	client, clock := api.client(t, WithPollOptions(PollOptions{Interval: time.Second, MaxInterval: time.Second})), api.clock
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
	checkLeaks(t)
	// Another process started run-1, whose job still runs. This one picks
	// the run up with its IDs alone: the PUT meets 409, the conversation
	// waits for the job and sends the message again.
	api := newLoopback(t, newScript(t,
		step{call: "PUT /ndjson/agent-1/run-1", status: http.StatusConflict, body: `{"detail":"A background job is running"}`},
		step{call: "GET /agent-1/run-1", header: map[string]string{"x-toolhouse-job-id": "job-1"}, body: `[]`},
		step{call: "GET /agent-1/run-1", body: `[]`},
		step{call: "PUT /ndjson/agent-1/run-1", header: map[string]string{"x-toolhouse-run-id": "run-1"},
			body: `{"type":"text-delta","textDelta":"The histogram is ready."}` + "\n"},
	))
	client := api.c

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
	t.Parallel()
	// A 409 while no job shows on the run will not go away by waiting: after
	// a few tries the conflict is the answer.
	conflict := step{call: "PUT /ndjson/agent-1/run-1", status: http.StatusConflict}
	idle := step{call: "GET /agent-1/run-1", body: `[]`}
	var script []step
	for range maxConflicts {
		script = append(script, conflict, idle)
	}
	api := newLoopback(t, newScript(t, append(script, conflict)...))
	client := api.c

	_, err := client.Workers.ResumeConversation("agent-1", "run-1").Send(context.Background(), "hello?")

	require.ErrorIs(t, err, ErrJobInProgress)
	assert.Len(t, api.requests(), 2*maxConflicts+1)
}

func TestConversationTakesOneSendAtATime(t *testing.T) {
	checkLeaks(t)
	arrived, release := make(chan struct{}), make(chan struct{})
	api := newLoopback(t, newScript(t,
		step{call: "POST /ndjson/agent-1", header: map[string]string{"x-toolhouse-run-id": "run-1"},
			body:   `{"type":"text-delta","textDelta":"First answer"}` + "\n",
			before: func() { close(arrived); <-release }},
		step{call: "PUT /ndjson/agent-1/run-1", body: `{"type":"text-delta","textDelta":"Second answer"}` + "\n"},
	))
	client := api.c
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
	checkLeaks(t)
	// A caller may stop reading at EventJobStarted (to show "working…" and
	// come back later). The next Send takes the run over and waits for the
	// job itself; the abandoned stream stops following the run.
	api := newLoopback(t, newScript(t,
		step{call: "POST /ndjson/agent-1", header: map[string]string{"x-toolhouse-run-id": "run-1", "x-toolhouse-job-id": "job-1"},
			body: `{"type":"tool-call","toolCallId":"c1","toolName":"code_interpreter","args":{}}` + "\n"},
		step{call: "PUT /ndjson/agent-1/run-1", status: http.StatusConflict},
		step{call: "GET /agent-1/run-1", body: `[]`},
		step{call: "PUT /ndjson/agent-1/run-1", body: `{"type":"text-delta","textDelta":"Done."}` + "\n"},
	))
	client := api.c
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
	checkLeaks(t)
	api := newLoopback(t, newScript(t,
		step{call: "POST /ndjson/agent-1", header: map[string]string{"x-toolhouse-run-id": "run-1", "x-toolhouse-job-id": "job-1"}},
		step{call: "PUT /ndjson/agent-1/run-1", body: `{"type":"text-delta","textDelta":"Resumed."}` + "\n"},
	))
	client := api.c
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
	checkLeaks(t)
	// Each case has its own server: a handler of the case before may still
	// be running, and would take the next case's pieces.
	answer := func(t *testing.T) (*Client, chan<- string) {
		pieces := make(chan string)
		return newLoopback(t, pacedAnswer(map[string]string{"x-toolhouse-run-id": "run-1"}, pieces), WithAPIKey("")).c, pieces
	}

	t.Run("TextStream.Read", func(t *testing.T) {
		client, pieces := answer(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		text, err := client.Workers.Run(ctx, "agent-1", WorkerRunParams{})
		require.NoError(t, err)
		defer text.Close()
		pieces <- "partial"
		buf := make([]byte, len("partial"))
		_, err = io.ReadFull(text, buf)
		require.NoError(t, err)

		err = endsWithin(t, cancel, func() error { _, err := text.Read(buf); return err })
		assert.ErrorIs(t, err, context.Canceled)
	})
	t.Run("EventStream.Next", func(t *testing.T) {
		client, pieces := answer(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		stream, err := client.Workers.Stream(ctx, "agent-1", WorkerRunParams{})
		require.NoError(t, err)
		defer stream.Close()
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
	return returnsWithin(t, fmt.Sprintf("the Read of the %d bytes that arrived", n), func() string {
		var got []byte
		buf := make([]byte, 4096)
		for len(got) < n {
			k, err := r.Read(buf)
			got = append(got, buf[:k]...)
			if err != nil {
				break
			}
		}
		return string(got)
	})
}

// endsWithin runs blocked in a goroutine, cancels, and returns its error;
// it fails the test if the cancellation does not end it promptly.
func endsWithin(t *testing.T, cancel func(), blocked func() error) error {
	t.Helper()
	wait := inBackground(t, "the call blocked before the cancel", blocked)
	cancel()
	return wait()
}

func TestWorkersStreamsCloseTwiceAndAfterError(t *testing.T) {
	checkLeaks(t)
	api := newLoopback(t, newScript(t,
		step{call: "POST /agent-1", body: "all of it"},
		step{call: "POST /ndjson/agent-1", body: "not json\n"},
	))
	client := api.c
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
	t.Parallel()
	api := newLoopback(t, newScript(t)) // any request fails the test
	client := api.c
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

	// A refused Send does not leave the conversation busy.
	conv := w.ResumeConversation("agent-1", "run/1")
	var argErr *ArgumentError
	_, err := conv.Send(ctx, "hi")
	require.ErrorAs(t, err, &argErr)
	_, err = conv.Send(ctx, "hi")
	require.ErrorAs(t, err, &argErr, "the same answer, not ErrConversationBusy")
}

func TestConversationNeedsARunIDToFollowAJob(t *testing.T) {
	t.Parallel()
	// Without X-Toolhouse-Run-ID there is no run to poll or resume: the
	// stream says so instead of calling GET with an empty ID.
	api := newLoopback(t, newScript(t,
		step{call: "POST /ndjson/agent-1", header: map[string]string{"x-toolhouse-job-id": "job-1"}},
	))
	client := api.c

	stream, err := client.Workers.Conversation("agent-1").Send(context.Background(), "Run the analysis")
	require.NoError(t, err)
	defer stream.Close()
	require.True(t, stream.Next())
	assert.Equal(t, Event{Type: EventJobStarted, JobID: "job-1"}, stream.Current())
	assert.False(t, stream.Next())
	assert.ErrorContains(t, stream.Err(), "sent no run ID")
}
