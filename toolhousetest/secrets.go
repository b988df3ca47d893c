package toolhousetest

import (
	"maps"
	"net/http"
)

// listSecrets answers GET v1/kv: {"data": {"NAME": "value", ...}}.
func (s *Server) listSecrets(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	out := maps.Clone(s.secrets)
	s.mu.Unlock()
	writeData(w, out)
}

// setSecret answers POST v1/kv {"key", "value"}: it stores the value,
// replacing any the key had, and answers {} (never the value).
func (s *Server) setSecret(w http.ResponseWriter, r *http.Request) {
	b, ok := parseBody(w, r)
	if !ok {
		return
	}
	key, hasKey := b.str("key", true)
	value, _ := b.str("value", true)
	if hasKey && key == "" {
		b.fail("string_too_short", "key", "String should have at least 1 character", key)
	}
	if !b.check(w) {
		return
	}
	s.mu.Lock()
	s.secrets[key] = value
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{})
}

// deleteSecret answers DELETE v1/kv/{key}: {} once removed, 404
// {"detail": "Secret not found"} for a key that holds nothing.
func (s *Server) deleteSecret(w http.ResponseWriter, key string) {
	s.mu.Lock()
	_, ok := s.secrets[key]
	delete(s.secrets, key)
	s.mu.Unlock()
	if !ok {
		writeDetail(w, http.StatusNotFound, "Secret not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

// Secrets returns a copy of the secrets stored so far (WithSecret and
// POST v1/kv), by name: what a test checks after its code set them. The
// server shows the values nowhere else but in its answer to GET v1/kv and
// in the request bodies Requests returns; it logs nothing.
func (s *Server) Secrets() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.secrets)
}
