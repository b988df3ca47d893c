package toolhousetest

import (
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixtureAgent is the SDK's AgentModel fixture, the export's shape with
// every field filled.
func fixtureAgent(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "platform", "agent.json"))
	require.NoError(t, err)
	var v map[string]any
	require.NoError(t, json.Unmarshal(b, &v))
	return v
}

// thDeploy is the body `th deploy` sends for the fixture's agent: every
// AgentRequest field, the unset ones as null.
func thDeploy(fixture map[string]any, id string) map[string]any {
	return map[string]any{
		"id": id, "title": fixture["title"], "prompt": fixture["prompt"], "vars": fixture["vars"],
		"bundle": nil, "public": false, "toolhouse_id": nil, "rag": nil,
		"system_prompt": fixture["system_prompt"], "model": fixture["model"], "mcp_servers": fixture["mcp_servers"],
	}
}

func TestAgentDeployWireShape(t *testing.T) {
	t.Parallel()
	clk := newClock()
	srv, _ := start(t, WithClock(clk.Now))
	fixture := fixtureAgent(t)
	id := "0B8E1C7E-5D2A-4F8E-9C3B-7A1D2E3F4A5B"

	resp := call(t, srv, http.MethodPost, srv.BaseURL()+"/v1/agents", srv.APIKey(), thDeploy(fixture, id))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	got := decode[map[string]any](t, resp)
	stamp := "2025-01-15T01:46:23.000000"
	want := map[string]any{
		"id": strings.ToLower(id), "prompt": fixture["prompt"], "vars": map[string]any{"name": "Ada"},
		"original_chat_id": nil, "title": "Pet facts", "history": []any{}, "public": false,
		"bundle": "default", "rag": nil, "system_prompt": "You are a cheerful assistant who loves animals.",
		"model": "claude-3-5-sonnet-latest", "mcp_servers": []any{"https://mcp.example.com/sse"},
		"tools": []any{}, "slug": nil, "price_in_cents": nil, "trial_period_in_days": nil,
		"upsell_description": nil, "count_runs": float64(0), "user_id": UserID,
		"created_at": stamp, "updated_at": stamp, "user_feedback": "pending",
	}
	assert.Equal(t, want, got, "the bare AgentModel, as the export answers")
	assert.Equal(t, slices.Sorted(maps.Keys(fixture)), slices.Sorted(maps.Keys(got)),
		"exactly the fields of the export's AgentModel")

	// GET answers the same object; the list holds the demo agent, then it.
	resp = call(t, srv, http.MethodGet, srv.BaseURL()+"/v1/agents/"+id, srv.APIKey(), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, want, decode[map[string]any](t, resp))
	resp = call(t, srv, http.MethodGet, srv.BaseURL()+"/v1/agents", srv.APIKey(), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	list := decode[[]map[string]any](t, resp)
	require.Len(t, list, 2)
	assert.Equal(t, DemoAgentID, list[0]["id"])
	assert.Equal(t, want, list[1])
}

func TestAgentsWrapped(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, WithWrappedAgents())
	resp := call(t, srv, http.MethodPost, srv.BaseURL()+"/v1/agents", srv.APIKey(), map[string]any{"prompt": "Hi"})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	created := decode[struct {
		Data map[string]any `json:"data"`
	}](t, resp).Data
	require.NotNil(t, created)
	assert.True(t, isUUID(created["id"].(string)), "the server picks a UUID")
	assert.Equal(t, true, created["public"], "public unless told otherwise")
	assert.Equal(t, "Hi", created["prompt"])

	resp = call(t, srv, http.MethodGet, srv.BaseURL()+"/v1/agents", srv.APIKey(), nil)
	list := decode[struct {
		Data []map[string]any `json:"data"`
	}](t, resp).Data
	require.Len(t, list, 2)
	assert.Equal(t, created, list[1])

	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/v1/agents/" + DemoAgentID},
		{http.MethodPatch, "/v1/agents/" + DemoAgentID},
		{http.MethodPost, "/v1/agents/" + DemoAgentID + "/feedback"},
		{http.MethodDelete, "/v1/agents/" + DemoAgentID},
	} {
		body := map[string]any{"title": "Hearts", "user_feedback": "approved"}
		if tc.method == http.MethodGet || tc.method == http.MethodDelete {
			body = nil
		}
		resp := call(t, srv, tc.method, srv.BaseURL()+tc.path, srv.APIKey(), body)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s %s", tc.method, tc.path)
		got := decode[map[string]map[string]any](t, resp)
		assert.Equal(t, DemoAgentID, got["data"]["id"], "%s %s", tc.method, tc.path)
	}
	// Errors keep FastAPI's shape.
	resp = call(t, srv, http.MethodGet, srv.BaseURL()+"/v1/agents/"+DemoAgentID, srv.APIKey(), nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.JSONEq(t, `{"detail":"Agent not found"}`, string(readBody(t, resp)))
}

func TestRegisteredAgentsAreListed(t *testing.T) {
	t.Parallel()
	weather := Agent{ID: "7C9E6679-7425-40DE-944B-E07FC1F90AE7", Title: "Weather", Private: true,
		DefaultMessage: "What's the weather in Rome?",
		Turns:          []Turn{{CallTool("get_weather", nil, "sunny"), CallTool("get_forecast", nil, "rain"), CallTool("get_weather", nil, "sunny")}}}
	bare := Agent{ID: "0b8e1c7e-5d2a-4f8e-9c3b-7a1d2e3f4a5b"}
	srv, _ := start(t, WithAgent(weather), WithAgent(Agent{ID: "not-a-uuid"}), WithAgent(bare))
	resp := call(t, srv, http.MethodGet, srv.BaseURL()+"/v1/agents", srv.APIKey(), nil)
	list := decode[[]map[string]any](t, resp)
	require.Len(t, list, 3, "an agent whose ID is not a UUID is a worker only")
	var ids []any
	for _, a := range list {
		ids = append(ids, a["id"])
	}
	assert.Equal(t, []any{DemoAgentID, "7c9e6679-7425-40de-944b-e07fc1f90ae7", bare.ID}, ids, "the demo, then the options' order")

	demo := list[0]
	assert.Equal(t, "Bird hearts", demo["title"])
	assert.Equal(t, true, demo["public"])
	assert.Equal(t, "Find a fun fact about bird hearts and chart their heart rates.", demo["prompt"])
	assert.Equal(t, []any{"code_interpreter", "web_search"}, demo["tools"], "the tools its script calls")

	assert.Equal(t, "Weather", list[1]["title"])
	assert.Equal(t, false, list[1]["public"], "a private agent")
	assert.Equal(t, weather.DefaultMessage, list[1]["prompt"])
	assert.Equal(t, []any{"get_forecast", "get_weather"}, list[1]["tools"])

	assert.Nil(t, list[2]["title"], "unset fields are null")
	assert.Nil(t, list[2]["prompt"])
	assert.Equal(t, []any{}, list[2]["tools"])
}

func TestAgentReplaceAndPatch(t *testing.T) {
	t.Parallel()
	clk := newClock()
	srv, _ := start(t, WithClock(clk.Now))
	id := newID()
	post := func(body map[string]any) map[string]any {
		t.Helper()
		resp := call(t, srv, http.MethodPost, srv.BaseURL()+"/v1/agents", srv.APIKey(), body)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		return decode[map[string]any](t, resp)
	}
	first := post(map[string]any{"id": id, "title": "One", "prompt": "first", "model": "m1", "rag": "docs",
		"vars": map[string]string{"a": "1"}, "mcp_servers": []string{"https://mcp.example.com/sse"}})

	// A run counts; a second deploy with the ID replaces every field but
	// the creation time and the count.
	resp := call(t, srv, http.MethodPost, srv.AgentsURL()+"/"+id, srv.APIKey(), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	readBody(t, resp)
	clk.Advance(90 * time.Second)
	second := post(map[string]any{"id": id, "prompt": "second", "public": true})
	assert.Equal(t, first["created_at"], second["created_at"])
	assert.Equal(t, "2025-01-15T01:47:53.000000", second["updated_at"])
	assert.Equal(t, float64(1), second["count_runs"])
	assert.Equal(t, "second", second["prompt"])
	for _, field := range []string{"title", "model", "rag", "vars", "mcp_servers"} {
		assert.Nil(t, second[field], "%s is replaced, not kept", field)
	}
	resp = call(t, srv, http.MethodGet, srv.BaseURL()+"/v1/agents", srv.APIKey(), nil)
	assert.Len(t, decode[[]any](t, resp), 2, "replaced, not added")

	// PATCH changes what the body holds; null clears a field.
	resp = call(t, srv, http.MethodPatch, srv.BaseURL()+"/v1/agents/"+id, srv.APIKey(),
		map[string]any{"title": "Two", "vars": map[string]string{"b": "2"}, "public": false, "id": newID(), "unknown": 1})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	patched := decode[map[string]any](t, resp)
	assert.Equal(t, id, patched["id"], "the ID cannot change")
	assert.Equal(t, "Two", patched["title"])
	assert.Equal(t, "second", patched["prompt"])
	assert.Equal(t, map[string]any{"b": "2"}, patched["vars"])
	assert.Equal(t, false, patched["public"])
	resp = call(t, srv, http.MethodPatch, srv.BaseURL()+"/v1/agents/"+id, srv.APIKey(), map[string]any{"title": nil})
	assert.Nil(t, decode[map[string]any](t, resp)["title"])

	// PUT replaces an agent that exists, and only that.
	resp = call(t, srv, http.MethodPut, srv.BaseURL()+"/v1/agents/"+id, srv.APIKey(), map[string]any{"prompt": "third"})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	put := decode[map[string]any](t, resp)
	assert.Equal(t, "third", put["prompt"])
	assert.Equal(t, true, put["public"])
	resp = call(t, srv, http.MethodPut, srv.BaseURL()+"/v1/agents/"+newID(), srv.APIKey(), map[string]any{"prompt": "x"})
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	// Feedback, as th deploy sends it after the POST.
	resp = call(t, srv, http.MethodPost, srv.BaseURL()+"/v1/agents/"+id+"/feedback", srv.APIKey(),
		map[string]any{"user_feedback": "approved"})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "approved", decode[map[string]any](t, resp)["user_feedback"])
}

func TestAgentDeleteEndsTheWorker(t *testing.T) {
	t.Parallel()
	srv, _ := start(t)
	resp := call(t, srv, http.MethodDelete, srv.BaseURL()+"/v1/agents/"+DemoAgentID, srv.APIKey(), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "Bird hearts", decode[map[string]any](t, resp)["title"], "the agent as it was")

	resp = call(t, srv, http.MethodPost, srv.AgentsURL()+"/"+DemoAgentID, "", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.JSONEq(t, `{"error":"Agent not found"}`, string(readBody(t, resp)))
	resp = call(t, srv, http.MethodPost, srv.BaseURL()+"/v1/agent-runs", srv.APIKey(), map[string]any{"chat_id": DemoAgentID})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "no longer a chat")
	resp = call(t, srv, http.MethodGet, srv.BaseURL()+"/v1/agents", srv.APIKey(), nil)
	assert.Equal(t, "[]", string(readBody(t, resp)))
}

func TestAgentErrors(t *testing.T) {
	t.Parallel()
	srv, _ := start(t)
	unknown := newID()
	for _, tc := range []struct {
		name, method, path, key string
		body                    any
		status                  int
		want                    string // the whole body, or the first 422 entry's type
	}{
		{"no key", http.MethodGet, "/v1/agents", "", nil, 401, `{"detail":"Not authenticated"}`},
		{"wrong key", http.MethodPost, "/v1/agents", "th-wrong", map[string]any{"prompt": "x"}, 401, `{"detail":"Invalid API key"}`},
		{"get unknown", http.MethodGet, "/v1/agents/" + unknown, srv.APIKey(), nil, 404, `{"detail":"Agent not found"}`},
		{"patch unknown", http.MethodPatch, "/v1/agents/" + unknown, srv.APIKey(), map[string]any{"title": "x"}, 404, `{"detail":"Agent not found"}`},
		{"delete unknown", http.MethodDelete, "/v1/agents/" + unknown, srv.APIKey(), nil, 404, `{"detail":"Agent not found"}`},
		{"feedback unknown", http.MethodPost, "/v1/agents/" + unknown + "/feedback", srv.APIKey(), map[string]any{"user_feedback": "approved"}, 404, `{"detail":"Agent not found"}`},
		{"no prompt", http.MethodPost, "/v1/agents", srv.APIKey(), map[string]any{"title": "x"}, 400, `{"detail":"missing prompt"}`},
		{"null prompt", http.MethodPost, "/v1/agents", srv.APIKey(), map[string]any{"prompt": nil}, 400, `{"detail":"missing prompt"}`},
		{"empty prompt", http.MethodPost, "/v1/agents", srv.APIKey(), map[string]any{"prompt": " "}, 400, `{"detail":"missing prompt"}`},
		{"patch empty prompt", http.MethodPatch, "/v1/agents/" + DemoAgentID, srv.APIKey(), map[string]any{"prompt": ""}, 400, `{"detail":"missing prompt"}`},
		{"get bad ID", http.MethodGet, "/v1/agents/my-agent", srv.APIKey(), nil, 422, "uuid_parsing"},
		{"delete bad ID", http.MethodDelete, "/v1/agents/my-agent", srv.APIKey(), nil, 422, "uuid_parsing"},
		{"body bad ID", http.MethodPost, "/v1/agents", srv.APIKey(), map[string]any{"id": "my-agent", "prompt": "x"}, 422, "uuid_parsing"},
		{"title a number", http.MethodPost, "/v1/agents", srv.APIKey(), map[string]any{"title": 7, "prompt": "x"}, 422, "string_type"},
		{"public a string", http.MethodPatch, "/v1/agents/" + DemoAgentID, srv.APIKey(), map[string]any{"public": "yes"}, 422, "bool_parsing"},
		{"mcp_servers a string", http.MethodPost, "/v1/agents", srv.APIKey(), map[string]any{"prompt": "x", "mcp_servers": "s"}, 422, "list_type"},
		{"vars not strings", http.MethodPost, "/v1/agents", srv.APIKey(), map[string]any{"prompt": "x", "vars": map[string]int{"a": 1}}, 422, "dict_type"},
		{"feedback unknown value", http.MethodPost, "/v1/agents/" + DemoAgentID + "/feedback", srv.APIKey(), map[string]any{"user_feedback": "great"}, 422, "enum"},
		{"feedback missing", http.MethodPost, "/v1/agents/" + DemoAgentID + "/feedback", srv.APIKey(), map[string]any{}, 422, "missing"},
		{"no body", http.MethodPost, "/v1/agents", srv.APIKey(), nil, 422, "missing"},
		{"method", http.MethodPut, "/v1/agents", "", nil, 405, `{"detail":"Method Not Allowed"}`},
		{"feedback GET", http.MethodGet, "/v1/agents/" + DemoAgentID + "/feedback", "", nil, 405, `{"detail":"Method Not Allowed"}`},
		{"deeper", http.MethodGet, "/v1/agents/" + DemoAgentID + "/history", "", nil, 404, `{"detail":"Not Found"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := call(t, srv, tc.method, srv.BaseURL()+tc.path, tc.key, tc.body)
			require.Equal(t, tc.status, resp.StatusCode)
			if tc.status != http.StatusUnprocessableEntity {
				assert.JSONEq(t, tc.want, string(readBody(t, resp)))
				return
			}
			assert.Equal(t, tc.want, validationErrors(t, resp)[0].Type)
		})
	}
	resp := call(t, srv, http.MethodGet, srv.BaseURL()+"/v1/agents/my-agent", srv.APIKey(), nil)
	assert.JSONEq(t, `{"detail":[{"type":"uuid_parsing","loc":["path","chat_id"],`+
		`"msg":"Input should be a valid UUID, invalid length or character","input":"my-agent"}]}`, string(readBody(t, resp)))

	// Nothing above changed the demo agent.
	resp = call(t, srv, http.MethodGet, srv.BaseURL()+"/v1/agents/"+DemoAgentID, srv.APIKey(), nil)
	demo := decode[map[string]any](t, resp)
	assert.Equal(t, "Bird hearts", demo["title"])
	assert.Equal(t, "pending", demo["user_feedback"])
}
