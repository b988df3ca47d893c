package toolhousetest

import "net/http"

// schedule is a schedule as the platform sends it.
type schedule struct {
	ID          string            `json:"id"`
	UserID      string            `json:"user_id"`
	ChatID      string            `json:"chat_id"`
	CreatedAt   string            `json:"created_at"`
	UpdatedAt   string            `json:"updated_at"`
	LastRanAt   *string           `json:"last_ran_at"`
	Active      bool              `json:"active"`
	Archived    bool              `json:"archived"`
	Cadence     string            `json:"cadence"`
	Bundle      string            `json:"bundle"`
	ToolhouseID string            `json:"toolhouse_id"`
	Vars        map[string]string `json:"vars"`
	Title       *string           `json:"title"`
	CallbackURL *string           `json:"callback_url"`
}

// cadence reads and checks a cadence field: a cron expression, or a phrase
// text-to-cron understands. It is clamped to at most every 10 minutes.
func (b *body) cadence(required bool) (string, bool) {
	v, ok := b.str("cadence", required)
	if !ok {
		return "", false
	}
	cron, ok := cadenceCron(v)
	if !ok {
		b.fail("value_error", "cadence", "Value error, Invalid cron expression", v)
		return "", false
	}
	return cron, true
}

func (s *Server) createSchedule(w http.ResponseWriter, r *http.Request) {
	b, ok := parseBody(w, r)
	if !ok {
		return
	}
	chatID, _ := b.uuid("chat_id", true)
	cadence, _ := b.cadence(true)
	bundle, hasBundle := b.str("bundle", false)
	thID, hasTH := b.str("toolhouse_id", false)
	vars, _ := b.vars("vars")
	cb, _ := b.url("callback_url")
	if !b.check(w) {
		return
	}
	s.mu.Lock()
	if _, known := s.chat(chatID); !known {
		s.mu.Unlock()
		writeDetail(w, http.StatusForbidden, "Invalid chat ID or chat does not belong to user")
		return
	}
	now := s.stamp()
	sc := &schedule{
		ID: newID(), UserID: UserID, ChatID: chatID, CreatedAt: now, UpdatedAt: now,
		Active: true, Cadence: cadence, Bundle: "default", ToolhouseID: "default",
		Vars: vars, CallbackURL: cb,
	}
	if hasBundle {
		sc.Bundle = bundle
	}
	if hasTH {
		sc.ToolhouseID = thID
	}
	s.schedules.add(sc.ID, sc)
	v := *sc
	s.mu.Unlock()
	writeData(w, v)
}

func (s *Server) listSchedules(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	out := make([]schedule, 0, len(s.schedules.order))
	for _, sc := range s.schedules.list() {
		out = append(out, *sc)
	}
	s.mu.Unlock()
	writeData(w, out)
}

func (s *Server) getSchedule(w http.ResponseWriter, id string) {
	if !pathUUID(w, "schedule_id", id) {
		return
	}
	s.mu.Lock()
	sc, ok := s.schedules.get(id)
	var v schedule
	if ok {
		v = *sc
	}
	s.mu.Unlock()
	if !ok {
		writeDetail(w, http.StatusNotFound, "Schedule not found")
		return
	}
	writeData(w, v)
}

// updateSchedule applies the fields sent. By default a partial object is
// fine, as the documents use it; WithOpenAPIScheduleUpdates makes cadence
// required and resets active, bundle and toolhouse_id when left out.
func (s *Server) updateSchedule(w http.ResponseWriter, r *http.Request, id string) {
	if !pathUUID(w, "schedule_id", id) {
		return
	}
	b, ok := parseBody(w, r)
	if !ok {
		return
	}
	strict := s.cfg.strictUpdates
	cadence, hasCadence := b.cadence(strict)
	active, hasActive := b.boolean("active")
	bundle, hasBundle := b.str("bundle", false)
	thID, hasTH := b.str("toolhouse_id", false)
	vars, hasVars := b.vars("vars")
	chatID, hasChat := b.uuid("chat_id", false)
	cb, hasCB := b.url("callback_url")
	if !b.check(w) {
		return
	}
	if strict {
		if !hasActive {
			active, hasActive = true, true
		}
		if !hasBundle {
			bundle, hasBundle = "default", true
		}
		if !hasTH {
			thID, hasTH = "default", true
		}
	}
	s.mu.Lock()
	if _, known := s.chat(chatID); hasChat && !known {
		s.mu.Unlock()
		writeDetail(w, http.StatusForbidden, "Invalid chat ID or chat does not belong to user")
		return
	}
	sc, ok := s.schedules.get(id)
	if !ok {
		s.mu.Unlock()
		writeDetail(w, http.StatusNotFound, "Schedule not found")
		return
	}
	if hasCadence {
		sc.Cadence = cadence
	}
	if hasActive {
		sc.Active = active
	}
	if hasBundle {
		sc.Bundle = bundle
	}
	if hasTH {
		sc.ToolhouseID = thID
	}
	if hasVars {
		sc.Vars = vars
	}
	if hasChat {
		sc.ChatID = chatID
	}
	if hasCB {
		sc.CallbackURL = cb
	}
	sc.UpdatedAt = s.stamp()
	v := *sc
	s.mu.Unlock()
	writeData(w, v)
}

// deleteSchedule removes a schedule. An unknown one is a 400, not a 404,
// as on the real platform.
func (s *Server) deleteSchedule(w http.ResponseWriter, id string) {
	if !pathUUID(w, "schedule_id", id) {
		return
	}
	s.mu.Lock()
	ok := s.schedules.remove(id)
	s.mu.Unlock()
	if !ok {
		writeDetail(w, http.StatusBadRequest, "Schedule not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

// textToCron translates a plain description into cron.
func (s *Server) textToCron(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !q.Has("cron") {
		writeValidation(w, []fieldError{{Type: "missing", Loc: []any{"query", "cron"}, Msg: "Field required"}})
		return
	}
	cron, ok := TextToCron(q.Get("cron"))
	if !ok {
		writeDetail(w, http.StatusBadRequest, "Invalid cron text input")
		return
	}
	writeData(w, cron)
}
