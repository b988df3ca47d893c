package toolhousetest

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// agentKey is how the server files an agent ID: a UUID in canonical form,
// as the platform reads UUIDs in any case, and any other path segment as
// it is.
func agentKey(id string) string {
	if isUUID(id) {
		return canonUUID(id)
	}
	return id
}

// agentState is an agent as both APIs know it: the worker the Workers API
// plays, and the fields v1/agents keeps beside it. The Server's mutex
// guards it; maps and slices in it are replaced, never changed in place,
// so a view may share them.
type agentState struct {
	worker Agent // ID, Title, DefaultMessage (the prompt), Private (not public), the script
	seq    int   // the listing order
	// made is set for an agent deployed through v1/agents: it has no
	// script and answers from its prompt (promptReply).
	made                                  bool
	createdAt, updatedAt                  string
	systemPrompt, model, rag, toolhouseID string
	bundle                                string
	vars                                  map[string]string
	mcpServers                            []string
	tools                                 []string
	countRuns                             int
	feedback                              string
}

// agentModel is an agent as v1/agents sends it: the AgentModel of the
// platform's OpenAPI export, field for field and in its order. Optional
// fields that are unset are null, as pydantic writes them.
type agentModel struct {
	ID                string            `json:"id"`
	Prompt            *string           `json:"prompt"`
	Vars              map[string]string `json:"vars"`
	OriginalChatID    *string           `json:"original_chat_id"`
	Title             *string           `json:"title"`
	History           []wireMessage     `json:"history"`
	Public            bool              `json:"public"`
	Bundle            string            `json:"bundle"`
	RAG               *string           `json:"rag"`
	SystemPrompt      *string           `json:"system_prompt"`
	Model             *string           `json:"model"`
	MCPServers        []string          `json:"mcp_servers"`
	Tools             []string          `json:"tools"`
	Slug              *string           `json:"slug"`
	PriceInCents      *int              `json:"price_in_cents"`
	TrialPeriodInDays *int              `json:"trial_period_in_days"`
	UpsellDescription *string           `json:"upsell_description"`
	CountRuns         int               `json:"count_runs"`
	UserID            string            `json:"user_id"`
	CreatedAt         string            `json:"created_at"`
	UpdatedAt         string            `json:"updated_at"`
	UserFeedback      string            `json:"user_feedback"`
}

// nullable is s, or null when it is empty.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// view copies the agent for encoding outside the lock.
func (a *agentState) view() agentModel {
	return agentModel{
		ID: canonUUID(a.worker.ID), Prompt: nullable(a.worker.DefaultMessage), Vars: a.vars,
		Title: nullable(a.worker.Title), History: []wireMessage{}, Public: !a.worker.Private,
		Bundle: a.bundle, RAG: nullable(a.rag), SystemPrompt: nullable(a.systemPrompt),
		Model: nullable(a.model), MCPServers: a.mcpServers, Tools: a.tools,
		CountRuns: a.countRuns, UserID: UserID, CreatedAt: a.createdAt, UpdatedAt: a.updatedAt,
		UserFeedback: a.feedback,
	}
}

// registeredAgent is an agent of WithAgent (or the demo agent) as
// v1/agents shows it: its tools are those its script calls.
func registeredAgent(agent Agent, seq int, now string) *agentState {
	tools := []string{}
	for _, turn := range agent.Turns {
		for _, st := range turn {
			if st.kind == stepTool && !slices.Contains(tools, st.tool) {
				tools = append(tools, st.tool)
			}
		}
	}
	slices.Sort(tools)
	return &agentState{worker: agent, seq: seq, createdAt: now, updatedAt: now,
		bundle: "default", tools: tools, feedback: "pending"}
}

// promptReply is how an agent deployed through v1/agents answers, having
// no script: every answer quotes its prompt, then, from the second answer
// of a run on, the user's message before (from the run's history), then
// the message when there is one besides the prompt. So a test sees which
// agent answered, with which prompt, and that the run keeps its history.
func promptReply(prompt string) replyFunc {
	return func(history []wireMessage, message string) Turn {
		turn := Turn{Say("Following my prompt: " + quote(prompt))}
		said := "You said: "
		for _, m := range slices.Backward(history) {
			if before, ok := m.Content.(string); ok && m.Role == "user" {
				turn = append(turn, Say("Before, you said: "+quote(before)))
				said = "Now you say: "
				break
			}
		}
		if strings.TrimSpace(message) != "" && message != prompt {
			turn = append(turn, Say(said+quote(message)))
		}
		return turn
	}
}

// agentChange is the fields an agent request sets: all of them for POST
// and PUT, where an absent field takes its default, and those present for
// PATCH. A null string is an empty one.
type agentChange struct {
	strs       map[string]string // by JSON name: title, prompt, system_prompt, model, rag, toolhouse_id, bundle
	vars       map[string]string
	hasVars    bool
	public     *bool
	mcpServers []string
	hasMCP     bool
}

// agentStrings are the string fields of an AgentRequest.
var agentStrings = []string{"title", "prompt", "system_prompt", "model", "rag", "toolhouse_id", "bundle"}

// agentBody reads the fields of an AgentRequest, collecting FastAPI
// validation errors in b. Fields it does not know are ignored, as pydantic
// does.
func agentBody(b *body) agentChange {
	c := agentChange{strs: map[string]string{}}
	for _, name := range agentStrings {
		if raw, present := b.fields[name]; present {
			var v string
			if string(raw) != "null" && json.Unmarshal(raw, &v) != nil {
				b.fail("string_type", name, "Input should be a valid string", json.RawMessage(raw))
				continue
			}
			c.strs[name] = v
		}
	}
	c.vars, c.hasVars = b.vars("vars")
	if public, set := b.boolean("public"); set {
		c.public = &public
	}
	if raw, present := b.fields["mcp_servers"]; present {
		c.hasMCP = true
		if string(raw) != "null" && json.Unmarshal(raw, &c.mcpServers) != nil {
			b.fail("list_type", "mcp_servers", "Input should be a valid list of strings", json.RawMessage(raw))
		}
	}
	return c
}

// apply sets the changed fields of a.
func (a *agentState) apply(c agentChange) {
	fields := map[string]*string{
		"title": &a.worker.Title, "prompt": &a.worker.DefaultMessage, "system_prompt": &a.systemPrompt,
		"model": &a.model, "rag": &a.rag, "toolhouse_id": &a.toolhouseID, "bundle": &a.bundle,
	}
	for name, v := range c.strs {
		*fields[name] = v
	}
	if a.bundle == "" {
		a.bundle = "default"
	}
	if c.hasVars {
		a.vars = c.vars
	}
	if c.public != nil {
		a.worker.Private = !*c.public
	}
	if c.hasMCP {
		a.mcpServers = c.mcpServers
	}
	if a.made {
		a.worker.reply = promptReply(a.worker.DefaultMessage)
	}
}

// writeAgents writes a v1/agents success: the value itself, as the export
// declares, or {"data": ...} under WithWrappedAgents.
func (s *Server) writeAgents(w http.ResponseWriter, v any) {
	if s.cfg.wrapAgents {
		writeData(w, v)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) writeAgentNotFound(w http.ResponseWriter) {
	writeDetail(w, http.StatusNotFound, "Agent not found")
}

// listAgents answers the agents whose ID is a UUID, oldest first: the
// registered ones, then those deployed through the API.
func (s *Server) listAgents(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	all := slices.SortedFunc(maps.Values(s.agents), func(a, b *agentState) int { return a.seq - b.seq })
	out := make([]agentModel, 0, len(all))
	for _, a := range all {
		if isUUID(a.worker.ID) {
			out = append(out, a.view())
		}
	}
	s.mu.Unlock()
	s.writeAgents(w, out)
}

// listedAgent finds an agent of v1/agents for a handler, answering 422 for
// an ID that is not a UUID and 404 for an unknown agent. On success the
// caller holds s.mu and must unlock it.
func (s *Server) listedAgent(w http.ResponseWriter, id string) (*agentState, bool) {
	if !pathUUID(w, "chat_id", id) {
		return nil, false
	}
	s.mu.Lock()
	a, ok := s.agents[agentKey(id)]
	if !ok {
		s.mu.Unlock()
		s.writeAgentNotFound(w)
		return nil, false
	}
	return a, true
}

func (s *Server) getAgent(w http.ResponseWriter, id string) {
	a, ok := s.listedAgent(w, id)
	if !ok {
		return
	}
	v := a.view()
	s.mu.Unlock()
	s.writeAgents(w, v)
}

// deployAgent answers POST v1/agents: it creates the agent, or replaces the
// one with the body's id (keeping when it was created and its run count),
// as deploying an agent file again does. With pathID set it answers PUT
// v1/agents/{id}, which only replaces.
func (s *Server) deployAgent(w http.ResponseWriter, r *http.Request, pathID string) {
	if pathID != "" && !pathUUID(w, "chat_id", pathID) {
		return
	}
	b, ok := parseBody(w, r)
	if !ok {
		return
	}
	id, hasID := b.uuid("id", false)
	change := agentBody(b)
	if !b.check(w) {
		return
	}
	if strings.TrimSpace(change.strs["prompt"]) == "" {
		writeDetail(w, http.StatusBadRequest, "missing prompt")
		return
	}
	switch {
	case pathID != "":
		id = canonUUID(pathID)
	case !hasID:
		id = newID()
	}
	s.mu.Lock()
	now := s.stamp()
	a := &agentState{worker: Agent{ID: id}, made: true, createdAt: now, feedback: "pending"}
	if old, exists := s.agents[id]; exists {
		a.seq, a.createdAt, a.countRuns = old.seq, old.createdAt, old.countRuns
	} else if pathID != "" {
		s.mu.Unlock()
		s.writeAgentNotFound(w)
		return
	} else {
		s.agentSeq++
		a.seq = s.agentSeq
	}
	a.updatedAt, a.tools = now, []string{}
	if change.public == nil {
		change.public = new(bool)
		*change.public = true // the AgentModel's default
	}
	a.apply(change)
	s.agents[id] = a
	v := a.view()
	s.mu.Unlock()
	s.writeAgents(w, v)
}

// patchAgent changes the fields the body holds; the others stay.
func (s *Server) patchAgent(w http.ResponseWriter, r *http.Request, id string) {
	if !pathUUID(w, "chat_id", id) {
		return
	}
	b, ok := parseBody(w, r)
	if !ok {
		return
	}
	change := agentBody(b)
	if !b.check(w) {
		return
	}
	if prompt, set := change.strs["prompt"]; set && strings.TrimSpace(prompt) == "" {
		writeDetail(w, http.StatusBadRequest, "missing prompt")
		return
	}
	a, ok := s.listedAgent(w, id)
	if !ok {
		return
	}
	a.apply(change)
	a.updatedAt = s.stamp()
	v := a.view()
	s.mu.Unlock()
	s.writeAgents(w, v)
}

// deleteAgent removes an agent and answers it as it was. The Workers API
// no longer knows it, and its ID is no longer a chat ID.
func (s *Server) deleteAgent(w http.ResponseWriter, id string) {
	a, ok := s.listedAgent(w, id)
	if !ok {
		return
	}
	delete(s.agents, agentKey(id))
	v := a.view()
	s.mu.Unlock()
	s.writeAgents(w, v)
}

// agentFeedback records {"user_feedback"}, as th deploy sends after the
// POST, and answers the agent.
func (s *Server) agentFeedback(w http.ResponseWriter, r *http.Request, id string) {
	if !pathUUID(w, "chat_id", id) {
		return
	}
	b, ok := parseBody(w, r)
	if !ok {
		return
	}
	feedback, set := b.str("user_feedback", true)
	if set && feedback != "approved" && feedback != "rejected" && feedback != "pending" {
		b.fail("enum", "user_feedback", "Input should be 'approved', 'rejected' or 'pending'", feedback)
	}
	if !b.check(w) {
		return
	}
	a, ok := s.listedAgent(w, id)
	if !ok {
		return
	}
	a.feedback, a.updatedAt = feedback, s.stamp()
	v := a.view()
	s.mu.Unlock()
	s.writeAgents(w, v)
}

// countRun counts a run started on the agent with key, if there is one.
// The caller holds s.mu.
func (s *Server) countRun(key string) {
	if a, ok := s.agents[key]; ok {
		a.countRuns++
	}
}

// chat returns what agent runs and schedules on the chat ID id (canonical)
// play: the registered chat, else the agent with that ID. The caller holds
// s.mu.
func (s *Server) chat(id string) (Chat, bool) {
	if chat, ok := s.cfg.chats[id]; ok {
		return chat, true
	}
	if a, ok := s.agents[id]; ok {
		return a.worker.asChat(), true
	}
	return Chat{}, false
}
