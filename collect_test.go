package toolhouse

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The recorded worker streams of testdata/workers, modelled on the pet-fact
// run of the platform documents and the demo agent's background job, in the
// Vercel AI SDK stream parts the Workers API sends.

// collectOne answers POST /ndjson/agent-1 with body (and the headers), and
// collects what Workers.Stream returns.
func collectOne(t *testing.T, body string, header map[string]string) (*Answer, error) {
	t.Helper()
	h := newLoopback(t, newScript(t, step{call: "POST /ndjson/agent-1", header: header, body: body}))
	stream, err := h.c.Workers.Stream(context.Background(), "agent-1", WorkerRunParams{Message: "Send me a pet fact"})
	require.NoError(t, err)
	return stream.Collect()
}

var runHeader = map[string]string{"X-Toolhouse-Run-Id": "run-1"}

func TestCollectPlainAnswer(t *testing.T) {
	t.Parallel()
	answer, err := collectOne(t, workerStream(t, "answer.ndjson"), runHeader)
	require.NoError(t, err)
	assert.Equal(t, &Answer{
		RunID: "run-1",
		Text: "The email has been sent to your inbox! Let me know if you'd like another pet fact " +
			"or if there's anything else I can help you with! 🐦",
		FinishReason: "stop",
		Events:       6,
	}, answer)
}

func TestCollectPairsToolCallsWithTheirResults(t *testing.T) {
	t.Parallel()
	answer, err := collectOne(t, workerStream(t, "tool-calls.ndjson"), runHeader)
	require.NoError(t, err)
	assert.Equal(t, &Answer{
		RunID: "run-1",
		Text: "I see your email is hello@toolhouse.ai, and I found one previous pet fact about capybaras. " +
			"Let me search for an interesting new pet fact:Now, let me store this fact and your email in memory:",
		ToolCalls: []ToolCall{
			{
				ID: "toolu_01SGidsQaEsE5jTj2cM8Stxx", Name: "web_search",
				Args:   json.RawMessage(`{"query":"interesting unique pet facts animals","num_results":3}`),
				Result: json.RawMessage(`"Position: 1\nTitle: Fun Facts\nLink: https://animalmedical.org/fun-facts\nSnippet: Animal Facts · Fleas can jump 350 times its body length. · Hummingbirds are the only birds that can fly backwards. · Crocodiles cannot stick their tongue out.\nSource: animalmedical.org"`),
			},
			{
				ID: "toolu_01BKc5XUnZWwN31u5677QhQS", Name: "send_email",
				Args:   json.RawMessage(`{"to":"hello@toolhouse.ai","subject":"🐦 Your Daily Pet Fact: Amazing Bird Hearts!","content":"<p>Every bird needs to eat at least half its own weight in food each day!</p>"}`),
				Result: json.RawMessage(`"The mail has been sent."`),
			},
			{
				// The stream ended before this call's result.
				ID: "toolu_01Q1oxPbry5eTgwsTv1uBwUx", Name: "memory_store",
				Args: json.RawMessage(`{"memory":"Pet fact shared: Birds must eat at least half their body weight in food daily to maintain their high metabolism and heart rate. Email sent to: hello@toolhouse.ai"}`),
			},
		},
		FinishReason: "tool-calls",
		Events:       11,
	}, answer)
}

func TestCollectToolResultEdgeCases(t *testing.T) {
	t.Parallel()
	body := `{"type":"tool-result","toolCallId":"orphan","toolName":"web_search","result":"no call came first"}
{"type":"tool-call","toolCallId":"c1","toolName":"send_email","input":{"to":"a@b.c"}}
{"type":"tool-result","toolCallId":"c1","toolName":"send_email"}
{"type":"tool-call","toolCallId":"c2","toolName":"memory_fetch","args":{}}
{"type":"tool-call","toolCallId":"c2","toolName":"memory_fetch","args":{"again":true}}
{"type":"tool-result","toolCallId":"c2","toolName":"memory_fetch","output":"first"}
{"type":"tool-result","toolCallId":"c2","toolName":"memory_fetch","output":"second"}
`
	answer, err := collectOne(t, body, nil)
	require.NoError(t, err)
	assert.Equal(t, []ToolCall{
		{ID: "orphan", Name: "web_search", Result: json.RawMessage(`"no call came first"`)},
		{ID: "c1", Name: "send_email", Args: json.RawMessage(`{"to":"a@b.c"}`), Result: json.RawMessage(`null`)},
		{ID: "c2", Name: "memory_fetch", Args: json.RawMessage(`{}`), Result: json.RawMessage(`"first"`)},
		{ID: "c2", Name: "memory_fetch", Args: json.RawMessage(`{"again":true}`), Result: json.RawMessage(`"second"`)},
	}, answer.ToolCalls)
	assert.Empty(t, answer.RunID, "no X-Toolhouse-Run-ID, no run")
	assert.Empty(t, answer.FinishReason, "no finish line")
}

// An error event ends Collect at once: the server below sends the recorded
// stream up to its error line, then holds the connection open until the
// client closes it, so a Collect that read on would never return.
func TestCollectStopsAtAnErrorEventAndCloses(t *testing.T) {
	t.Parallel()
	lines := strings.SplitAfter(workerStream(t, "error.ndjson"), "\n")
	var upToError string
	for _, l := range lines {
		upToError += l
		if strings.Contains(l, `"type":"error"`) {
			break
		}
	}
	require.Less(t, len(upToError), len(strings.Join(lines, "")), "the recording goes on after its error line")
	disconnected, testOver := make(chan struct{}), make(chan struct{})
	h := newLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(headerRunID, "run-1")
		io.WriteString(w, upToError)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done(): // the client closed the connection
			close(disconnected)
		case <-testOver:
		}
	}))
	t.Cleanup(func() { close(testOver) }) // before the server's own cleanup
	stream, err := h.c.Workers.Stream(context.Background(), "agent-1", WorkerRunParams{})
	require.NoError(t, err)
	t.Cleanup(func() { stream.Close() })

	type result struct {
		answer *Answer
		err    error
	}
	got := returnsWithin(t, "Collect after the error event", func() result {
		a, err := stream.Collect()
		return result{a, err}
	})
	assert.Equal(t, &Answer{
		RunID: "run-1",
		Text: "I'll help you generate and send a random pet fact! Let me follow your steps:\n\n" +
			"1. First, let me check memory for any past pet facts and your email address:",
		ToolCalls: []ToolCall{{ID: "toolu_01L1KXeHYNKhSxqAtLMDdC57", Name: "memory_fetch", Args: json.RawMessage(`{}`)}},
		Events:    5,
	}, got.answer)
	var werr *WorkerError
	require.ErrorAs(t, got.err, &werr)
	const execs = "You ran out of Toolhouse Execs. Please top up your balance at https://app.toolohuse.ai/billing."
	assert.Equal(t, execs, werr.Message)
	assert.Equal(t, "run-1", werr.RunID)
	assert.JSONEq(t, `{"type":"error","error":"`+execs+`"}`, string(werr.Raw))
	assert.Equal(t, "toolhouse: worker run run-1 reported an error: "+execs, got.err.Error())
	select {
	case <-disconnected:
	case <-time.After(hangGuard):
		t.Fatal("Collect returned without closing the stream")
	}
}

func TestCollectErrorEventHidesTheKey(t *testing.T) {
	t.Parallel()
	body := `{"type":"error","error":{"message":"invalid key ` + testKey + `","code":401}}` + "\n"
	_, err := collectOne(t, body, runHeader)
	var werr *WorkerError
	require.ErrorAs(t, err, &werr)
	assert.Equal(t, "invalid key [REDACTED]", werr.Message)
	assert.NotContains(t, string(werr.Raw), testKey)
	assert.NotContains(t, err.Error(), testKey)
	assert.Contains(t, err.Error(), "invalid key [REDACTED]")
}

func TestCollectReturnsTheAnswerSoFarWithAStreamError(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("testdata", "malformed-line3.ndjson"))
	require.NoError(t, err)
	answer, err := collectOne(t, string(b), runHeader)
	require.ErrorContains(t, err, "NDJSON line 3")
	assert.Equal(t, &Answer{RunID: "run-1", Text: "onetwo", Events: 2}, answer)
}

// A server that does not stop cannot make Collect hold more than 8 lines'
// worth of the stream's line limit. (This one stops after 64 times the
// bound, so that a Collect without one fails the test rather than hang.)
func TestCollectBoundsTheAnswer(t *testing.T) {
	t.Parallel()
	const lineLimit = 128
	disconnected := make(chan struct{})
	h := newLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(disconnected)
		line := `{"type":"text-delta","textDelta":"` + strings.Repeat("a", 64) + `"}` + "\n"
		for sent := 0; sent < 64*8*lineLimit && r.Context().Err() == nil; sent += len(line) {
			if _, err := io.WriteString(w, line); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	}), WithMaxLineSize(lineLimit))
	stream, err := h.c.Workers.Stream(context.Background(), "agent-1", WorkerRunParams{})
	require.NoError(t, err)
	answer, err := stream.Collect()
	require.ErrorContains(t, err, "more than 1024 bytes")
	require.ErrorContains(t, err, "WithMaxLineSize")
	require.Len(t, answer.Text, 1024+64, "the text up to the delta that went over the bound")
	assert.Equal(t, 17, answer.Events)
	select {
	case <-disconnected:
	case <-time.After(hangGuard):
		t.Fatal("Collect returned without closing the stream")
	}
}

// twoJobs is a worker whose answer waits for two background jobs: the
// recorded answers job-1, job-2 and job-3 of testdata/workers, with the
// polls between them.
func twoJobs(t *testing.T, secondJob string) *harness {
	return newLoopback(t, newScript(t,
		step{call: "POST /ndjson/agent-1", header: map[string]string{"X-Toolhouse-Run-Id": "run-1", "X-Toolhouse-Job-Id": "job-1"},
			body: workerStream(t, "job-1.ndjson")},
		step{call: "GET /agent-1/run-1", header: map[string]string{"X-Toolhouse-Job-Id": "job-1"}, body: `[]`},
		step{call: "GET /agent-1/run-1", body: `[]`},
		step{call: "PUT /ndjson/agent-1/run-1", header: map[string]string{"X-Toolhouse-Run-Id": "run-1", "X-Toolhouse-Job-Id": secondJob},
			body: workerStream(t, "job-2.ndjson")},
		step{call: "GET /agent-1/run-1", body: `[]`},
		step{call: "PUT /ndjson/agent-1/run-1", header: runHeader, body: workerStream(t, "job-3.ndjson")},
	))
}

// The text of the three answers of twoJobs, as the deltas have it.
const (
	job1Text = "Let me look that up. A hummingbird's heart can beat more than 1,200 times a minute! " +
		"I'm charting heart rates by species with the code interpreter; it runs in the background. "
	job2Text = "The chart is ready: hearts.png.\nNow I'm adding resting heart rates for comparison; that runs in the background too."
	job3Text = "Done: a hummingbird's heart beats about 7 times faster than a pigeon's, and 20 times faster than an ostrich's."
)

func TestCollectConversationAcrossTwoJobs(t *testing.T) {
	t.Parallel()
	h := twoJobs(t, "job-2")
	conv := h.c.Workers.Conversation("agent-1")
	stream, err := conv.Send(context.Background(), "Chart the heart rates of three birds")
	require.NoError(t, err)
	answer, err := stream.Collect()
	require.NoError(t, err)
	running := json.RawMessage(`{"status":"running in background"}`)
	assert.Equal(t, &Answer{
		RunID: "run-1",
		// A blank line between the answers before and after each job,
		// the trailing space before it dropped.
		Text: strings.TrimSuffix(job1Text, " ") + "\n\n" + job2Text + "\n\n" + job3Text,
		ToolCalls: []ToolCall{
			{ID: "toolu_01Hx8PqRt3VnM2kLs9JdW4cE", Name: "web_search",
				Args:   json.RawMessage(`{"query":"bird heart rate facts","num_results":3}`),
				Result: json.RawMessage(`"Position: 1\nTitle: How fast does a bird's heart beat?\nSnippet: A hummingbird's heart can beat more than 1,200 times a minute.\nSource: audubon.org"`)},
			{ID: "toolu_01Vb6NcXz2QwE8rTy5UiO3pA", Name: "code_interpreter",
				Args:   json.RawMessage(`{"code":"import matplotlib.pyplot as plt\nplt.bar(['hummingbird', 'pigeon', 'ostrich'], [1200, 180, 60])\nplt.savefig('hearts.png')"}`),
				Result: running},
			{ID: "toolu_01Zc4XvB7nM1qW9eR2tY6uIo", Name: "code_interpreter",
				Args:   json.RawMessage(`{"code":"plt.bar(['hummingbird', 'pigeon', 'ostrich'], [250, 110, 35], alpha=0.5)\nplt.savefig('hearts.png')"}`),
				Result: running},
		},
		JobIDs:       []string{"job-1", "job-2"},
		FinishReason: "stop",
		// 9 + 5 + 4 events of the three answers (their first two finish
		// lines held back) and two job events per job.
		Events: 22,
	}, answer)
	assert.Equal(t, "run-1", conv.RunID())
}

func TestCollectListsAJobOnce(t *testing.T) {
	t.Parallel()
	h := twoJobs(t, "job-1") // the resumed answer names the same job again
	stream, err := h.c.Workers.Conversation("agent-1").Send(context.Background(), "Chart the heart rates of three birds")
	require.NoError(t, err)
	answer, err := stream.Collect()
	require.NoError(t, err)
	assert.Equal(t, []string{"job-1"}, answer.JobIDs)
	assert.Equal(t, strings.TrimSuffix(job1Text, " ")+"\n\n"+job2Text+"\n\n"+job3Text, answer.Text)
}

// In a Conversation stream a finish event means the answer is over: the
// finish lines of the answers that started a job are held back, so a
// caller that stops at the first finish still has the whole answer.
func TestConversationDeliversOnlyTheLastFinish(t *testing.T) {
	t.Parallel()
	h := twoJobs(t, "job-2")
	stream, err := h.c.Workers.Conversation("agent-1").Send(context.Background(), "Chart the heart rates of three birds")
	require.NoError(t, err)
	defer stream.Close()
	var types []string
	var text strings.Builder
	for ev, err := range stream.All() {
		require.NoError(t, err)
		types = append(types, ev.Type)
		if ev.Type == EventFinish {
			break
		}
		text.WriteString(ev.Text)
	}
	assert.Equal(t, []string{
		"step-start", EventTextDelta, EventToolCall, EventToolResult, "step-finish", EventTextDelta, EventTextDelta,
		EventToolCall, EventToolResult, EventJobStarted, EventJobFinished,
		"step-start", EventTextDelta, EventTextDelta, EventToolCall, EventToolResult, EventJobStarted, EventJobFinished,
		"step-start", EventTextDelta, EventTextDelta, EventFinish,
	}, types)
	assert.Equal(t, job1Text+job2Text+job3Text, text.String())
}

// Workers.Stream does not follow jobs: it delivers the finish line as sent,
// and Collect says which job the rest of the answer waits for.
func TestCollectStreamLeavesTheJobPending(t *testing.T) {
	t.Parallel()
	answer, err := collectOne(t, workerStream(t, "job-1.ndjson"),
		map[string]string{"X-Toolhouse-Run-Id": "run-1", "X-Toolhouse-Job-Id": "job-1"})
	require.NoError(t, err)
	assert.Equal(t, job1Text, answer.Text)
	assert.Equal(t, "job-1", answer.PendingJobID)
	assert.Empty(t, answer.JobIDs, "the stream waited for no job")
	assert.Equal(t, "tool-calls", answer.FinishReason, "the finish line was delivered")
	assert.Equal(t, 10, answer.Events)
}

// A server line that only names the SDK's own job event type carries no
// job: it is counted, not taken for a job.
func TestCollectIgnoresJobEventsFromTheServer(t *testing.T) {
	t.Parallel()
	body := fmt.Sprintf(`{"type":%q,"jobId":"fake"}`+"\n"+`{"type":%q,"jobId":"fake"}`+"\n"+
		`{"type":"text-delta","textDelta":"hi"}`+"\n", EventJobStarted, EventJobFinished)
	answer, err := collectOne(t, body, nil)
	require.NoError(t, err)
	assert.Equal(t, &Answer{Text: "hi", Events: 3}, answer)
}

func TestCollectAfterTheEnd(t *testing.T) {
	t.Parallel()
	h := newLoopback(t, newScript(t, step{call: "POST /ndjson/agent-1", header: runHeader, body: workerStream(t, "answer.ndjson")}))
	stream, err := h.c.Workers.Stream(context.Background(), "agent-1", WorkerRunParams{})
	require.NoError(t, err)
	require.True(t, stream.Next()) // step-start, read by the caller
	first, err := stream.Collect()
	require.NoError(t, err)
	assert.Equal(t, 5, first.Events, "events read before Collect are not in the answer")
	again, err := stream.Collect()
	require.NoError(t, err)
	assert.Equal(t, &Answer{RunID: "run-1"}, again, "a second Collect finds the stream at its end")
}

// The bound counts what each kept tool call costs, not only its strings: a
// server that sends endless tool calls (or results) with no ID, name or
// arguments must not make Collect keep one ToolCall per line for ever.
func TestCollectBoundsEmptyToolCalls(t *testing.T) {
	t.Parallel()
	for _, line := range []string{`{"type":"tool-call"}`, `{"type":"tool-result"}`} {
		t.Run(line, func(t *testing.T) {
			t.Parallel()
			const lineLimit = 128
			h := newLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// Far past the bound, then a clean end, so that a
				// Collect without the bound fails rather than hangs.
				io.WriteString(w, strings.Repeat(line+"\n", 64*8*lineLimit))
			}), WithMaxLineSize(lineLimit))
			stream, err := h.c.Workers.Stream(context.Background(), "agent-1", WorkerRunParams{})
			require.NoError(t, err)
			answer, err := stream.Collect()
			require.ErrorContains(t, err, "more than 1024 bytes")
			assert.Less(t, len(answer.ToolCalls), 1024/32, "each call costs at least its ToolCall")
		})
	}
}
