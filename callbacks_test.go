package toolhouse

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// callbackBody is the body WIRE.md documents for the end of the seed run:
// flat, no "data" wrapper.
const callbackBody = `{"run_id":"` + seedRunID + `","status":"completed","last_agent_message":"I've sent you an email with a fun pet fact about cats!"}`

// callbackRecorder is a callback fn that records what it was given.
type callbackRecorder struct {
	mu   sync.Mutex
	got  []RunCallback
	ctxs []context.Context
	err  error // returned by fn
}

func (r *callbackRecorder) fn(ctx context.Context, cb RunCallback) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, cb)
	r.ctxs = append(r.ctxs, ctx)
	return r.err
}

func (r *callbackRecorder) calls() []RunCallback {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]RunCallback(nil), r.got...)
}

func TestCallbackHandler(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		method     string
		body       string
		fnErr      error
		wantStatus int
		wantCalled bool
	}{
		{"the documented body", "POST", callbackBody, nil, 204, true},
		{"a failed run", "POST", `{"run_id":"r1","status":"failed","last_agent_message":null}`, nil, 204, true},
		{"fields it does not know", "POST", `{"run_id":"r1","status":"completed","last_agent_message":"ok","schedule_id":"s1"}`, nil, 204, true},
		{"fn fails", "POST", callbackBody, errors.New("database down at 10.0.0.7"), 500, true},
		{"GET", "GET", "", nil, 405, false},
		{"PUT", "PUT", callbackBody, nil, 405, false},
		{"HEAD", "HEAD", "", nil, 405, false},
		{"not JSON", "POST", `run_id=r1&status=completed`, nil, 400, false},
		{"empty", "POST", ``, nil, 400, false},
		{"cut short", "POST", callbackBody[:40], nil, 400, false},
		{"trailing garbage", "POST", callbackBody + `}`, nil, 400, false},
		{"an array", "POST", `[` + callbackBody + `]`, nil, 400, false},
		{"null", "POST", `null`, nil, 400, false},
		{"no run_id", "POST", `{"status":"completed","last_agent_message":"hi"}`, nil, 400, false},
		{"a blank run_id", "POST", `{"run_id":"  ","status":"completed"}`, nil, 400, false},
		{"a run_id that is not a string", "POST", `{"run_id":42,"status":"completed"}`, nil, 400, false},
		{"wrapped in data", "POST", `{"data":` + callbackBody + `}`, nil, 400, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &callbackRecorder{err: tt.fnErr}
			w := httptest.NewRecorder()
			req := httptest.NewRequest(tt.method, "/toolhouse/callback", strings.NewReader(tt.body))
			CallbackHandler(rec.fn).ServeHTTP(w, req)

			assert.Equal(t, tt.wantStatus, w.Code, w.Body.String())
			calls := rec.calls()
			if !tt.wantCalled {
				assert.Empty(t, calls, "fn is never called for a bad request")
				return
			}
			require.Len(t, calls, 1)
			assert.JSONEq(t, tt.body, string(calls[0].Raw))
			switch w.Code {
			case 204:
				assert.Empty(t, w.Body.String())
			case 500:
				assert.NotContains(t, w.Body.String(), "10.0.0.7", "the sender never reads fn's error")
			}
		})
	}
}

func TestCallbackHandlerDecodes(t *testing.T) {
	t.Parallel()
	rec := &callbackRecorder{}
	w := httptest.NewRecorder()
	CallbackHandler(rec.fn).ServeHTTP(w, httptest.NewRequest("POST", "/cb", strings.NewReader(callbackBody)))
	require.Equal(t, 204, w.Code)
	calls := rec.calls()
	require.Len(t, calls, 1)
	assert.Equal(t, RunCallback{
		RunID:            seedRunID,
		Status:           RunCompleted,
		LastAgentMessage: "I've sent you an email with a fun pet fact about cats!",
		Raw:              json.RawMessage(callbackBody),
	}, calls[0])
	assert.False(t, calls[0].Failed())
}

func TestCallbackHandlerAnswers405WithAllow(t *testing.T) {
	t.Parallel()
	for _, method := range []string{"GET", "PUT", "DELETE", "OPTIONS"} {
		w := httptest.NewRecorder()
		CallbackHandler((&callbackRecorder{}).fn).ServeHTTP(w, httptest.NewRequest(method, "/cb", nil))
		assert.Equal(t, 405, w.Code, method)
		assert.Equal(t, "POST", w.Header().Get("Allow"), method)
	}
}

// A body over 1 MiB is refused without being read to its end, whether it
// announces its length or not.
func TestCallbackHandlerRefusesALargeBody(t *testing.T) {
	t.Parallel()
	big := `{"run_id":"r1","status":"completed","last_agent_message":"` + strings.Repeat("a", maxCallbackBody) + `"}`
	t.Run("announced", func(t *testing.T) {
		t.Parallel()
		rec := &callbackRecorder{}
		src := &countingReader{r: strings.NewReader(big)}
		req := httptest.NewRequest("POST", "/cb", src)
		req.ContentLength = int64(len(big))
		w := httptest.NewRecorder()
		CallbackHandler(rec.fn).ServeHTTP(w, req)
		assert.Equal(t, 413, w.Code)
		assert.Empty(t, rec.calls())
		assert.Zero(t, src.n, "refused on its Content-Length alone")
	})
	t.Run("unannounced", func(t *testing.T) {
		t.Parallel()
		rec := &callbackRecorder{}
		src := &countingReader{r: io.MultiReader(strings.NewReader(big), repeatByte(' '))}
		req := httptest.NewRequest("POST", "/cb", src)
		req.ContentLength = -1
		w := httptest.NewRecorder()
		CallbackHandler(rec.fn).ServeHTTP(w, req)
		assert.Equal(t, 413, w.Code)
		assert.Empty(t, rec.calls())
		assert.LessOrEqual(t, src.n, int64(maxCallbackBody+64<<10), "reading stops at the limit")
	})
	t.Run("exactly 1 MiB is fine", func(t *testing.T) {
		t.Parallel()
		head := `{"run_id":"r1","status":"completed","last_agent_message":"`
		body := head + strings.Repeat("a", maxCallbackBody-len(head)-2) + `"}`
		require.Len(t, body, maxCallbackBody)
		rec := &callbackRecorder{}
		w := httptest.NewRecorder()
		CallbackHandler(rec.fn).ServeHTTP(w, httptest.NewRequest("POST", "/cb", strings.NewReader(body)))
		assert.Equal(t, 204, w.Code)
		require.Len(t, rec.calls(), 1)
		assert.Len(t, rec.calls()[0].LastAgentMessage, maxCallbackBody-len(head)-2)
	})
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func TestCallbackHandlerPassesTheRequestContext(t *testing.T) {
	t.Parallel()
	type key struct{}
	rec := &callbackRecorder{}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "request scoped"))
	defer cancel()
	req := httptest.NewRequest("POST", "/cb", strings.NewReader(callbackBody)).WithContext(ctx)
	CallbackHandler(rec.fn).ServeHTTP(httptest.NewRecorder(), req)
	require.Len(t, rec.ctxs, 1)
	assert.Equal(t, "request scoped", rec.ctxs[0].Value(key{}))
	cancel()
	assert.ErrorIs(t, rec.ctxs[0].Err(), context.Canceled, "the request's own context, cancelled with it")
}

func TestCallbackHandlerWithANilFunc(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	assert.NotPanics(t, func() {
		CallbackHandler(nil).ServeHTTP(w, httptest.NewRequest("POST", "/cb", strings.NewReader(callbackBody)))
	})
	assert.Equal(t, 500, w.Code)
	assert.Contains(t, w.Body.String(), "nil function")
}

func TestRunCallbackFailed(t *testing.T) {
	t.Parallel()
	for status, failed := range map[RunStatus]bool{
		RunCompleted: false, RunFailed: true, RunQueued: true, RunInProgress: true, "": true, "cancelled": true,
	} {
		assert.Equal(t, failed, RunCallback{RunID: "r", Status: status}.Failed(), "status %q", status)
	}
}

// End to end: the handler behind the recommended token guard on a real
// server, called the way Toolhouse calls it, at the callback_url an agent
// run was created with.
func TestCallbackHandlerEndToEnd(t *testing.T) {
	t.Parallel()
	const token = "4f0c1e9b7a2d5c8e3b6a9f0d1c4e7b2a5d8c1f4e7a0b3d6c9e2f5a8b1c4d7e0f"
	rec := &callbackRecorder{}
	handler := CallbackHandler(rec.fn)
	mux := http.NewServeMux()
	mux.Handle("/toolhouse/callback/{token}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.PathValue("token")), []byte(token)) != 1 {
			http.NotFound(w, r)
			return
		}
		handler.ServeHTTP(w, r)
	}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	callbackURL := srv.URL + "/toolhouse/callback/" + token

	// The run is created with the guarded URL...
	h := newHarness(t)
	h.on("POST", "/v1/agent-runs", reply(200, fixture(t, "agent_run_created.json")))
	run, err := h.c.AgentRuns.Create(context.Background(), AgentRunCreateParams{ChatID: seedChatID, CallbackURL: callbackURL})
	require.NoError(t, err)
	assert.Equal(t, callbackURL, bodyFields(t, h.requests()[0].Body)["callback_url"])

	// ...and Toolhouse POSTs the end of the run to it.
	post := func(url, body string) int {
		resp, err := srv.Client().Post(url, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	assert.Equal(t, 204, post(callbackURL, `{"run_id":"`+run.ID+`","status":"failed","last_agent_message":"You ran out of Toolhouse Execs."}`))
	assert.Equal(t, 404, post(srv.URL+"/toolhouse/callback/guessed", callbackBody), "a wrong token")
	assert.Equal(t, 404, post(srv.URL+"/toolhouse/callback/"+token[:63], callbackBody), "a token one character short")
	assert.Equal(t, 400, post(callbackURL, `{"status":"completed"}`))

	resp, err := srv.Client().Get(callbackURL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 405, resp.StatusCode)

	calls := rec.calls()
	require.Len(t, calls, 1, "only the guarded, well-formed POST reached fn")
	assert.Equal(t, run.ID, calls[0].RunID)
	assert.Equal(t, RunFailed, calls[0].Status)
	assert.True(t, calls[0].Failed())
	assert.Equal(t, "You ran out of Toolhouse Execs.", calls[0].LastAgentMessage)
}

func TestCallbackHandlerWithoutABody(t *testing.T) {
	t.Parallel()
	// A request built by hand, as a receiver's own test may: the server
	// always sets Body, a struct literal leaves it nil.
	rec := &callbackRecorder{}
	w := httptest.NewRecorder()
	req := &http.Request{Method: http.MethodPost, URL: &url.URL{Path: "/cb"}, Header: http.Header{}}
	req = req.WithContext(context.Background())
	assert.NotPanics(t, func() { CallbackHandler(rec.fn).ServeHTTP(w, req) })
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Empty(t, rec.calls())
}
