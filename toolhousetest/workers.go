package toolhousetest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// workerRun is one conversation with a worker.
type workerRun struct {
	agentKey string
	turn     int // the agent's next Turn
	history  []wireMessage
	job      *job   // the last job started, if any
	tail     string // the text the last answer ended with, for the resume
}

// serveWorkers routes the Workers API.
func (s *Server) serveWorkers(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	ndjson := len(segs) > 1 && segs[0] == "ndjson"
	if ndjson {
		segs = segs[1:]
	}
	if slices.Contains(segs, "") || len(segs) > 2 {
		writeWorkerError(w, http.StatusNotFound, "Not found")
		return
	}
	allowed := "POST"
	switch {
	case len(segs) == 1 && r.Method == http.MethodPost:
		s.answer(w, r, segs[0], "", ndjson)
		return
	case len(segs) == 2 && r.Method == http.MethodPut:
		s.answer(w, r, segs[0], segs[1], ndjson)
		return
	case len(segs) == 2 && r.Method == http.MethodGet && !ndjson:
		s.history(w, r, segs[0], segs[1])
		return
	case len(segs) == 2 && ndjson:
		allowed = "PUT"
	case len(segs) == 2:
		allowed = "GET, PUT"
	}
	w.Header().Set("Allow", allowed)
	writeWorkerError(w, http.StatusMethodNotAllowed, "Method not allowed")
}

// agentFor finds the agent and checks the key of a private one, answering
// 404 or 401 when that fails.
func (s *Server) agentFor(w http.ResponseWriter, r *http.Request, agentID string) (Agent, bool) {
	s.mu.Lock()
	a, ok := s.agents[agentKey(agentID)]
	var agent Agent
	if ok {
		agent = a.worker
	}
	s.mu.Unlock()
	if !ok {
		writeWorkerError(w, http.StatusNotFound, "Agent not found")
		return Agent{}, false
	}
	if agent.Private {
		if key, ok := bearer(r); !ok || key != s.cfg.apiKey {
			w.Header().Set("WWW-Authenticate", "Bearer")
			writeWorkerError(w, http.StatusUnauthorized, "Unauthorized")
			return Agent{}, false
		}
	}
	return agent, true
}

// answer serves POST (runID empty) and PUT: it plays the agent's next Turn
// into the run's history and streams it.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, agentID, runID string, ndjson bool) {
	agent, ok := s.agentFor(w, r, agentID)
	if !ok {
		return
	}
	raw, _ := readAll(r)
	var in struct {
		Message *string `json:"message"`
	}
	if len(bytes.TrimSpace(raw)) > 0 && json.Unmarshal(raw, &in) != nil {
		writeWorkerError(w, http.StatusBadRequest, "Invalid JSON body")
		return
	}
	var message string
	switch {
	case in.Message != nil:
		message = *in.Message
	case runID != "":
		writeWorkerError(w, http.StatusBadRequest, "message is required")
		return
	}
	if runID == "" && message == "" {
		message = agent.DefaultMessage
	}

	key := agentKey(agentID)
	s.mu.Lock()
	run := s.workerRuns[runID]
	now := s.now()
	switch {
	case runID == "":
		runID, run = newID(), &workerRun{agentKey: key}
		s.workerRuns[runID] = run
		s.countRun(key)
	case run == nil || run.agentKey != key:
		s.mu.Unlock()
		writeWorkerError(w, http.StatusNotFound, "Run not found")
		return
	case run.job.running(now):
		s.mu.Unlock()
		w.Header().Set("X-Toolhouse-Run-ID", runID)
		w.Header().Set("X-Toolhouse-Job-ID", run.job.id)
		writeWorkerError(w, http.StatusConflict,
			"A background job is running for this run; poll GET until x-toolhouse-job-id is gone, then resume with PUT")
		return
	}
	// A message starts a new answer; an empty one (the resume after a
	// job) goes on from where the last answer stopped mid-sentence.
	prev := ""
	if message == "" && !endsSentence(run.tail) {
		prev = run.tail
	}
	turn := turnFor(agent.Turns, agent.reply, run.turn, slices.Clip(run.history), message)
	a := play(turn, message, prev, s.callID)
	run.turn++
	run.history = append(run.history, a.messages...)
	if a.tail != "" || message != "" {
		run.tail = a.tail
	}
	var jobID string
	if a.startsJob {
		jobID = s.startJob(run, a.jobTime).id
	}
	s.mu.Unlock()

	h := w.Header()
	h.Set("X-Toolhouse-Run-ID", runID)
	if jobID != "" {
		h.Set("X-Toolhouse-Job-ID", jobID)
	}
	if ndjson {
		h.Set("Content-Type", "application/x-ndjson")
	} else {
		h.Set("Content-Type", "text/plain; charset=utf-8")
	}
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	s.stream(w, r, a, ndjson)
}

// line is one NDJSON stream part, in the Vercel AI SDK's names.
type line struct {
	Type         string          `json:"type"`
	TextDelta    string          `json:"textDelta,omitempty"`
	ToolCallID   string          `json:"toolCallId,omitempty"`
	ToolName     string          `json:"toolName,omitempty"`
	Args         json.RawMessage `json:"args,omitempty"`
	Result       json.RawMessage `json:"result,omitempty"`
	Error        string          `json:"error,omitempty"`
	FinishReason string          `json:"finishReason,omitempty"`
}

// stream writes an answer piece by piece, flushing each one. The text
// endpoints get only the text.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, a answer, ndjson bool) {
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = rc.Flush() // the headers, at once, as a streaming server does
	first := true
	send := func(l line) bool {
		if !first && s.cfg.streamDelay > 0 {
			t := time.NewTimer(s.cfg.streamDelay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
				return false
			case <-s.closing:
				// Cut the stream rather than end it: the client must
				// not take half an answer for a whole one.
				panic(http.ErrAbortHandler)
			}
		}
		first = false
		var err error
		if ndjson {
			err = enc.Encode(l)
		} else {
			_, err = io.WriteString(w, l.TextDelta)
		}
		return err == nil && rc.Flush() == nil
	}
	for _, ev := range a.events {
		var l line
		switch {
		case ev.kind == stepSay:
			l = line{Type: "text-delta", TextDelta: ev.text}
		case !ndjson:
			continue
		case ev.kind == stepTool && ev.isToolCall:
			l = line{Type: "tool-call", ToolCallID: ev.id, ToolName: ev.tool, Args: ev.args}
		case ev.kind == stepTool:
			l = line{Type: "tool-result", ToolCallID: ev.id, ToolName: ev.tool, Result: ev.res}
		case ev.kind == stepFail:
			l = line{Type: "error", Error: ev.text}
		}
		if !send(l) {
			return
		}
	}
	if ndjson && a.failure == "" {
		send(line{Type: "finish", FinishReason: "stop"})
	}
}

// history answers GET /{agent}/{run}: the run's messages as a bare JSON
// array, with x-toolhouse-job-id while its job runs.
func (s *Server) history(w http.ResponseWriter, r *http.Request, agentID, runID string) {
	if _, ok := s.agentFor(w, r, agentID); !ok {
		return
	}
	s.mu.Lock()
	run := s.workerRuns[runID]
	if run == nil || run.agentKey != agentKey(agentID) {
		s.mu.Unlock()
		writeWorkerError(w, http.StatusNotFound, "Run not found")
		return
	}
	var jobID string
	if j := run.job; j.running(s.now()) {
		jobID = j.id
	}
	msgs := slices.Clip(run.history)
	s.mu.Unlock()
	if msgs == nil {
		msgs = []wireMessage{}
	}
	w.Header().Set("X-Toolhouse-Run-ID", runID)
	if jobID != "" {
		w.Header().Set("X-Toolhouse-Job-ID", jobID)
	}
	writeJSON(w, http.StatusOK, msgs)
}
