package toolhousetest

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/toolhouseai/toolhouse-go"
)

// The SDK's Workers service against the fake: what a user of both sees.

// readConversation reads a stream to its end: the event types in order, the
// text of its text-delta events joined, and the jobs it followed.
func readConversation(t *testing.T, stream *toolhouse.EventStream) (types []string, text string, jobs []string) {
	t.Helper()
	var b strings.Builder
	for ev, err := range stream.All() {
		require.NoError(t, err)
		types = append(types, ev.Type)
		switch ev.Type {
		case toolhouse.EventTextDelta:
			b.WriteString(ev.Text)
		case toolhouse.EventJobStarted:
			jobs = append(jobs, ev.JobID)
		}
	}
	return types, b.String(), jobs
}

func TestSDKConversationFollowsTheDemoJob(t *testing.T) {
	t.Parallel()
	clk := newClock()
	srv, client := start(t, WithClock(clk.Now))
	ctx := testContext(t)

	conv := client.Workers.Conversation(DemoAgentID)
	stream, err := conv.Send(ctx, "How fast does a bird's heart beat?")
	require.NoError(t, err)
	require.NotEmpty(t, stream.RunID(), "the run ID is known before the first event")
	jobID := stream.JobID()
	require.NotEmpty(t, jobID, "the first answer starts the demo job")

	// The job's time passes while the caller reads the events announcing
	// it, before the stream looks at the run.
	var types []string
	var before, after strings.Builder // the text on either side of the job
	text := &before
	for ev, err := range stream.All() {
		require.NoError(t, err)
		types = append(types, ev.Type)
		switch ev.Type {
		case toolhouse.EventTextDelta:
			text.WriteString(ev.Text)
		case toolhouse.EventJobStarted:
			assert.Equal(t, jobID, ev.JobID)
			clk.Advance(DefaultJobTime)
		case toolhouse.EventJobFinished:
			text = &after
		}
	}
	assert.Contains(t, types, "tool-call")
	assert.Contains(t, types, "tool-result")
	started := indexOf(types, toolhouse.EventJobStarted)
	finished := indexOf(types, toolhouse.EventJobFinished)
	require.True(t, started >= 0 && finished == started+1, "job events in order: %v", types)
	assert.Equal(t, "Let me look that up. A hummingbird's heart can beat more than 1,200 times a minute! "+
		"I'm charting heart rates by species with the code interpreter; it runs in the background.", before.String())
	assert.Equal(t, "The chart is ready: a hummingbird's heart beats about 7 times faster than a pigeon's, "+
		"and 20 times faster than an ostrich's.", after.String())
	assert.Equal(t, stream.RunID(), conv.RunID())

	// The exact exchange on the Workers API: POST, one GET that finds the
	// job over, then the resume PUT with an empty message.
	var seen []string
	for _, r := range srv.Requests() {
		if r.API == WorkersAPI {
			seen = append(seen, r.Method+" "+r.Path+" "+string(r.Body))
		}
	}
	run := conv.RunID()
	agentPath := "/" + DemoAgentID + "/" + run
	assert.Equal(t, []string{
		"POST /ndjson/" + DemoAgentID + ` {"message":"How fast does a bird's heart beat?"}`,
		"GET " + agentPath + " ",
		"PUT /ndjson" + agentPath + ` {"message":""}`,
	}, seen)

	// The next message continues the same run, and the agent remembers
	// the first one.
	next, err := conv.Send(ctx, "thanks")
	require.NoError(t, err)
	assert.Empty(t, next.JobID())
	_, text2, _ := readConversation(t, next)
	assert.Contains(t, text2, "You first asked me: “How fast does a bird's heart beat?”")
	assert.Contains(t, text2, "Now you say: “thanks.”")
	assert.Equal(t, run, conv.RunID())

	history, err := client.Workers.Get(ctx, DemoAgentID, run)
	require.NoError(t, err)
	assert.Empty(t, history.JobID)
	require.NotEmpty(t, history.Messages)
	assert.Equal(t, "user", history.Messages[0].Role)
	assert.Equal(t, "How fast does a bird's heart beat?", history.Messages[0].Text())
}

// TestSDKConversationOnTheWallClock follows the demo job with the real
// clock: it ends by itself after the job time.
func TestSDKConversationOnTheWallClock(t *testing.T) {
	t.Parallel()
	_, client := start(t, WithJobTime(5*time.Millisecond))
	stream, err := client.Workers.Conversation(DemoAgentID).Send(testContext(t), "")
	require.NoError(t, err)
	_, text, jobs := readConversation(t, stream)
	assert.Len(t, jobs, 1)
	assert.True(t, strings.HasSuffix(text, "20 times faster than an ostrich's."), text)
}

func TestSDKTextRunWaitForJobAndResumeByHand(t *testing.T) {
	t.Parallel()
	clk := newClock()
	_, client := start(t, WithClock(clk.Now))
	ctx := testContext(t)

	text, err := client.Workers.Run(ctx, DemoAgentID, toolhouse.WorkerRunParams{})
	require.NoError(t, err)
	run, job := text.RunID(), text.JobID()
	require.NotEmpty(t, run)
	require.NotEmpty(t, job)
	body, err := io.ReadAll(text)
	require.NoError(t, err)
	require.NoError(t, text.Close())
	assert.Contains(t, string(body), "charting heart rates")
	assert.NotContains(t, string(body), "tool-call", "the text endpoint carries no tool calls")

	// While the job runs, a message is refused with 409.
	_, err = client.Workers.Continue(ctx, DemoAgentID, run, "are you done?")
	require.ErrorIs(t, err, toolhouse.ErrJobInProgress)
	var apiErr *toolhouse.APIError
	require.True(t, errors.As(err, &apiErr))
	assert.Equal(t, http.StatusConflict, apiErr.StatusCode)
	got, err := client.Workers.Get(ctx, DemoAgentID, run)
	require.NoError(t, err)
	assert.Equal(t, job, got.JobID)

	clk.Advance(DefaultJobTime)
	done, err := client.Workers.WaitForJob(ctx, DemoAgentID, run, nil)
	require.NoError(t, err)
	assert.Empty(t, done.JobID)

	resumed, err := client.Workers.Continue(ctx, DemoAgentID, run, "")
	require.NoError(t, err)
	defer resumed.Close()
	body, err = io.ReadAll(resumed)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(body), "The chart is ready"), string(body))
}

func TestSDKPrivateAgentNeedsTheKey(t *testing.T) {
	t.Parallel()
	agent := Agent{ID: "0b8e1c7e-5d2a-4f8e-9c3b-7a1d2e3f4a5b", Private: true, Turns: []Turn{{Say("secret hello")}}}
	srv, client := start(t, WithAgent(agent))
	ctx := testContext(t)

	anonymous, err := toolhouse.NewClient(toolhouse.WithoutEnvironment(),
		toolhouse.WithBaseURL(srv.BaseURL()), toolhouse.WithAgentsURL(srv.AgentsURL()))
	require.NoError(t, err)
	_, err = anonymous.Workers.Stream(ctx, agent.ID, toolhouse.WorkerRunParams{Message: "hi"})
	var apiErr *toolhouse.APIError
	require.True(t, errors.As(err, &apiErr), "got %v", err)
	assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)

	stream, err := client.Workers.Stream(ctx, agent.ID, toolhouse.WorkerRunParams{Message: "hi"})
	require.NoError(t, err)
	_, text, _ := readConversation(t, stream)
	assert.Equal(t, "secret hello", text)
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}
