package toolhousetest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/toolhouseai/toolhouse-go"
)

var zonelessMicros = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$`)

func TestAgentRunProgressesOnEachRead(t *testing.T) {
	t.Parallel()
	_, client := start(t)
	ctx := testContext(t)

	run, err := client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{ChatID: DemoChatID})
	require.NoError(t, err)
	assert.Equal(t, toolhouse.RunQueued, run.Status)
	assert.Equal(t, DemoChatID, run.ChatID)
	assert.Equal(t, UserID, run.UserID)
	assert.Equal(t, "default", run.Bundle)
	assert.Equal(t, "default", run.ToolhouseID)
	assert.Empty(t, run.Results)
	assert.False(t, run.CreatedAt.IsZero())

	var seen []toolhouse.RunStatus
	for range 3 {
		got, err := client.AgentRuns.Get(ctx, run.ID)
		require.NoError(t, err)
		seen = append(seen, got.Status)
		run = got
	}
	assert.Equal(t, []toolhouse.RunStatus{toolhouse.RunQueued, toolhouse.RunInProgress, toolhouse.RunCompleted}, seen)

	// The results look like the documented pet-fact run.
	require.NotEmpty(t, run.Results)
	assert.Equal(t, "user", run.Results[0].Role)
	assert.Contains(t, run.Results[0].Text(), "pet fact")
	var tools []string
	for _, m := range run.Results {
		for _, p := range m.Content {
			switch p.Type {
			case "tool-call":
				assert.Equal(t, "assistant", m.Role)
				assert.NotEmpty(t, p.ToolCallID)
				assert.True(t, json.Valid(p.Args))
				tools = append(tools, p.ToolName)
			case "tool-result":
				assert.Equal(t, "tool", m.Role)
				assert.NotEmpty(t, p.Result)
			}
		}
	}
	assert.Equal(t, []string{"memory_fetch", "web_search", "send_email", "memory_store"}, tools)
	last := run.Results[len(run.Results)-1]
	assert.Equal(t, "assistant", last.Role)
	assert.Equal(t, last.Text(), run.LastAgentMessage)
	assert.Empty(t, run.RunError())

	// A finished run stays finished.
	again, err := client.AgentRuns.Get(ctx, run.ID)
	require.NoError(t, err)
	assert.Equal(t, toolhouse.RunCompleted, again.Status)
	assert.Len(t, again.Results, len(run.Results))
}

func TestAgentRunWireShape(t *testing.T) {
	t.Parallel()
	srv, _ := start(t)
	resp := call(t, srv, http.MethodPost, srv.BaseURL()+"/v1/agent-runs", srv.APIKey(),
		map[string]any{"chat_id": DemoChatID, "vars": map[string]string{"name": "Ada"}})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	body := decode[map[string]map[string]any](t, resp)
	data := body["data"]
	for _, field := range []string{"id", "chat_id", "user_id", "schedule_id", "status", "results", "created_at",
		"updated_at", "bundle", "toolhouse_id", "vars", "callback_url", "last_agent_message", "error"} {
		assert.Contains(t, data, field)
	}
	assert.Equal(t, []any{}, data["results"])
	assert.Equal(t, map[string]any{"name": "Ada"}, data["vars"])
	assert.Nil(t, data["schedule_id"])
	assert.Regexp(t, zonelessMicros, data["created_at"])
	assert.Regexp(t, zonelessMicros, data["updated_at"])
	assert.True(t, isUUID(data["id"].(string)))
}

func TestAgentRunWait(t *testing.T) {
	t.Parallel()
	_, client := start(t, WithRunReads(3, 4))
	ctx := testContext(t)
	run, err := client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{ChatID: DemoChatID})
	require.NoError(t, err)
	done, err := client.AgentRuns.Wait(ctx, run.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, toolhouse.RunCompleted, done.Status)
	assert.NotEmpty(t, done.LastAgentMessage)
}

func TestAgentRunFailedAndOutOfExecs(t *testing.T) {
	t.Parallel()
	failing := Chat{ID: newID(), Prompt: "go", Turns: []Turn{{Say("Trying."), Fail("the model is overloaded")}}}
	broke := Chat{ID: newID(), Prompt: "go", Turns: []Turn{{Say("never shown"), OutOfExecs()}}}
	_, client := start(t, WithChat(failing), WithChat(broke), WithRunReads(0, 0))
	ctx := testContext(t)

	run, err := client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{ChatID: failing.ID})
	require.NoError(t, err)
	got, err := client.AgentRuns.Wait(ctx, run.ID, nil)
	require.ErrorIs(t, err, toolhouse.ErrRunFailed)
	assert.Contains(t, err.Error(), "the model is overloaded")
	assert.Equal(t, toolhouse.RunFailed, got.Status)
	assert.Equal(t, "the model is overloaded", got.Error)
	assert.Equal(t, "the model is overloaded", got.Results[len(got.Results)-1].Error)

	run, err = client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{ChatID: broke.ID})
	require.NoError(t, err)
	got, err = client.AgentRuns.Wait(ctx, run.ID, nil)
	require.ErrorIs(t, err, toolhouse.ErrRunFailed)
	// The platform's own shape: completed, with only the error entry.
	assert.Equal(t, toolhouse.RunCompleted, got.Status)
	require.Len(t, got.Results, 1)
	assert.Equal(t, OutOfExecsMessage, got.Results[0].Error)
	assert.Empty(t, got.Error)
}

func TestAgentRunContinue(t *testing.T) {
	t.Parallel()
	_, client := start(t)
	ctx := testContext(t)
	run, err := client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{ChatID: DemoChatID})
	require.NoError(t, err)

	_, err = client.AgentRuns.Continue(ctx, run.ID, "too early")
	apiError(t, err, http.StatusNotAcceptable, "You can only add messages to completed runs")

	first, err := client.AgentRuns.Wait(ctx, run.ID, nil)
	require.NoError(t, err)

	queued, err := client.AgentRuns.Continue(ctx, run.ID, "Perfect, thank you!")
	require.NoError(t, err)
	assert.Equal(t, toolhouse.RunQueued, queued.Status)
	assert.Len(t, queued.Results, len(first.Results), "the history is kept")

	second, err := client.AgentRuns.Wait(ctx, run.ID, nil)
	require.NoError(t, err)
	require.Len(t, second.Results, len(first.Results)+2)
	assert.Equal(t, "Perfect, thank you!", second.Results[len(first.Results)].Text())
	assert.Contains(t, second.LastAgentMessage, "You're welcome")

	// Past the script the demo chat answers from the run's history.
	_, err = client.AgentRuns.Continue(ctx, run.ID, "ping")
	require.NoError(t, err)
	third, err := client.AgentRuns.Wait(ctx, run.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, "You first asked me: “Generate a random pet fact and send it to me via email. Look into memory for past pet facts "+
		"I already know about, and store the new fact in memory.” "+
		"My last answer was: “You're welcome! Ask me any time for another pet fact. 🐦” Now you say: “ping.”",
		third.LastAgentMessage)

	// A chat of your own echoes.
	_, client = start(t, WithChat(Chat{ID: "0b8e1c7e-5d2a-4f8e-9c3b-7a1d2e3f4a5b", Prompt: "Hi"}))
	run, err = client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{ChatID: "0b8e1c7e-5d2a-4f8e-9c3b-7a1d2e3f4a5b"})
	require.NoError(t, err)
	run, err = client.AgentRuns.Wait(ctx, run.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, "You said: Hi", run.LastAgentMessage)
}

// TestAgentIDIsAChatID: a registered agent is a chat too, as the th CLI
// relies on when it creates a schedule with the agent's ID as chat_id.
func TestAgentIDIsAChatID(t *testing.T) {
	t.Parallel()
	mine := Agent{ID: "0B8E1C7E-5D2A-4F8E-9C3B-7A1D2E3F4A5B", DefaultMessage: "Summarise the news",
		Turns: []Turn{{Say("Here is"), Say("the news.")}}}
	_, client := start(t, WithAgent(mine), WithAgent(Agent{ID: "not-a-uuid"}))
	ctx := testContext(t)

	run, err := client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{ChatID: DemoAgentID})
	require.NoError(t, err)
	run, err = client.AgentRuns.Wait(ctx, run.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, DemoAgentID, run.ChatID)
	assert.Equal(t, "Find a fun fact about bird hearts and chart their heart rates.", run.Results[0].Text(),
		"the agent's default message is the prompt")
	assert.Contains(t, run.LastAgentMessage, "1,200 times a minute")

	run, err = client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{ChatID: strings.ToLower(mine.ID)})
	require.NoError(t, err)
	run, err = client.AgentRuns.Wait(ctx, run.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, "Here is the news.", run.LastAgentMessage)

	sc, err := client.Schedules.Create(ctx, toolhouse.ScheduleCreateParams{ChatID: DemoAgentID, Cadence: "0 17 * * 0"})
	require.NoError(t, err)
	assert.Equal(t, DemoAgentID, sc.ChatID)
	_, err = client.Schedules.Update(ctx, sc.ID, toolhouse.ScheduleUpdateParams{ChatID: toolhouse.String(strings.ToLower(mine.ID))})
	require.NoError(t, err)

	// An agent whose ID is not a UUID cannot be named as a chat.
	_, err = client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{ChatID: "not-a-uuid"})
	apiError(t, err, http.StatusUnprocessableEntity, "")
}

func TestAgentRunResultsAreNotHTMLEscaped(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, WithRunReads(0, 0))
	resp := call(t, srv, http.MethodPost, srv.BaseURL()+"/v1/agent-runs", srv.APIKey(), map[string]any{"chat_id": DemoChatID})
	runID := decode[struct{ Data struct{ ID string } }](t, resp).Data.ID
	resp = call(t, srv, http.MethodGet, srv.BaseURL()+"/v1/agent-runs/"+runID, srv.APIKey(), nil)
	raw := string(readBody(t, resp))
	// The demo's send_email arguments hold HTML, sent as the platform
	// sends it.
	assert.Contains(t, raw, `"content":"<html><body><h1>`)
	assert.NotContains(t, raw, `\u003c`)
}

func TestAgentRunErrors(t *testing.T) {
	t.Parallel()
	srv, client := start(t)
	ctx := testContext(t)

	_, err := client.AgentRuns.Get(ctx, newID())
	apiErr := apiError(t, err, http.StatusNotFound, "Agent run not found")
	assert.ErrorIs(t, apiErr, toolhouse.ErrNotFound)
	assert.JSONEq(t, `{"detail":"Agent run not found"}`, string(apiErr.Body))

	_, err = client.AgentRuns.Get(ctx, "not-a-uuid")
	apiErr = apiError(t, err, http.StatusUnprocessableEntity, "")
	assert.Contains(t, apiErr.Message, "path.run_id")

	_, err = client.AgentRuns.Continue(ctx, newID(), "hello")
	apiError(t, err, http.StatusNotFound, "Agent run not found")

	_, err = client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{ChatID: newID()})
	apiError(t, err, http.StatusForbidden, "Chat ID is invalid or does not belong to you")

	_, err = client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{ChatID: "my-chat"})
	apiError(t, err, http.StatusUnprocessableEntity, "")

	// Raw bodies the SDK never sends still get FastAPI's answers.
	for _, tc := range []struct {
		name, body, wantType string
	}{
		{"no body", "", "missing"},
		{"not JSON", "{", "json_invalid"},
		{"not an object", "[1]", "model_attributes_type"},
		{"no chat_id", "{}", "missing"},
		{"chat_id a number", `{"chat_id": 7}`, "string_type"},
		{"bad callback", `{"chat_id": "` + DemoChatID + `", "callback_url": "nope"}`, "url_parsing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := call(t, srv, http.MethodPost, srv.BaseURL()+"/v1/agent-runs", srv.APIKey(), json.RawMessage(tc.body))
			first := validationErrors(t, resp)[0]
			assert.Equal(t, tc.wantType, first.Type)
			assert.Equal(t, "body", first.Loc[0])
		})
	}
}

func TestAgentRunList(t *testing.T) {
	t.Parallel()
	_, client := start(t)
	ctx := testContext(t)
	runs, err := client.AgentRuns.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, runs)

	var ids []string
	for range 3 {
		run, err := client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{ChatID: DemoChatID, Bundle: "mine"})
		require.NoError(t, err)
		ids = append(ids, run.ID)
	}
	runs, err = client.AgentRuns.List(ctx)
	require.NoError(t, err)
	require.Len(t, runs, 3)
	for i, run := range runs {
		assert.Equal(t, ids[i], run.ID)
		assert.Equal(t, "mine", run.Bundle)
	}
}

func TestAgentRunCallback(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		got []map[string]any
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		if err := json.NewDecoder(r.Body).Decode(&v); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, v)
		mu.Unlock()
	}))
	defer hook.Close()
	_, client := start(t)
	ctx := testContext(t)
	run, err := client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{ChatID: DemoChatID, CallbackURL: hook.URL})
	require.NoError(t, err)
	done, err := client.AgentRuns.Wait(ctx, run.ID, nil)
	require.NoError(t, err)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 1, "the callback is sent before the completing GET answers")
	assert.Equal(t, map[string]any{"run_id": run.ID, "status": "completed", "last_agent_message": done.LastAgentMessage}, got[0])
}

func TestChatIDsAreCaseInsensitiveUUIDs(t *testing.T) {
	t.Parallel()
	_, client := start(t)
	ctx := testContext(t)
	run, err := client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{ChatID: "A3A26D33-6F4D-4490-A56F-E17F867BA451"})
	require.NoError(t, err)
	assert.Equal(t, DemoChatID, run.ChatID)
	_, err = client.AgentRuns.Get(ctx, strings.ToUpper(run.ID))
	require.NoError(t, err)
}
