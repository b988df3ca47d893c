package toolhousetest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
)

// servePlatform routes the platform API as FastAPI would: unknown paths
// are 404 and known paths with another method 405, both before the key is
// checked; then the key; then validation (422); then the handler.
func (s *Server) servePlatform(w http.ResponseWriter, r *http.Request) {
	handlers := s.platformRoute(pathSegments(r.URL))
	if handlers == nil {
		writeDetail(w, http.StatusNotFound, "Not Found")
		return
	}
	h, ok := handlers[r.Method]
	if !ok {
		allowed := make([]string, 0, len(handlers))
		for m := range handlers {
			allowed = append(allowed, m)
		}
		sort.Strings(allowed)
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeDetail(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	if !s.authorized(w, r) {
		return
	}
	h(w, r)
}

// pathSegments splits a path into its segments, each unescaped on its
// own, so that an escaped slash stays inside its segment (a secret's name).
// It returns nil for a path that is not a valid escaping.
func pathSegments(u *url.URL) []string {
	segs := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
	for i, seg := range segs {
		var err error
		if segs[i], err = url.PathUnescape(seg); err != nil {
			return nil
		}
	}
	return segs
}

// platformRoute returns the handlers of a path by method, or nil for a
// path the platform does not serve.
func (s *Server) platformRoute(segs []string) map[string]http.HandlerFunc {
	if len(segs) < 2 || len(segs) > 4 || segs[0] != "v1" || slices.Contains(segs, "") {
		return nil
	}
	id := ""
	if len(segs) > 2 {
		id = segs[2]
	}
	switch route := segs[1]; {
	case len(segs) == 4:
		if route != "agents" || segs[3] != "feedback" {
			return nil
		}
		return map[string]http.HandlerFunc{
			http.MethodPost: func(w http.ResponseWriter, r *http.Request) { s.agentFeedback(w, r, id) },
		}
	case route == "agent-runs" && id == "":
		return map[string]http.HandlerFunc{http.MethodGet: s.listRuns, http.MethodPost: s.createRun}
	case route == "agent-runs":
		return map[string]http.HandlerFunc{
			http.MethodGet: func(w http.ResponseWriter, r *http.Request) { s.getRun(w, r, id) },
			http.MethodPut: func(w http.ResponseWriter, r *http.Request) { s.continueRun(w, r, id) },
		}
	case route == "schedules" && id == "":
		return map[string]http.HandlerFunc{http.MethodGet: s.listSchedules, http.MethodPost: s.createSchedule}
	case route == "schedules" && id == "text-to-cron":
		return map[string]http.HandlerFunc{http.MethodGet: s.textToCron}
	case route == "schedules":
		return map[string]http.HandlerFunc{
			http.MethodGet:    func(w http.ResponseWriter, r *http.Request) { s.getSchedule(w, id) },
			http.MethodPut:    func(w http.ResponseWriter, r *http.Request) { s.updateSchedule(w, r, id) },
			http.MethodDelete: func(w http.ResponseWriter, r *http.Request) { s.deleteSchedule(w, id) },
		}
	case route == "agents" && id == "":
		return map[string]http.HandlerFunc{
			http.MethodGet:  s.listAgents,
			http.MethodPost: func(w http.ResponseWriter, r *http.Request) { s.deployAgent(w, r, "") },
		}
	case route == "agents":
		return map[string]http.HandlerFunc{
			http.MethodGet:    func(w http.ResponseWriter, r *http.Request) { s.getAgent(w, id) },
			http.MethodPut:    func(w http.ResponseWriter, r *http.Request) { s.deployAgent(w, r, id) },
			http.MethodPatch:  func(w http.ResponseWriter, r *http.Request) { s.patchAgent(w, r, id) },
			http.MethodDelete: func(w http.ResponseWriter, r *http.Request) { s.deleteAgent(w, id) },
		}
	case route == "kv" && id == "":
		return map[string]http.HandlerFunc{http.MethodGet: s.listSecrets, http.MethodPost: s.setSecret}
	case route == "kv":
		return map[string]http.HandlerFunc{
			http.MethodDelete: func(w http.ResponseWriter, r *http.Request) { s.deleteSecret(w, id) },
		}
	}
	return nil
}

// authorized checks the platform key, answering 401 when it is missing or
// wrong.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	key, ok := bearer(r)
	switch {
	case !ok || key == "":
		w.Header().Set("WWW-Authenticate", "Bearer")
		writeDetail(w, http.StatusUnauthorized, "Not authenticated")
		return false
	case key != s.cfg.apiKey:
		w.Header().Set("WWW-Authenticate", "Bearer")
		writeDetail(w, http.StatusUnauthorized, "Invalid API key")
		return false
	}
	return true
}

// fieldError is one entry of a FastAPI 422 body.
type fieldError struct {
	Type  string `json:"type"`
	Loc   []any  `json:"loc"`
	Msg   string `json:"msg"`
	Input any    `json:"input"`
}

// writeValidation writes a FastAPI 422, {"detail": [...]}.
func writeValidation(w http.ResponseWriter, errs []fieldError) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": errs})
}

// pathUUID validates a UUID path parameter, answering 422 when it is not
// one.
func pathUUID(w http.ResponseWriter, name, value string) bool {
	if isUUID(value) {
		return true
	}
	writeValidation(w, []fieldError{{Type: "uuid_parsing", Loc: []any{"path", name},
		Msg: "Input should be a valid UUID, invalid length or character", Input: value}})
	return false
}

// body reads a JSON object body field by field, collecting FastAPI
// validation errors.
type body struct {
	fields map[string]json.RawMessage
	input  any
	errs   []fieldError
}

// parseBody reads r's JSON object. A false result means the 422 has been
// written.
func parseBody(w http.ResponseWriter, r *http.Request) (*body, bool) {
	raw, _ := readAll(r)
	if len(bytes.TrimSpace(raw)) == 0 {
		writeValidation(w, []fieldError{{Type: "missing", Loc: []any{"body"}, Msg: "Field required"}})
		return nil, false
	}
	var input any
	if err := json.Unmarshal(raw, &input); err != nil {
		writeValidation(w, []fieldError{{Type: "json_invalid", Loc: []any{"body", 0},
			Msg: "JSON decode error", Input: map[string]any{}}})
		return nil, false
	}
	var fields map[string]json.RawMessage
	if _, isObject := input.(map[string]any); !isObject || json.Unmarshal(raw, &fields) != nil {
		writeValidation(w, []fieldError{{Type: "model_attributes_type", Loc: []any{"body"},
			Msg: "Input should be a valid dictionary or object to extract fields from", Input: input}})
		return nil, false
	}
	return &body{fields: fields, input: input}, true
}

// check writes the 422 when fields failed validation.
func (b *body) check(w http.ResponseWriter) bool {
	if len(b.errs) > 0 {
		writeValidation(w, b.errs)
		return false
	}
	return true
}

func (b *body) fail(typ, name, msg string, input any) {
	b.errs = append(b.errs, fieldError{Type: typ, Loc: []any{"body", name}, Msg: msg, Input: input})
}

// lookup returns a field, treating null as absent.
func (b *body) lookup(name string) (json.RawMessage, bool) {
	raw, ok := b.fields[name]
	if !ok || string(raw) == "null" {
		return nil, false
	}
	return raw, true
}

// str reads a string field; set is false when it is absent or null.
func (b *body) str(name string, required bool) (v string, set bool) {
	raw, ok := b.lookup(name)
	if !ok {
		if required {
			b.fail("missing", name, "Field required", b.input)
		}
		return "", false
	}
	if json.Unmarshal(raw, &v) != nil {
		b.fail("string_type", name, "Input should be a valid string", json.RawMessage(raw))
		return "", false
	}
	return v, true
}

// uuid reads a UUID field, returned in canonical form.
func (b *body) uuid(name string, required bool) (string, bool) {
	v, ok := b.str(name, required)
	if !ok {
		return "", false
	}
	if !isUUID(v) {
		b.fail("uuid_parsing", name, "Input should be a valid UUID, invalid length or character", v)
		return "", false
	}
	return canonUUID(v), true
}

// boolean reads a JSON boolean field.
func (b *body) boolean(name string) (v, set bool) {
	raw, ok := b.lookup(name)
	if !ok {
		return false, false
	}
	if json.Unmarshal(raw, &v) != nil {
		b.fail("bool_parsing", name, "Input should be a valid boolean", json.RawMessage(raw))
		return false, false
	}
	return v, true
}

// vars reads a {str: str} field; set is true for an explicit null too,
// which clears the variables.
func (b *body) vars(name string) (v map[string]string, set bool) {
	raw, present := b.fields[name]
	if !present {
		return nil, false
	}
	if string(raw) == "null" {
		return nil, true
	}
	if json.Unmarshal(raw, &v) != nil {
		b.fail("dict_type", name, "Input should be a valid dictionary with string values", json.RawMessage(raw))
		return nil, false
	}
	return v, true
}

// url reads an http(s) URL field.
func (b *body) url(name string) (*string, bool) {
	v, ok := b.str(name, false)
	if !ok {
		return nil, false
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		b.fail("url_parsing", name, "Input should be a valid URL, relative URL without a base", v)
		return nil, false
	}
	return &v, true
}

// readAll returns the body the recorder already buffered.
func readAll(r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(r.Body)
	return buf.Bytes(), err
}
