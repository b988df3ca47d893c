package toolhouse

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	seedRunID  = "bcb7e865-9e6c-xxxx-xxxx-c0110fdf5c2e"
	seedChatID = "a3a26d33-6f4d-4490-a56f-e17f867ba451"
	runPath    = "/v1/agent-runs/" + seedRunID
)

var (
	seedCreated = time.Date(2025, 1, 15, 1, 46, 23, 568338000, time.UTC)
	seedUpdated = time.Date(2025, 1, 15, 1, 46, 59, 270078000, time.UTC)
)

func TestAgentRunsCreate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		params   AgentRunCreateParams
		wantBody string
	}{
		{
			name:     "only the chat ID",
			params:   AgentRunCreateParams{ChatID: seedChatID},
			wantBody: `{"chat_id":"` + seedChatID + `"}`,
		},
		{
			name: "every field",
			params: AgentRunCreateParams{ChatID: "c", Bundle: "b", ToolhouseID: "t",
				Vars: map[string]string{"name": "Ada"}, CallbackURL: "https://example.com/cb", ScheduleID: "s"},
			wantBody: `{"chat_id":"c","bundle":"b","toolhouse_id":"t","vars":{"name":"Ada"},"callback_url":"https://example.com/cb","schedule_id":"s"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.on("POST", "/v1/agent-runs", reply(200, fixture(t, "agent_run_created.json")))
			run, err := h.c.AgentRuns.Create(context.Background(), tt.params)
			require.NoError(t, err)

			reqs := h.requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, "POST", reqs[0].Method)
			assert.Equal(t, "/v1/agent-runs", reqs[0].Path)
			assert.Empty(t, reqs[0].Query)
			assert.Equal(t, tt.wantBody, string(reqs[0].Body))
			assert.Equal(t, "application/json", reqs[0].Header.Get("Content-Type"))

			assert.Equal(t, &AgentRun{
				ID: seedRunID, UserID: "665618fbdeadd84260aa", Status: RunQueued, Results: []Message{},
				CreatedAt: Timestamp{seedCreated}, UpdatedAt: Timestamp{seedCreated},
				Bundle: "default", ToolhouseID: "default",
			}, run)
		})
	}
}

func TestAgentRunsCreateWithoutChatID(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, err := h.c.AgentRuns.Create(context.Background(), AgentRunCreateParams{ChatID: "  ", Bundle: "b"})
	var argErr *ArgumentError
	require.ErrorAs(t, err, &argErr)
	assert.Contains(t, err.Error(), "ChatID")
	assert.Empty(t, h.requests())
}

func TestAgentRunsGetPetFact(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("GET", runPath, reply(200, fixture(t, "agent_run_completed.json")))
	run, err := h.c.AgentRuns.Get(context.Background(), seedRunID)
	require.NoError(t, err)

	reqs := h.requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "GET", reqs[0].Method)
	assert.Equal(t, runPath, reqs[0].Path)
	assert.Empty(t, reqs[0].Body)

	assert.Equal(t, seedRunID, run.ID)
	assert.Equal(t, seedChatID, run.ChatID)
	assert.Equal(t, RunCompleted, run.Status)
	assert.True(t, run.Status.Done())
	assert.Equal(t, seedCreated, run.CreatedAt.Time)
	assert.Equal(t, seedUpdated, run.UpdatedAt.Time)
	assert.Equal(t, time.UTC, run.UpdatedAt.Location(), "zone-less timestamps are UTC")
	assert.Empty(t, run.RunError())

	require.Len(t, run.Results, 10)
	roles := make([]string, len(run.Results))
	for i, m := range run.Results {
		roles[i] = m.Role
		assert.Empty(t, m.Error)
		assert.True(t, json.Valid(m.Raw))
	}
	assert.Equal(t, []string{"user", "assistant", "tool", "assistant", "tool", "assistant", "tool", "assistant", "tool", "assistant"}, roles)

	// The user's prompt: a bare string content.
	require.Len(t, run.Results[0].Content, 1)
	assert.Equal(t, "text", run.Results[0].Content[0].Type)
	assert.True(t, strings.HasPrefix(run.Results[0].Text(), "Generate a random pet fact and send it to me via email."))

	// Text, then a tool call with empty args.
	first := run.Results[1].Content
	require.Len(t, first, 2)
	assert.Equal(t, "text", first[0].Type)
	assert.Contains(t, first[0].Text, "I'll help you generate and send a random pet fact!")
	assert.Equal(t, Part{Type: "tool-call", ToolName: "memory_fetch", ToolCallID: "toolu_01L1KXeHYNKhSxqAtLMDdC57",
		Args: json.RawMessage(`{}`)}, first[1])
	assert.Equal(t, first[0].Text, run.Results[1].Text(), "Text leaves the tool call out")

	// Its result.
	res := run.Results[2].Content
	require.Len(t, res, 1)
	assert.Equal(t, "tool-result", res[0].Type)
	assert.Equal(t, "memory_fetch", res[0].ToolName)
	assert.Equal(t, "toolu_01L1KXeHYNKhSxqAtLMDdC57", res[0].ToolCallID)
	var memory string
	require.NoError(t, json.Unmarshal(res[0].Result, &memory))
	assert.True(t, strings.HasPrefix(memory, `<memory created_at="2024-12-10 02:52:59">`))
	assert.Empty(t, run.Results[2].Text())

	// A tool call with arguments, kept as raw JSON.
	search := run.Results[3].Content[1]
	assert.Equal(t, "web_search", search.ToolName)
	assert.Equal(t, "toolu_01SGidsQaEsE5jTj2cM8Stxx", search.ToolCallID)
	assert.JSONEq(t, `{"query": "interesting unique pet facts animals", "num_results": 3}`, string(search.Args))

	email := run.Results[5].Content[1]
	assert.Equal(t, "send_email", email.ToolName)
	var emailArgs struct{ To, Subject, Content string }
	require.NoError(t, json.Unmarshal(email.Args, &emailArgs))
	assert.Equal(t, "hello@toolhouse.ai", emailArgs.To)
	assert.Equal(t, "🐦 Your Daily Pet Fact: Amazing Bird Hearts!", emailArgs.Subject)

	sent := run.Results[6].Content[0]
	assert.Equal(t, Part{Type: "tool-result", ToolName: "send_email", ToolCallID: "toolu_01BKc5XUnZWwN31u5677QhQS",
		Result: json.RawMessage(`"The mail has been sent."`)}, sent)

	assert.True(t, strings.HasPrefix(run.Results[9].Text(), "I've completed all the steps:"))
}

func TestAgentRunsGetOutOfExecs(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("GET", runPath, reply(200, fixture(t, "agent_run_out_of_execs.json")))
	run, err := h.c.AgentRuns.Get(context.Background(), seedRunID)
	require.NoError(t, err, "the documents' trailing comma is tolerated")
	assert.Equal(t, RunCompleted, run.Status)
	require.Len(t, run.Results, 1)
	assert.Equal(t, "You ran out of Toolhouse Execs. Please top up your balance at https://app.toolohuse.ai/billing.", run.Results[0].Error)
	assert.Empty(t, run.Results[0].Content)
	assert.Equal(t, run.Results[0].Error, run.RunError())
}

func TestAgentRunsList(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	list := fmt.Sprintf(`{"data": [%s, %s]}`, fixtureData(t, "agent_run_queued.json"), fixtureData(t, "agent_run_completed.json"))
	h.on("GET", "/v1/agent-runs", reply(200, list))
	runs, err := h.c.AgentRuns.List(context.Background())
	require.NoError(t, err)
	require.Len(t, runs, 2)
	assert.Equal(t, RunQueued, runs[0].Status)
	assert.Equal(t, RunCompleted, runs[1].Status)
	assert.Len(t, runs[1].Results, 10)

	reqs := h.requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "GET", reqs[0].Method)
	assert.Equal(t, "/v1/agent-runs", reqs[0].Path)
}

func TestAgentRunsListEmpty(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("GET", "/v1/agent-runs", reply(200, `{"data": []}`))
	runs, err := h.c.AgentRuns.List(context.Background())
	require.NoError(t, err)
	assert.Empty(t, runs)
}

func TestAgentRunsContinue(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("PUT", runPath, reply(200, fixture(t, "agent_run_queued.json")))
	run, err := h.c.AgentRuns.Continue(context.Background(), seedRunID, "Perfect, thank you!")
	require.NoError(t, err)
	assert.Equal(t, RunQueued, run.Status)

	reqs := h.requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "PUT", reqs[0].Method)
	assert.Equal(t, runPath, reqs[0].Path)
	assert.Equal(t, `{"message":"Perfect, thank you!"}`, string(reqs[0].Body))
	assert.Equal(t, "application/json", reqs[0].Header.Get("Content-Type"))
}

func TestAgentRunsContinueNotCompleted(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"server's detail": `{"detail":"You can only add messages to completed runs"}`,
		"empty body":      ``,
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.on("PUT", runPath, reply(406, body))
			_, err := h.c.AgentRuns.Continue(context.Background(), seedRunID, "more")
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, 406, apiErr.StatusCode)
			assert.Equal(t, "You can only add messages to completed runs", apiErr.Message)
			assert.Contains(t, err.Error(), "You can only add messages to completed runs")
			assert.Len(t, h.requests(), 1, "a 406 is not retried")
		})
	}
}

func TestAgentRunsContinueEmptyMessage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, err := h.c.AgentRuns.Continue(context.Background(), seedRunID, " ")
	var argErr *ArgumentError
	require.ErrorAs(t, err, &argErr)
	assert.Equal(t, "message", argErr.Arg)
	assert.Empty(t, h.requests())
}

func TestAgentRunsWait(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("GET", runPath,
		reply(200, fixture(t, "agent_run_queued.json")),
		reply(200, fixture(t, "agent_run_in_progress.json")),
		reply(200, fixture(t, "agent_run_completed.json")))
	run, err := h.c.AgentRuns.Wait(context.Background(), seedRunID, nil)
	require.NoError(t, err)
	assert.Equal(t, RunCompleted, run.Status)
	assert.Len(t, run.Results, 10)
	assert.Len(t, h.requests(), 3)

	// The default: 1 s doubling, less up to a quarter of jitter.
	d := h.sleeps()
	require.Len(t, d, 2)
	assert.True(t, d[0] >= 750*time.Millisecond && d[0] <= time.Second, d[0])
	assert.True(t, d[1] >= 1500*time.Millisecond && d[1] <= 2*time.Second, d[1])
}

func TestAgentRunsWaitOutOfExecs(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("GET", runPath, reply(200, fixture(t, "agent_run_in_progress.json")), reply(200, fixture(t, "agent_run_out_of_execs.json")))
	run, err := h.c.AgentRuns.Wait(context.Background(), seedRunID, nil)
	require.NotNil(t, run, "the failed run is returned with the error")
	assert.Equal(t, RunCompleted, run.Status)
	assert.ErrorIs(t, err, ErrRunFailed)
	assert.ErrorContains(t, err, "You ran out of Toolhouse Execs")
	var failed *RunFailedError
	require.ErrorAs(t, err, &failed)
	assert.Equal(t, seedRunID, failed.RunID)
}

func TestAgentRunsWaitFailedStatus(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		body    string
		wantMsg string
	}{
		"with an error field": {`{"data":{"id":"r","status":"failed","error":"tool crashed"}}`, "tool crashed"},
		"without a message":   {`{"data":{"id":"r","status":"failed","results":[]}}`, "without an error message"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.on("GET", "/v1/agent-runs/r", reply(200, tt.body))
			run, err := h.c.AgentRuns.Wait(context.Background(), "r", nil)
			require.NotNil(t, run)
			assert.Equal(t, RunFailed, run.Status)
			assert.ErrorIs(t, err, ErrRunFailed)
			assert.ErrorContains(t, err, tt.wantMsg)
		})
	}
}

func TestAgentRunsWaitMaxWait(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("GET", runPath, reply(200, fixture(t, "agent_run_in_progress.json")))
	opts := &PollOptions{Interval: time.Second, MaxInterval: time.Second, MaxWait: 2500 * time.Millisecond}
	run, err := h.c.AgentRuns.Wait(context.Background(), seedRunID, opts)
	require.NotNil(t, run, "the last run read comes back")
	assert.Equal(t, RunInProgress, run.Status)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorContains(t, err, "in_progress")

	var total time.Duration
	for _, d := range h.sleeps() {
		total += d
	}
	assert.Equal(t, 2500*time.Millisecond, total, "the last wait ends at the deadline")
	assert.Len(t, h.requests(), len(h.sleeps())+1, "one last look at the deadline")
}

func TestAgentRunsWaitUsesClientPollOptions(t *testing.T) {
	t.Parallel()
	h := newHarness(t, WithPollOptions(PollOptions{Interval: 5 * time.Second, MaxInterval: 5 * time.Second}))
	h.on("GET", runPath, reply(200, fixture(t, "agent_run_queued.json")), reply(200, fixture(t, "agent_run_completed.json")))
	_, err := h.c.AgentRuns.Wait(context.Background(), seedRunID, nil)
	require.NoError(t, err)
	d := h.sleeps()
	require.Len(t, d, 1)
	assert.True(t, d[0] >= 3750*time.Millisecond && d[0] <= 5*time.Second, d[0])
}

func TestAgentRunsWaitContextCancelled(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("GET", runPath, reply(200, fixture(t, "agent_run_in_progress.json")))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.c.sleep = func(ctx context.Context, _ time.Duration) error {
		cancel()
		return ctx.Err()
	}
	run, err := h.c.AgentRuns.Wait(ctx, seedRunID, nil)
	assert.ErrorIs(t, err, context.Canceled)
	require.NotNil(t, run)
	assert.Equal(t, RunInProgress, run.Status)
	assert.Len(t, h.requests(), 1)
}

func TestAgentRunsWaitErrors(t *testing.T) {
	t.Parallel()
	t.Run("unknown run", func(t *testing.T) {
		h := newHarness(t)
		h.on("GET", runPath, reply(404, `{"detail":"Agent run not found"}`))
		run, err := h.c.AgentRuns.Wait(context.Background(), seedRunID, nil)
		assert.Nil(t, run)
		assert.ErrorIs(t, err, ErrNotFound)
		assert.Len(t, h.requests(), 1)
	})
	t.Run("no data does not panic", func(t *testing.T) {
		h := newHarness(t)
		h.on("GET", runPath, reply(200, `{}`))
		assert.NotPanics(t, func() {
			_, err := h.c.AgentRuns.Wait(context.Background(), seedRunID, nil)
			assert.Error(t, err)
		})
	})
	t.Run("negative options", func(t *testing.T) {
		h := newHarness(t)
		_, err := h.c.AgentRuns.Wait(context.Background(), seedRunID, &PollOptions{MaxWait: -time.Second})
		assert.Error(t, err)
		assert.Empty(t, h.requests())
	})
}

func TestAgentRunsInvalidIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, id := range []string{"", "  ", "a/b", "..", "a..b", "../x", `a\b`, ".", "a\nb"} {
		h := newHarness(t)
		calls := map[string]func() error{
			"Get":      func() error { _, err := h.c.AgentRuns.Get(ctx, id); return err },
			"Continue": func() error { _, err := h.c.AgentRuns.Continue(ctx, id, "hi"); return err },
			"Wait":     func() error { _, err := h.c.AgentRuns.Wait(ctx, id, nil); return err },
		}
		for name, call := range calls {
			err := call()
			var argErr *ArgumentError
			if assert.ErrorAs(t, err, &argErr, "%s(%q)", name, id) {
				assert.Equal(t, "id", argErr.Arg)
				assert.Contains(t, err.Error(), "id")
			}
		}
		assert.Empty(t, h.requests(), "id %q", id)
	}
}

func TestRunStatusDone(t *testing.T) {
	t.Parallel()
	assert.False(t, RunQueued.Done())
	assert.False(t, RunInProgress.Done())
	assert.True(t, RunCompleted.Done())
	assert.True(t, RunFailed.Done())
	assert.False(t, RunStatus("something new").Done())
}
