package toolhouse

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// agentID is the agent of testdata/platform/agent.json, the pet-fact chat
// of the seed deployed as an agent (AgentModel of the OpenAPI export).
const (
	agentID   = "7a3c1f4e-0b9d-4c2a-9e51-2f6d8b1a4c07"
	agentPath = "/v1/agents/" + agentID
)

// agentShapes are the two bodies the agents calls may answer with: the
// object itself (the OpenAPI export, `th deploy`) and the platform's
// {"data": ...} wrapper.
func agentShapes(t *testing.T) map[string]string {
	bare := fixture(t, "agent.json")
	return map[string]string{"bare": bare, "wrapped": `{"data": ` + bare + `}`}
}

// wantFixtureAgent checks a decoded testdata/platform/agent.json.
func wantFixtureAgent(t *testing.T, a *Agent) {
	t.Helper()
	require.NotNil(t, a)
	assert.Equal(t, agentID, a.ID)
	assert.Equal(t, "665618fbdeadd84260aa", a.UserID)
	assert.Equal(t, "Pet facts", a.Title)
	assert.True(t, strings.HasPrefix(a.Prompt, "Generate a random pet fact and send it to me via email."), a.Prompt)
	assert.Equal(t, "You are a cheerful assistant who loves animals.", a.SystemPrompt)
	assert.Equal(t, "claude-3-5-sonnet-latest", a.Model)
	assert.Equal(t, "default", a.Bundle)
	assert.Empty(t, a.RAG, "null")
	assert.Equal(t, "pet-facts", a.Slug)
	assert.Equal(t, map[string]string{"name": "Ada"}, a.Vars)
	assert.False(t, a.Public, "the fixture's agent is private")
	assert.Equal(t, []string{"https://mcp.example.com/sse"}, a.MCPServers)
	assert.Equal(t, []string{"memory_fetch", "memory_store", "send_email", "web_search"}, a.Tools)
	assert.Equal(t, "approved", a.UserFeedback)
	assert.Equal(t, seedChatID, a.OriginalChatID)
	assert.Equal(t, 12, a.CountRuns)
	assert.Equal(t, seedCreated, a.CreatedAt.Time)
	assert.Equal(t, time.Date(2025, 1, 16, 8, 0, 0, 0, time.UTC), a.UpdatedAt.Time)
	assert.JSONEq(t, fixture(t, "agent.json"), string(a.Raw), "Raw is the agent object, without any wrapper")
}

// wantPlatformCall checks that h sent one request, method path, with what
// every platform call carries, and returns it.
func wantPlatformCall(t *testing.T, h *harness, method, path string, withBody bool) recorded {
	t.Helper()
	reqs := h.requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, method, r.Method)
	assert.Equal(t, path, r.Path)
	assert.Equal(t, "Bearer "+testKey, r.Header.Get("Authorization"))
	assert.True(t, strings.HasPrefix(r.Header.Get("User-Agent"), "toolhouse-go/"+Version+" "), r.Header.Get("User-Agent"))
	if withBody {
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	} else {
		assert.Empty(t, r.Body)
		assert.Empty(t, r.Header.Get("Content-Type"))
	}
	assert.Empty(t, r.Query)
	return r
}

// bodyFields decodes a request body into its fields.
func bodyFields(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var f map[string]any
	require.NoError(t, json.Unmarshal(body, &f), string(body))
	return f
}

func TestAgentsCreate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params AgentCreateParams
		want   map[string]any // the body's fields, exactly
	}{
		{
			// The server makes an agent public unless told otherwise, so
			// public goes out even when false; nothing else unset does.
			name:   "prompt only",
			params: AgentCreateParams{Prompt: "Tell me a pet fact."},
			want:   map[string]any{"prompt": "Tell me a pet fact.", "public": false},
		},
		{
			name: "every field, as th deploy sends them",
			params: AgentCreateParams{
				ID: agentID, Title: "Pet facts", Prompt: "Tell me a pet fact.", SystemPrompt: "Be cheerful.",
				Model: "claude-3-5-sonnet-latest", Bundle: "default", ToolhouseID: "default", RAG: "pets",
				Vars: map[string]string{"name": "Ada"}, Public: true, MCPServers: []string{"https://mcp.example.com/sse"},
			},
			want: map[string]any{
				"id": agentID, "title": "Pet facts", "prompt": "Tell me a pet fact.", "system_prompt": "Be cheerful.",
				"model": "claude-3-5-sonnet-latest", "bundle": "default", "toolhouse_id": "default", "rag": "pets",
				"vars": map[string]any{"name": "Ada"}, "public": true, "mcp_servers": []any{"https://mcp.example.com/sse"},
			},
		},
		{
			name:   "empty vars and servers are unset",
			params: AgentCreateParams{Prompt: "p", Vars: map[string]string{}, MCPServers: []string{}},
			want:   map[string]any{"prompt": "p", "public": false},
		},
	}
	for _, tt := range tests {
		for shape, body := range agentShapes(t) {
			t.Run(tt.name+"/"+shape, func(t *testing.T) {
				t.Parallel()
				h := newHarness(t)
				h.on("POST", "/v1/agents", reply(200, body))
				a, err := h.c.Agents.Create(context.Background(), tt.params)
				require.NoError(t, err)
				wantFixtureAgent(t, a)

				r := wantPlatformCall(t, h, "POST", "/v1/agents", true)
				assert.Equal(t, tt.want, bodyFields(t, r.Body))
			})
		}
	}
}

func TestAgentsCreateIsSentOnce(t *testing.T) {
	t.Parallel()
	t.Run("not after a 500: the agent may exist", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.on("POST", "/v1/agents", reply(500, `{"detail":"Internal server error"}`), reply(200, fixture(t, "agent.json")))
		_, err := h.c.Agents.Create(context.Background(), AgentCreateParams{Prompt: "p"})
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, 500, apiErr.StatusCode)
		assert.Len(t, h.requests(), 1)
		assert.Empty(t, h.sleeps())
	})
	t.Run("again after a 429: nothing was done", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.on("POST", "/v1/agents", reply(429, `{"detail":"slow down"}`, "Retry-After", "2"), reply(200, fixture(t, "agent.json")))
		a, err := h.c.Agents.Create(context.Background(), AgentCreateParams{Prompt: "p"})
		require.NoError(t, err)
		assert.Equal(t, agentID, a.ID)
		assert.Equal(t, []string{`POST /v1/agents {"prompt":"p","public":false}`, `POST /v1/agents {"prompt":"p","public":false}`}, h.calls())
		assert.Equal(t, []time.Duration{2 * time.Second}, h.sleeps())
	})
}

func TestAgentsCreateErrors(t *testing.T) {
	t.Parallel()
	t.Run("missing prompt", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.on("POST", "/v1/agents", reply(400, `{"detail":"missing prompt"}`))
		_, err := h.c.Agents.Create(context.Background(), AgentCreateParams{Title: "t"})
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, 400, apiErr.StatusCode)
		assert.Equal(t, "missing prompt", apiErr.Message)
		assert.Contains(t, err.Error(), "POST "+testBase+"/v1/agents: 400 Bad Request: missing prompt")
	})
	t.Run("validation", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.on("POST", "/v1/agents", reply(422,
			`{"detail":[{"loc":["body","id"],"msg":"Input should be a valid UUID","type":"uuid_parsing"}]}`))
		_, err := h.c.Agents.Create(context.Background(), AgentCreateParams{ID: "pet-facts", Prompt: "p"})
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, 422, apiErr.StatusCode)
		assert.Equal(t, "body.id: Input should be a valid UUID", apiErr.Message)
		assert.Len(t, h.requests(), 1, "a 422 is not retried")
	})
}

func TestAgentsGet(t *testing.T) {
	t.Parallel()
	for shape, body := range agentShapes(t) {
		t.Run(shape, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.on("GET", agentPath, reply(200, body))
			a, err := h.c.Agents.Get(context.Background(), agentID)
			require.NoError(t, err)
			wantFixtureAgent(t, a)

			wantPlatformCall(t, h, "GET", agentPath, false)
		})
	}
}

func TestAgentsGetErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   int
		body     string
		message  string
		notFound bool
	}{
		{"unknown agent", 404, `{"detail":"Agent not found"}`, "Agent not found", true},
		{"someone else's agent", 403, `{"detail":"You don't have permission to access this chat"}`,
			"You don't have permission to access this chat", false},
		{"validation", 422, `{"detail":[{"loc":["path","chat_id"],"msg":"Field required","type":"missing"}]}`,
			"path.chat_id: Field required", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.on("GET", agentPath, reply(tt.status, tt.body))
			a, err := h.c.Agents.Get(context.Background(), agentID)
			assert.Nil(t, a)
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.status, apiErr.StatusCode)
			assert.Equal(t, tt.message, apiErr.Message)
			assert.Equal(t, tt.notFound, errors.Is(err, ErrNotFound))
			assert.Len(t, h.requests(), 1, "a 4xx is not retried")
		})
	}
}

func TestAgentsAnswerWithoutAnAgent(t *testing.T) {
	t.Parallel()
	for _, body := range []string{``, `{}`, `{"data":null}`, `{"data":{}}`, `null`} {
		t.Run(body, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.on("GET", agentPath, reply(200, body))
			a, err := h.c.Agents.Get(context.Background(), agentID)
			assert.Nil(t, a)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "GET /v1/agents/"+agentID+": the response holds no agent")
		})
	}
	t.Run("not JSON", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.on("GET", agentPath, reply(200, `<html><title>Maintenance</title></html>`))
		_, err := h.c.Agents.Get(context.Background(), agentID)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "decoding the 200 response: response is not JSON: Maintenance")
	})
}

func TestAgentPublicDefaultsToTrue(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]bool{
		`{"id":"a","user_id":"u"}`:                true, // the export's default
		`{"id":"a","user_id":"u","public":null}`:  true,
		`{"id":"a","user_id":"u","public":false}`: false,
		`{"id":"a","user_id":"u","public":true}`:  true,
	} {
		var a Agent
		require.NoError(t, json.Unmarshal([]byte(body), &a), body)
		assert.Equal(t, want, a.Public, body)
		assert.Equal(t, body, string(a.Raw))
	}
	var a Agent
	assert.Error(t, json.Unmarshal([]byte(`{"id":"a","public":"yes"}`), &a), "a wrong type is an error, not a guess")
}

func TestAgentsList(t *testing.T) {
	t.Parallel()
	bare := `[` + fixture(t, "agent.json") + `, {"id":"b0e1","user_id":"665618fbdeadd84260aa","title":"Bird facts"}]`
	for shape, body := range map[string]string{"bare": bare, "wrapped": `{"data":` + bare + `}`} {
		t.Run(shape, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.on("GET", "/v1/agents", reply(200, body))
			agents, err := h.c.Agents.List(context.Background())
			require.NoError(t, err)
			require.Len(t, agents, 2)
			wantFixtureAgent(t, agents[0])
			assert.Equal(t, "b0e1", agents[1].ID)
			assert.Equal(t, "Bird facts", agents[1].Title)
			assert.True(t, agents[1].Public, "left out: the server's default")

			wantPlatformCall(t, h, "GET", "/v1/agents", false)
		})
	}
	for _, body := range []string{`[]`, `{"data":[]}`} {
		t.Run("none "+body, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.on("GET", "/v1/agents", reply(200, body))
			agents, err := h.c.Agents.List(context.Background())
			require.NoError(t, err)
			assert.Empty(t, agents)
		})
	}
	t.Run("retried after a 502", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.on("GET", "/v1/agents", reply(502, `<html><title>502 Bad Gateway</title></html>`), reply(200, `[]`))
		_, err := h.c.Agents.List(context.Background())
		require.NoError(t, err)
		assert.Len(t, h.requests(), 2)
	})
}

func TestAgentsUpdate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params AgentUpdateParams
		want   map[string]any
	}{
		{"one field", AgentUpdateParams{Model: String("claude-3-7-sonnet-latest")},
			map[string]any{"model": "claude-3-7-sonnet-latest"}},
		{"made private", AgentUpdateParams{Public: Bool(false)}, map[string]any{"public": false}},
		{"cleared", AgentUpdateParams{RAG: String(""), Vars: map[string]string{}, MCPServers: []string{}},
			map[string]any{"rag": "", "vars": map[string]any{}, "mcp_servers": []any{}}},
		{"every field", AgentUpdateParams{
			Title: String("t"), Prompt: String("p"), SystemPrompt: String("s"), Model: String("m"), Bundle: String("b"),
			ToolhouseID: String("th"), RAG: String("r"), Vars: map[string]string{"k": "v"}, Public: Bool(true),
			MCPServers: []string{"https://mcp.example.com/sse"},
		}, map[string]any{
			"title": "t", "prompt": "p", "system_prompt": "s", "model": "m", "bundle": "b", "toolhouse_id": "th",
			"rag": "r", "vars": map[string]any{"k": "v"}, "public": true, "mcp_servers": []any{"https://mcp.example.com/sse"},
		}},
	}
	for _, tt := range tests {
		for shape, body := range agentShapes(t) {
			t.Run(tt.name+"/"+shape, func(t *testing.T) {
				t.Parallel()
				h := newHarness(t)
				h.on("PATCH", agentPath, reply(200, body))
				a, err := h.c.Agents.Update(context.Background(), agentID, tt.params)
				require.NoError(t, err)
				wantFixtureAgent(t, a)

				r := wantPlatformCall(t, h, "PATCH", agentPath, true)
				assert.Equal(t, tt.want, bodyFields(t, r.Body))
			})
		}
	}
}

func TestAgentsUpdateIsRetried(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("PATCH", agentPath, reply(500, `{"detail":"Internal server error"}`), reply(503, ``), reply(200, fixture(t, "agent.json")))
	a, err := h.c.Agents.Update(context.Background(), agentID, AgentUpdateParams{Title: String("Pet facts")})
	require.NoError(t, err)
	assert.Equal(t, agentID, a.ID)
	want := `PATCH ` + agentPath + ` {"title":"Pet facts"}`
	assert.Equal(t, []string{want, want, want}, h.calls(), "each try sends the whole body again")
	assert.Len(t, h.sleeps(), 2)
}

func TestAgentsUpdateErrors(t *testing.T) {
	t.Parallel()
	t.Run("nothing to change", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		_, err := h.c.Agents.Update(context.Background(), agentID, AgentUpdateParams{})
		var argErr *ArgumentError
		require.ErrorAs(t, err, &argErr)
		assert.Equal(t, "p", argErr.Arg)
		assert.Empty(t, h.requests())
	})
	t.Run("unknown agent", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.on("PATCH", agentPath, reply(404, `{"detail":"Agent not found"}`))
		_, err := h.c.Agents.Update(context.Background(), agentID, AgentUpdateParams{Title: String("t")})
		assert.ErrorIs(t, err, ErrNotFound)
		assert.Len(t, h.requests(), 1)
	})
	t.Run("validation", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.on("PATCH", agentPath, reply(422,
			`{"detail":[{"loc":["body","public"],"msg":"Input should be a valid boolean","type":"bool_parsing"}]}`))
		_, err := h.c.Agents.Update(context.Background(), agentID, AgentUpdateParams{Public: Bool(true)})
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, 422, apiErr.StatusCode)
		assert.Equal(t, "body.public: Input should be a valid boolean", apiErr.Message)
	})
}

func TestAgentsDelete(t *testing.T) {
	t.Parallel()
	for shape, body := range agentShapes(t) {
		t.Run(shape, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			// The export answers with the deleted agent, which Delete drops.
			h.on("DELETE", agentPath, reply(200, body))
			require.NoError(t, h.c.Agents.Delete(context.Background(), agentID))

			wantPlatformCall(t, h, "DELETE", agentPath, false)
		})
	}
	t.Run("unknown agent", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.on("DELETE", agentPath, reply(404, `{"detail":"Agent not found"}`))
		err := h.c.Agents.Delete(context.Background(), agentID)
		assert.ErrorIs(t, err, ErrNotFound)
	})
	t.Run("validation", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.on("DELETE", agentPath, reply(422, `{"detail":[{"loc":["path","chat_id"],"msg":"Input should be a valid UUID","type":"uuid_parsing"}]}`))
		err := h.c.Agents.Delete(context.Background(), agentID)
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, "path.chat_id: Input should be a valid UUID", apiErr.Message)
		assert.NotErrorIs(t, err, ErrNotFound)
	})
	t.Run("retried after a 503", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.on("DELETE", agentPath, reply(503, ``), reply(200, `{}`))
		require.NoError(t, h.c.Agents.Delete(context.Background(), agentID))
		assert.Len(t, h.requests(), 2)
	})
}

func TestAgentsIDIsOnePathSegment(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("GET", testBase+"/v1/agents/pet%20facts%3F", reply(200, `{"id":"pet facts?","user_id":"u"}`))
	a, err := h.c.Agents.Get(context.Background(), "pet facts?")
	require.NoError(t, err)
	assert.Equal(t, "pet facts?", a.ID)
	reqs := h.requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "/v1/agents/pet%20facts%3F", reqs[0].Path)
	assert.Empty(t, reqs[0].Query)
}

func TestAgentsRefuseBadArguments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	a := h.c.Agents
	methods := map[string]func(id string) error{
		"Get": func(id string) error { _, err := a.Get(ctx, id); return err },
		"Update": func(id string) error {
			_, err := a.Update(ctx, id, AgentUpdateParams{Title: String("t")})
			return err
		},
		"Delete": func(id string) error { return a.Delete(ctx, id) },
		"Create": func(id string) error {
			_, err := a.Create(ctx, AgentCreateParams{ID: id, Prompt: "p"})
			return err
		},
	}
	for name, call := range methods {
		wantArg := "id"
		if name == "Create" {
			wantArg = "p.ID"
		}
		for _, id := range []string{" ", "a/b", `a\b`, "..", ".", "a\nb"} {
			err := call(id)
			var argErr *ArgumentError
			if assert.ErrorAs(t, err, &argErr, "%s(%q)", name, id) {
				assert.Equal(t, wantArg, argErr.Arg, "%s(%q)", name, id)
			}
		}
		if name != "Create" {
			var argErr *ArgumentError
			assert.ErrorAs(t, call(""), &argErr, "%s with an empty ID", name)
		}
	}
	assert.Empty(t, h.requests(), "nothing is sent for a bad argument")
}
