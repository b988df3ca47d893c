package toolhousetest

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/toolhouseai/toolhouse-go"
)

// The SDK's Workers service against the fake: what a user of both sees.

// readConversation reads a stream to its end: the event types in order, and
// the text of its text-delta events joined.
func readConversation(t *testing.T, stream *toolhouse.EventStream) (types []string, text string) {
	t.Helper()
	var b strings.Builder
	for ev, err := range stream.All() {
		require.NoError(t, err)
		types = append(types, ev.Type)
		if ev.Type == "text-delta" {
			b.WriteString(ev.Text)
		}
	}
	return types, b.String()
}

func TestSDKConversationFollowsTheDemoJob(t *testing.T) {
	srv, client := start(t)
	ctx := testContext(t)

	conv := client.Workers.Conversation(DemoAgentID)
	stream, err := conv.Send(ctx, "How fast does a bird's heart beat?")
	require.NoError(t, err)
	require.NotEmpty(t, stream.RunID(), "the run ID is known before the first event")
	require.NotEmpty(t, stream.JobID(), "the first answer starts the demo job")

	types, text := readConversation(t, stream)
	assert.Contains(t, types, "tool-call")
	assert.Contains(t, types, "tool-result")
	// The job events sit between the first answer and the resumed one.
	started := indexOf(types, toolhouse.EventJobStarted)
	finished := indexOf(types, toolhouse.EventJobFinished)
	require.True(t, started >= 0 && finished == started+1, "job events in order: %v", types)
	assert.Contains(t, text, "1,200 times a minute")
	assert.True(t, strings.HasSuffix(text, "20 times faster than an ostrich's."), text)
	assert.Equal(t, stream.RunID(), conv.RunID())

	// The exact exchange on the Workers API: POST, GETs while the job
	// runs, one GET without it, then the resume PUT with an empty message.
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
		"GET " + agentPath + " ",
		"GET " + agentPath + " ",
		"PUT /ndjson" + agentPath + ` {"message":""}`,
	}, seen)

	// The next message continues the same run, with no job this time.
	next, err := conv.Send(ctx, "thanks")
	require.NoError(t, err)
	assert.Empty(t, next.JobID())
	_, text = readConversation(t, next)
	assert.Equal(t, "You said: thanks", text)
	assert.Equal(t, run, conv.RunID())

	history, err := client.Workers.Get(ctx, DemoAgentID, run)
	require.NoError(t, err)
	assert.Empty(t, history.JobID)
	require.NotEmpty(t, history.Messages)
	assert.Equal(t, "user", history.Messages[0].Role)
	assert.Equal(t, "How fast does a bird's heart beat?", history.Messages[0].Text())
}

func TestSDKTextRunWaitForJobAndResumeByHand(t *testing.T) {
	_, client := start(t)
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
	_, text := readConversation(t, stream)
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
