package toolhouse

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
)

// maxCallbackBody bounds the body CallbackHandler reads: the callback
// carries a status and the agent's last message, nothing near this size.
const maxCallbackBody = 1 << 20

// RunCallback is what Toolhouse POSTs to an agent run's callback URL when
// the run ends (AgentRunCreateParams.CallbackURL, ScheduleCreateParams.CallbackURL).
type RunCallback struct {
	RunID            string    `json:"run_id"`
	Status           RunStatus `json:"status"`
	LastAgentMessage string    `json:"last_agent_message"`
	// Raw is the body as received, for fields this type does not know.
	Raw json.RawMessage `json:"-"`
}

// Failed reports whether the run did not complete: any status but
// RunCompleted, an unknown or missing one included, is a failure.
func (c RunCallback) Failed() bool { return c.Status != RunCompleted }

// CallbackHandler answers Toolhouse's callback POST: it decodes the body and
// calls fn with the request's context. Not a POST -> 405 (with an Allow
// header); a body over 1 MiB -> 413; not JSON or no run_id -> 400; fn's error
// -> 500; else 204. fn is never called for a bad request, and the answers
// never repeat fn's error, since whoever sent the request may read them.
// A nil fn makes every request fail with 500.
//
// The callback is not signed: anyone who learns the URL can POST to it.
// Register a callback URL that holds an unguessable token (32 random bytes,
// hex-encoded) and check it before this handler runs, in constant time
// (crypto/subtle.ConstantTimeCompare) so that the check's timing does not
// reveal the token; answer a wrong token as if the path did not exist.
// See the example.
//
// The product documents say nothing of redelivery: keep fn idempotent and
// quick (hand long work to a queue), and poll AgentRuns.Get for a run whose
// callback never came.
func CallbackHandler(fn func(ctx context.Context, cb RunCallback) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fn == nil {
			http.Error(w, "toolhouse: CallbackHandler was given a nil function", http.StatusInternalServerError)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "toolhouse callback: only POST is allowed", http.StatusMethodNotAllowed)
			return
		}
		cb, status, msg := readCallback(w, r)
		if status != 0 {
			http.Error(w, msg, status)
			return
		}
		if err := fn(r.Context(), cb); err != nil {
			http.Error(w, "toolhouse callback: the receiver failed to handle it", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// readCallback reads and decodes a callback body, or returns the status
// and message that refuse it.
func readCallback(w http.ResponseWriter, r *http.Request) (cb RunCallback, status int, msg string) {
	const tooLarge = "toolhouse callback: the body is larger than 1 MiB"
	if r.ContentLength > maxCallbackBody {
		return cb, http.StatusRequestEntityTooLarge, tooLarge
	}
	body := r.Body
	if body == nil { // a request built by hand rather than by the server
		body = http.NoBody
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, body, maxCallbackBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return cb, http.StatusRequestEntityTooLarge, tooLarge
	case err != nil:
		return cb, http.StatusBadRequest, "toolhouse callback: reading the body failed"
	}
	if err := json.Unmarshal(raw, &cb); err != nil {
		return cb, http.StatusBadRequest, "toolhouse callback: the body is not a JSON object of a run callback"
	}
	if strings.TrimSpace(cb.RunID) == "" {
		return cb, http.StatusBadRequest, "toolhouse callback: the body has no run_id"
	}
	cb.Raw = raw
	return cb, 0, ""
}
