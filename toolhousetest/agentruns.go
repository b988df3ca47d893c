package toolhousetest

import (
	"net/http"
	"slices"
)

// runView is an agent run as the platform sends it.
type runView struct {
	ID               string            `json:"id"`
	ChatID           string            `json:"chat_id"`
	UserID           string            `json:"user_id"`
	ScheduleID       *string           `json:"schedule_id"`
	Status           string            `json:"status"`
	Results          []wireMessage     `json:"results"`
	CreatedAt        string            `json:"created_at"`
	UpdatedAt        string            `json:"updated_at"`
	Bundle           string            `json:"bundle"`
	ToolhouseID      string            `json:"toolhouse_id"`
	Vars             map[string]string `json:"vars"`
	CallbackURL      *string           `json:"callback_url"`
	LastAgentMessage *string           `json:"last_agent_message"`
	Error            *string           `json:"error"`
}

// agentRun is a run and where it is in its chat's script.
type agentRun struct {
	runView
	chat    Chat   // the script it plays, as it was when the run began
	reads   int    // GETs since it was (re)queued
	turn    int    // the chat's next Turn
	message string // the message the next Turn answers
}

// view copies the run for encoding outside the lock. Results entries are
// never changed once appended, so a clipped slice is enough.
func (r *agentRun) view() runView {
	v := r.runView
	v.Results = slices.Clip(v.Results)
	return v
}

// callback is a run's end, to be POSTed to its callback URL.
type callback struct {
	url     string
	payload map[string]any
}

func (s *Server) createRun(w http.ResponseWriter, r *http.Request) {
	b, ok := parseBody(w, r)
	if !ok {
		return
	}
	chatID, _ := b.uuid("chat_id", true)
	scheduleID, hasSchedule := b.uuid("schedule_id", false)
	bundle, hasBundle := b.str("bundle", false)
	thID, hasTH := b.str("toolhouse_id", false)
	vars, _ := b.vars("vars")
	cb, _ := b.url("callback_url")
	if !b.check(w) {
		return
	}
	s.mu.Lock()
	chat, known := s.chat(chatID)
	if !known {
		s.mu.Unlock()
		writeDetail(w, http.StatusForbidden, "Chat ID is invalid or does not belong to you")
		return
	}
	now := s.stamp()
	run := &agentRun{
		runView: runView{
			ID: newID(), ChatID: chatID, UserID: UserID, Status: "queued", Results: []wireMessage{},
			CreatedAt: now, UpdatedAt: now, Bundle: "default", ToolhouseID: "default",
			Vars: vars, CallbackURL: cb,
		},
		chat:    chat,
		message: chat.Prompt,
	}
	if hasSchedule {
		run.ScheduleID = &scheduleID
	}
	if hasBundle {
		run.Bundle = bundle
	}
	if hasTH {
		run.ToolhouseID = thID
	}
	s.countRun(chatID)
	s.runs.add(run.ID, run)
	v := run.view()
	s.mu.Unlock()
	writeData(w, v)
}

func (s *Server) listRuns(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	out := make([]runView, 0, len(s.runs.order))
	for _, run := range s.runs.list() {
		out = append(out, run.view())
	}
	s.mu.Unlock()
	writeData(w, out)
}

// getRun answers a run and moves it one read further: queued, in_progress,
// then completed (or failed) with its results.
func (s *Server) getRun(w http.ResponseWriter, r *http.Request, id string) {
	if !pathUUID(w, "run_id", id) {
		return
	}
	s.mu.Lock()
	run, ok := s.runs.get(id)
	if !ok {
		s.mu.Unlock()
		writeDetail(w, http.StatusNotFound, "Agent run not found")
		return
	}
	var cb *callback
	if run.Status == "queued" || run.Status == "in_progress" {
		run.reads++
		switch {
		case run.reads <= s.cfg.queuedReads:
			s.setStatus(run, "queued")
		case run.reads <= s.cfg.queuedReads+s.cfg.runningReads:
			s.setStatus(run, "in_progress")
		default:
			cb = s.finishRun(run)
		}
	}
	v := run.view()
	s.mu.Unlock()
	if cb != nil {
		s.notify(r.Context(), cb.url, cb.payload)
	}
	writeData(w, v)
}

func (s *Server) setStatus(run *agentRun, status string) {
	if run.Status != status {
		run.Status, run.UpdatedAt = status, s.stamp()
	}
}

// finishRun plays the chat's next Turn into the run's results. It returns
// the callback to send, if the run has a callback URL.
func (s *Server) finishRun(run *agentRun) *callback {
	chat := run.chat
	a := play(turnFor(chat.Turns, chat.reply, run.turn, slices.Clip(run.Results), run.message), run.message, "", s.callID)
	run.turn++
	switch {
	case a.outOfExecs:
		run.Results = append(run.Results, wireMessage{Error: a.failure})
		run.Status = "completed"
	case a.failure != "":
		run.Results = append(run.Results, a.messages...)
		run.Results = append(run.Results, wireMessage{Error: a.failure})
		failure := a.failure
		run.Status, run.Error = "failed", &failure
	default:
		run.Results = append(run.Results, a.messages...)
		run.Status = "completed"
	}
	if a.lastText != "" && !a.outOfExecs {
		last := a.lastText
		run.LastAgentMessage = &last
	}
	run.UpdatedAt = s.stamp()
	if run.CallbackURL == nil {
		return nil
	}
	var last any
	if run.LastAgentMessage != nil {
		last = *run.LastAgentMessage
	}
	return &callback{url: *run.CallbackURL, payload: map[string]any{
		"run_id": run.ID, "status": run.Status, "last_agent_message": last,
	}}
}

// continueRun adds a message to a completed run and queues it again.
func (s *Server) continueRun(w http.ResponseWriter, r *http.Request, id string) {
	if !pathUUID(w, "run_id", id) {
		return
	}
	b, ok := parseBody(w, r)
	if !ok {
		return
	}
	message, _ := b.str("message", true)
	if !b.check(w) {
		return
	}
	s.mu.Lock()
	run, ok := s.runs.get(id)
	if !ok {
		s.mu.Unlock()
		writeDetail(w, http.StatusNotFound, "Agent run not found")
		return
	}
	if run.Status != "completed" {
		s.mu.Unlock()
		writeDetail(w, http.StatusNotAcceptable, "You can only add messages to completed runs")
		return
	}
	run.reads, run.message = 0, message
	s.setStatus(run, "queued")
	v := run.view()
	s.mu.Unlock()
	writeData(w, v)
}
