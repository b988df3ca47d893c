package toolhouse

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"net/http"
)

// AgentsService deploys and manages agents (v1/agents): the calls `th
// deploy` makes. An agent's ID is the agent ID of the Workers API, and it
// is also accepted as the chat ID of agent runs and schedules.
type AgentsService service

// Agent is a deployed agent.
type Agent struct {
	ID             string            `json:"id"`
	UserID         string            `json:"user_id"`
	Title          string            `json:"title"`
	Prompt         string            `json:"prompt"`
	SystemPrompt   string            `json:"system_prompt"`
	Model          string            `json:"model"`
	Bundle         string            `json:"bundle"`
	ToolhouseID    string            `json:"toolhouse_id"`
	RAG            string            `json:"rag"`
	Slug           string            `json:"slug"`
	Vars           map[string]string `json:"vars"`
	Public         bool              `json:"public"` // true when the server leaves it out or sends null, as it defaults to public
	MCPServers     []string          `json:"mcp_servers"`
	Tools          []string          `json:"tools"`         // slugs of the tools the agent may call
	UserFeedback   string            `json:"user_feedback"` // "approved", "rejected" or "pending"
	OriginalChatID string            `json:"original_chat_id"`
	CountRuns      int               `json:"count_runs"`
	CreatedAt      Timestamp         `json:"created_at"`
	UpdatedAt      Timestamp         `json:"updated_at"`
	// Raw is the agent as received, for the fields this type leaves out
	// (history, pricing).
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes an agent, public unless the server says otherwise.
func (a *Agent) UnmarshalJSON(b []byte) error {
	type plain Agent // without this method
	p := plain{Public: true}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*a = Agent(p)
	a.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// AgentCreateParams deploys an agent. The server requires a prompt.
// Empty optional fields are not sent, so the server's defaults apply,
// except Public: it is always sent, because the server makes an agent
// public unless told otherwise.
type AgentCreateParams struct {
	// ID is the agent's ID, a UUID. Leave it empty to have the server
	// choose one; give it to replace the agent that has it (the ID of an
	// agent file deployed again).
	ID           string            `json:"id,omitempty"`
	Title        string            `json:"title,omitempty"`
	Prompt       string            `json:"prompt,omitempty"`
	SystemPrompt string            `json:"system_prompt,omitempty"`
	Model        string            `json:"model,omitempty"`
	Bundle       string            `json:"bundle,omitempty"`
	ToolhouseID  string            `json:"toolhouse_id,omitempty"`
	RAG          string            `json:"rag,omitempty"`
	Vars         map[string]string `json:"vars,omitempty"`
	Public       bool              `json:"public"` // false: only the owner's key may run the agent
	MCPServers   []string          `json:"mcp_servers,omitempty"`
}

// AgentUpdateParams changes an agent. Only the fields that are set are
// sent: nil pointers, a nil Vars map and a nil MCPServers slice are left
// out, while a non-nil empty map or slice clears them. Use String and Bool
// to fill the pointers.
type AgentUpdateParams struct {
	Title        *string
	Prompt       *string
	SystemPrompt *string
	Model        *string
	Bundle       *string
	ToolhouseID  *string
	RAG          *string
	Vars         map[string]string
	Public       *bool
	MCPServers   []string
}

// fields returns the JSON object of the set fields.
func (p AgentUpdateParams) fields() map[string]any {
	f := make(map[string]any, 10)
	for name, v := range map[string]*string{
		"title": p.Title, "prompt": p.Prompt, "system_prompt": p.SystemPrompt, "model": p.Model,
		"bundle": p.Bundle, "toolhouse_id": p.ToolhouseID, "rag": p.RAG,
	} {
		if v != nil {
			f[name] = *v
		}
	}
	if p.Vars != nil {
		f["vars"] = p.Vars
	}
	if p.Public != nil {
		f["public"] = *p.Public
	}
	if p.MCPServers != nil {
		f["mcp_servers"] = p.MCPServers
	}
	return f
}

// List returns the caller's agents (GET v1/agents).
func (s *AgentsService) List(ctx context.Context) ([]*Agent, error) {
	var out dataOrBare[[]*Agent]
	_, err := s.client.do(ctx, endpoint{
		method: http.MethodGet, platform: true, path: []string{"v1", "agents"}, replay: idempotent,
	}, &out)
	if err != nil {
		return nil, err
	}
	return out.v, nil
}

// Get returns an agent (GET v1/agents/{id}). An unknown agent is an error
// matching ErrNotFound.
func (s *AgentsService) Get(ctx context.Context, id string) (*Agent, error) {
	if err := cmp.Or(checkContext(ctx), checkID("id", id)); err != nil {
		return nil, err
	}
	return s.agent(ctx, endpoint{method: http.MethodGet, path: []string{"v1", "agents", id}, replay: idempotent})
}

// Create deploys an agent (POST v1/agents) and returns it with the ID the
// server gave it. The call creates the agent, or replaces the agent that
// has p.ID when there is one: deploying an agent file again updates it in
// place. It is not retried after a server error.
func (s *AgentsService) Create(ctx context.Context, p AgentCreateParams) (*Agent, error) {
	if err := checkContext(ctx); err != nil {
		return nil, err
	}
	if p.ID != "" {
		if err := checkID("p.ID", p.ID); err != nil {
			return nil, err
		}
	}
	return s.agent(ctx, endpoint{method: http.MethodPost, path: []string{"v1", "agents"}, body: p, replay: once})
}

// Update changes the fields of p that are set (PATCH v1/agents/{id}) and
// returns the agent as changed. Setting fields is idempotent, so Update is
// retried like a GET.
func (s *AgentsService) Update(ctx context.Context, id string, p AgentUpdateParams) (*Agent, error) {
	if err := cmp.Or(checkContext(ctx), checkID("id", id)); err != nil {
		return nil, err
	}
	fields := p.fields()
	if len(fields) == 0 {
		return nil, &ArgumentError{Arg: "p", Reason: "sets no field to change"}
	}
	return s.agent(ctx, endpoint{method: http.MethodPatch, path: []string{"v1", "agents", id}, body: fields, replay: idempotent})
}

// Delete removes an agent (DELETE v1/agents/{id}); the Workers API no
// longer runs it. An unknown agent is an error matching ErrNotFound.
func (s *AgentsService) Delete(ctx context.Context, id string) error {
	if err := cmp.Or(checkContext(ctx), checkID("id", id)); err != nil {
		return err
	}
	_, err := s.client.do(ctx, endpoint{
		method: http.MethodDelete, platform: true, path: []string{"v1", "agents", id}, replay: idempotent,
	}, nil)
	return err
}

// agent sends a platform call whose answer is one agent. A 2xx answer
// without one is an error, never a nil agent with a nil error.
func (s *AgentsService) agent(ctx context.Context, e endpoint) (*Agent, error) {
	e.platform = true
	var out dataOrBare[*Agent]
	if _, err := s.client.do(ctx, e, &out); err != nil {
		return nil, err
	}
	if out.v == nil || out.v.ID == "" {
		return nil, s.client.noObject(e, "the response holds no agent")
	}
	return out.v, nil
}

// dataOrBare decodes a body that is a T, or a T wrapped in {"data": ...}:
// the OpenAPI export answers the agents calls with the object itself, while
// the rest of the platform API wraps it.
type dataOrBare[T any] struct{ v T }

func (d *dataOrBare[T]) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '{' {
		var env struct {
			Data json.RawMessage `json:"data"`
		}
		if json.Unmarshal(b, &env) == nil && len(env.Data) > 0 {
			b = env.Data
		}
	}
	return json.Unmarshal(b, &d.v)
}
