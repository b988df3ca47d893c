package toolhousetest

import (
	"bytes"
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/toolhouseai/toolhouse-go"
)

// The SDK's Agents and Secrets services against the fake, end to end: an
// agent deployed from Go is a worker at once.

func TestSDKDeployThenStream(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"bare agents", nil},
		{"wrapped agents", []Option{WithWrappedAgents()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, client := start(t, tc.opts...)
			ctx := testContext(t)

			agent, err := client.Agents.Create(ctx, toolhouse.AgentCreateParams{
				Title: "Bird facts", Prompt: "Tell me one surprising fact about birds.",
				Model: "claude-3-7-sonnet-latest", Vars: map[string]string{"tone": "playful"},
				MCPServers: []string{"https://mcp.example.com/sse"},
			})
			require.NoError(t, err)
			assert.True(t, isUUID(agent.ID), agent.ID)
			assert.Equal(t, "Bird facts", agent.Title)
			assert.False(t, agent.Public, "the SDK sends public: false")
			assert.Equal(t, map[string]string{"tone": "playful"}, agent.Vars)
			assert.Equal(t, []string{"https://mcp.example.com/sse"}, agent.MCPServers)
			assert.Equal(t, UserID, agent.UserID)
			assert.Equal(t, "pending", agent.UserFeedback)
			assert.False(t, agent.CreatedAt.IsZero())

			// The deployed agent answers on the Workers API from its prompt.
			stream, err := client.Workers.Stream(ctx, agent.ID, toolhouse.WorkerRunParams{})
			require.NoError(t, err)
			types, text, _ := readConversation(t, stream)
			assert.Equal(t, "Following my prompt: “Tell me one surprising fact about birds.”", text)
			assert.Equal(t, []string{toolhouse.EventTextDelta, toolhouse.EventFinish}, types[len(types)-2:])

			// A conversation with it keeps the run's history.
			conv := client.Workers.Conversation(agent.ID)
			stream, err = conv.Send(ctx, "Make it about owls")
			require.NoError(t, err)
			_, text, _ = readConversation(t, stream)
			assert.Equal(t, "Following my prompt: “Tell me one surprising fact about birds.” You said: “Make it about owls.”", text)
			stream, err = conv.Send(ctx, "Thanks")
			require.NoError(t, err)
			_, text, _ = readConversation(t, stream)
			assert.Equal(t, "Following my prompt: “Tell me one surprising fact about birds.” "+
				"Before, you said: “Make it about owls.” Now you say: “Thanks.”", text)
			run, err := client.Workers.Get(ctx, agent.ID, conv.RunID())
			require.NoError(t, err)
			assert.Len(t, run.Messages, 4, "two messages and two answers")

			// It is private: the Workers API wants the key.
			anonymous, err := toolhouse.NewClient(toolhouse.WithoutEnvironment(), toolhouse.WithAgentsURL(srv.AgentsURL()))
			require.NoError(t, err)
			_, err = anonymous.Workers.Stream(ctx, agent.ID, toolhouse.WorkerRunParams{})
			apiError(t, err, http.StatusUnauthorized, "Unauthorized")

			// It is a chat for agent runs, with its prompt as the message.
			agentRun, err := client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{ChatID: agent.ID})
			require.NoError(t, err)
			agentRun, err = client.AgentRuns.Wait(ctx, agentRun.ID, nil)
			require.NoError(t, err)
			assert.Equal(t, "Following my prompt: “Tell me one surprising fact about birds.”", agentRun.LastAgentMessage)

			// List and Get read it back, with the runs counted.
			agents, err := client.Agents.List(ctx)
			require.NoError(t, err)
			require.Len(t, agents, 2)
			assert.Equal(t, DemoAgentID, agents[0].ID)
			assert.True(t, agents[0].Public)
			assert.Equal(t, agent.ID, agents[1].ID)
			got, err := client.Agents.Get(ctx, agent.ID)
			require.NoError(t, err)
			assert.Equal(t, 3, got.CountRuns, "two worker runs and an agent run")

			// A new prompt changes the next answer, and nothing else.
			updated, err := client.Agents.Update(ctx, agent.ID, toolhouse.AgentUpdateParams{
				Prompt: toolhouse.String("Tell me about bats."), Public: toolhouse.Bool(true),
			})
			require.NoError(t, err)
			assert.Equal(t, "Bird facts", updated.Title)
			assert.True(t, updated.Public)
			stream, err = anonymous.Workers.Stream(ctx, agent.ID, toolhouse.WorkerRunParams{})
			require.NoError(t, err, "a public agent needs no key")
			_, text, _ = readConversation(t, stream)
			assert.Equal(t, "Following my prompt: “Tell me about bats.”", text)

			// Deleted, it is gone from both APIs.
			require.NoError(t, client.Agents.Delete(ctx, agent.ID))
			_, err = client.Agents.Get(ctx, agent.ID)
			assert.ErrorIs(t, err, toolhouse.ErrNotFound)
			err = client.Agents.Delete(ctx, agent.ID)
			apiError(t, err, http.StatusNotFound, "Agent not found")
			_, err = client.Workers.Stream(ctx, agent.ID, toolhouse.WorkerRunParams{})
			apiError(t, err, http.StatusNotFound, "Agent not found")
		})
	}
}

func TestSDKCreateReplacesTheAgentWithItsID(t *testing.T) {
	t.Parallel()
	srv, client := start(t)
	ctx := testContext(t)
	id := "0b8e1c7e-5d2a-4f8e-9c3b-7a1d2e3f4a5b"
	for _, prompt := range []string{"first", "second"} {
		agent, err := client.Agents.Create(ctx, toolhouse.AgentCreateParams{ID: id, Prompt: prompt, Public: true})
		require.NoError(t, err)
		assert.Equal(t, id, agent.ID)
		assert.Equal(t, prompt, agent.Prompt)
	}
	agents, err := client.Agents.List(ctx)
	require.NoError(t, err)
	assert.Len(t, agents, 2, "the demo agent and the one replaced")

	// What went on the wire: the fields set, public always.
	var posts []string
	for _, r := range srv.Requests() {
		if r.Method == http.MethodPost && r.Path == "/v1/agents" {
			posts = append(posts, string(r.Body))
		}
	}
	require.Len(t, posts, 2)
	assert.JSONEq(t, `{"id":"`+id+`","prompt":"first","public":true}`, posts[0])
}

func TestSDKSecrets(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	srv := New(t, WithSecret("EXISTING", "th-existing-value"))
	client, err := srv.Client(toolhouse.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	require.NoError(t, err)
	ctx := testContext(t)

	const value = "owm-key=with&equals"
	require.NoError(t, client.Secrets.Set(ctx, "OPENWEATHER_API_KEY", value))
	require.NoError(t, client.Secrets.Set(ctx, "name with spaces", "v2"))
	got, err := client.Secrets.List(ctx)
	require.NoError(t, err)
	want := map[string]string{"EXISTING": "th-existing-value", "OPENWEATHER_API_KEY": value, "name with spaces": "v2"}
	assert.Equal(t, want, got)
	assert.Equal(t, want, srv.Secrets())

	require.NoError(t, client.Secrets.Set(ctx, "OPENWEATHER_API_KEY", "rotated"))
	require.NoError(t, client.Secrets.Delete(ctx, "name with spaces"))
	assert.Equal(t, map[string]string{"EXISTING": "th-existing-value", "OPENWEATHER_API_KEY": "rotated"}, srv.Secrets())
	err = client.Secrets.Delete(ctx, "name with spaces")
	assert.ErrorIs(t, err, toolhouse.ErrNotFound)
	apiError(t, err, http.StatusNotFound, "Secret not found")

	// Secrets returns a copy.
	srv.Secrets()["EXISTING"] = "changed"
	assert.Equal(t, "th-existing-value", srv.Secrets()["EXISTING"])

	// The requests as th secrets sends them; the log never holds a value.
	var calls, bodies []string
	for _, r := range srv.Requests() {
		calls = append(calls, r.Method+" "+r.Path)
		if r.Method == http.MethodPost {
			bodies = append(bodies, string(r.Body))
		}
	}
	assert.Equal(t, []string{"POST /v1/kv", "POST /v1/kv", "GET /v1/kv", "POST /v1/kv",
		"DELETE /v1/kv/name with spaces", "DELETE /v1/kv/name with spaces"}, calls)
	require.Len(t, bodies, 3)
	assert.JSONEq(t, `{"key":"OPENWEATHER_API_KEY","value":"owm-key=with&equals"}`, bodies[0])
	assert.JSONEq(t, `{"key":"name with spaces","value":"v2"}`, bodies[1])
	require.NotEmpty(t, logs.String(), "the client logged its calls")
	for _, v := range []string{value, "rotated", "th-existing-value", srv.APIKey()} {
		assert.NotContains(t, logs.String(), v)
	}
}
