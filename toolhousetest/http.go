package toolhousetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// maxBody bounds every request body. Nothing the APIs take comes near it,
// and it keeps a client from making the fake hold, record or parse
// megabytes.
const maxBody = 1 << 20

// handle wraps the router of one API: CORS for the Workers API, then the
// body, read within maxBody and recorded, then the route.
func (s *Server) handle(api API, route http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		preflight := api == WorkersAPI && allowCORS(w, r)
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		var tooLarge *http.MaxBytesError
		rec := Request{
			API: api, Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(),
			Header: r.Header.Clone(), Body: body,
		}
		if errors.As(err, &tooLarge) {
			rec.Body = nil
		}
		s.record(rec)
		switch {
		case tooLarge != nil:
			writeError(api, w, http.StatusRequestEntityTooLarge,
				fmt.Sprintf("Request body too large: the limit is %d bytes", maxBody))
		case err != nil:
			writeError(api, w, http.StatusBadRequest, "Reading the request body failed")
		case preflight:
			w.WriteHeader(http.StatusNoContent)
		default:
			r.Body = io.NopCloser(bytes.NewReader(body))
			route(w, r)
		}
	})
}

// exposedHeaders are the Workers API headers a browser page may read.
const exposedHeaders = "X-Toolhouse-Run-ID, X-Toolhouse-Job-ID"

// allowCORS lets a browser page on any origin call the Workers API, as the
// official JavaScript client does from web apps: a request with an Origin
// gets that origin allowed and the run and job headers exposed. It reports
// whether r is a preflight (OPTIONS), which gets the methods and headers
// it may use and nothing else.
func allowCORS(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	preflight := r.Method == http.MethodOptions
	if origin == "" && !preflight {
		return false
	}
	h := w.Header()
	if origin != "" {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
	} else {
		h.Set("Access-Control-Allow-Origin", "*")
	}
	h.Set("Access-Control-Expose-Headers", exposedHeaders)
	if !preflight {
		return false
	}
	h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, OPTIONS")
	// The two the APIs use, and whatever else the page asks for.
	allowed := []string{"Authorization", "Content-Type"}
	for _, list := range r.Header.Values("Access-Control-Request-Headers") {
		for _, name := range strings.Split(list, ",") {
			name = strings.TrimSpace(name)
			if name != "" && !slices.ContainsFunc(allowed, func(a string) bool { return strings.EqualFold(a, name) }) {
				allowed = append(allowed, name)
			}
		}
	}
	h.Set("Access-Control-Allow-Headers", strings.Join(allowed, ", "))
	h.Set("Access-Control-Max-Age", "600")
	return true
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// encodeJSON encodes v as the real services do: "&", "<" and ">" stay as
// they are, where encoding/json would write \u0026, \u003c and \u003e.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := encodeJSON(v)
	if err != nil {
		// Only the server's own types and JSON checked by Start get here.
		http.Error(w, "toolhousetest: encoding the response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeData writes a platform API success, {"data": ...}.
func writeData(w http.ResponseWriter, v any) {
	writeJSON(w, http.StatusOK, map[string]any{"data": v})
}

// writeDetail writes a FastAPI error, {"detail": "..."}.
func writeDetail(w http.ResponseWriter, status int, detail string) {
	writeJSON(w, status, map[string]string{"detail": detail})
}

// writeWorkerError writes a Workers API error, {"error": "..."}.
func writeWorkerError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// writeError writes an error in the shape of api.
func writeError(api API, w http.ResponseWriter, status int, msg string) {
	if api == WorkersAPI {
		writeWorkerError(w, status, msg)
		return
	}
	writeDetail(w, status, msg)
}

// newID returns a random version 4 UUID.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// callID numbers the server's tool calls: "toolu_0001", "toolu_0002"...
// Deterministic IDs let tests and examples compare whole lines. The caller
// holds s.mu.
func (s *Server) callID() string {
	s.calls++
	return fmt.Sprintf("toolu_%04d", s.calls)
}

// isUUID accepts what pydantic's UUID type accepts in practice: the
// canonical 8-4-4-4-12 form or 32 hex digits.
func isUUID(s string) bool {
	if len(s) == 36 {
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return false
		}
		s = s[:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	}
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// canonUUID writes a UUID in lower case with hyphens; other strings are
// only lowered.
func canonUUID(s string) string {
	s = strings.ToLower(s)
	if len(s) == 32 && isUUID(s) {
		return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
	}
	return s
}

// timeLayout is how the platform writes times: UTC, no zone, microseconds.
const timeLayout = "2006-01-02T15:04:05.000000"

// stamp is the server's time now, as the platform writes it.
func (s *Server) stamp() string { return s.now().UTC().Format(timeLayout) }

// notify POSTs a run's end to its callback URL, as the platform does. A
// callback that fails is not retried, and one that hangs is given up after
// 5 seconds or when ctx (the request that ended the run) ends.
func (s *Server) notify(ctx context.Context, callbackURL string, payload any) {
	b, err := encodeJSON(payload)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, callbackURL, bytes.NewReader(b))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
}
