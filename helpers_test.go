package toolhouse

// The test fixture: a client under test (harness) on a fake clock, talking
// to httpmock (newHarness) or to a loopback server (newLoopback), with
// every request it sends recorded; a scripted loopback server (script);
// the guard against a call that hangs (returnsWithin, inBackground); a
// caller's deadline that passes on the test's word (expiringContext); and
// the payloads of testdata/.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// testKey is distinctive so that a leak shows up in any string.
const testKey = "th-SECRET-9f3b27c1-do-not-leak"

// testBase and testAgents are the base URLs of the httpmock clients.
const (
	testBase   = "https://api.toolhouse.test"
	testAgents = "https://agents.toolhouse.test"
)

// hangGuard bounds how long a test waits for something that must happen
// promptly. It is a guard against hangs, never a timing assertion.
const hangGuard = 10 * time.Second

// fakeClock is a client's clock in tests: a sleep returns at once, moves
// the fake time forward and is recorded. Its timers (the request timeout)
// run out when the test says so (fireTimers).
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
	timers []*fakeTimer
}

// fakeTimer is one timer of a fakeClock: it runs f once, unless stopped
// first.
type fakeTimer struct {
	mu             sync.Mutex
	f              func()
	fired, stopped bool
}

func (tm *fakeTimer) fire() {
	tm.mu.Lock()
	run := !tm.fired && !tm.stopped
	tm.fired = true
	tm.mu.Unlock()
	if run {
		tm.f()
	}
}

func (tm *fakeTimer) stop() bool {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	was := !tm.fired && !tm.stopped
	tm.stopped = true
	return was
}

// afterFunc is the client's afterFunc on the fake clock.
func (k *fakeClock) afterFunc(_ time.Duration, f func()) func() bool {
	tm := &fakeTimer{f: f}
	k.mu.Lock()
	k.timers = append(k.timers, tm)
	k.mu.Unlock()
	return tm.stop
}

// fireTimers makes every timer armed so far run out, as if its time had
// passed, except those already stopped.
func (k *fakeClock) fireTimers() {
	k.mu.Lock()
	timers := append([]*fakeTimer(nil), k.timers...)
	k.mu.Unlock()
	for _, tm := range timers {
		tm.fire()
	}
}

func (k *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.sleeps = append(k.sleeps, d)
	k.now = k.now.Add(d)
	return ctx.Err()
}

// Now returns the fake time.
func (k *fakeClock) Now() time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.now
}

// slept returns the sleeps so far, in order.
func (k *fakeClock) slept() []time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]time.Duration(nil), k.sleeps...)
}

// recorded is one request as the client sent it.
type recorded struct {
	Method string
	Path   string // escaped
	Query  string
	Header http.Header
	Body   []byte
}

// harness is a client under test: no environment, the test key, a fake
// clock, and a transport that records each request before passing it on.
type harness struct {
	c     *Client
	clock *fakeClock
	mock  *httpmock.MockTransport // newHarness only
	srv   *httptest.Server        // newLoopback only

	next http.RoundTripper // where the recorded requests go
	opts []Option          // the options h.c was made with

	mu   sync.Mutex
	reqs []recorded
}

// newHarness returns a client whose requests go to its own httpmock
// transport: the platform API at testBase, the Workers API at testAgents.
// Register answers with on.
func newHarness(t testing.TB, opts ...Option) *harness {
	t.Helper()
	mock := httpmock.NewMockTransport()
	h := &harness{mock: mock}
	h.start(t, mock, append([]Option{WithBaseURL(testBase), WithAgentsURL(testAgents)}, opts...))
	return h
}

// newLoopback starts handler on a loopback server, closed when the test
// ends, and returns a client of it (both APIs) with its own connection
// pool.
func newLoopback(t testing.TB, handler http.Handler, opts ...Option) *harness {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return loopbackTo(t, srv, opts...)
}

// loopbackTo is newLoopback for a server the test started itself.
func loopbackTo(t testing.TB, srv *httptest.Server, opts ...Option) *harness {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	h := &harness{srv: srv}
	h.start(t, tr, append([]Option{WithBaseURL(srv.URL), WithAgentsURL(srv.URL)}, opts...))
	return h
}

func (h *harness) start(t testing.TB, next http.RoundTripper, opts []Option) {
	t.Helper()
	h.next = next
	h.opts = append([]Option{WithoutEnvironment(), WithAPIKey(testKey)}, opts...)
	h.clock = &fakeClock{now: time.Date(2025, 1, 15, 1, 46, 23, 0, time.UTC)}
	h.c = h.client(t)
}

// client returns another client like h.c, on the same transport, record
// and clock, with opts added (they take precedence).
func (h *harness) client(t testing.TB, opts ...Option) *Client {
	t.Helper()
	all := append(append(h.opts[:len(h.opts):len(h.opts)], opts...),
		WithHTTPClient(&http.Client{Transport: recordingTransport{h: h, next: h.next}}))
	c, err := NewClient(all...)
	require.NoError(t, err)
	c.sleep, c.now, c.afterFunc = h.clock.sleep, h.clock.Now, h.clock.afterFunc
	return c
}

// on answers method+path (under testBase, or a full URL) with the
// responders in turn, the last one for every later call.
func (h *harness) on(method, path string, rs ...httpmock.Responder) {
	r := rs[0]
	for _, next := range rs[1:] {
		r = r.Then(next)
	}
	if !strings.HasPrefix(path, "http") {
		path = testBase + path
	}
	h.mock.RegisterResponder(method, path, r)
}

// requests returns the requests sent so far, in order.
func (h *harness) requests() []recorded {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]recorded(nil), h.reqs...)
}

// calls renders the requests sent as "METHOD /path body".
func (h *harness) calls() []string {
	var out []string
	for _, r := range h.requests() {
		out = append(out, strings.TrimSpace(r.Method+" "+r.Path+" "+string(r.Body)))
	}
	return out
}

// sleeps returns the client's sleeps so far (retry backoffs, poll waits).
func (h *harness) sleeps() []time.Duration { return h.clock.slept() }

type recordingTransport struct {
	h    *harness
	next http.RoundTripper
}

func (rt recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
	}
	r2 := req.Clone(req.Context())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	if req.Body == nil {
		r2.Body = nil
	}
	rt.h.mu.Lock()
	rt.h.reqs = append(rt.h.reqs, recorded{Method: req.Method, Path: req.URL.EscapedPath(),
		Query: req.URL.RawQuery, Header: req.Header.Clone(), Body: body})
	rt.h.mu.Unlock()
	return rt.next.RoundTrip(r2)
}

// reply answers with a JSON body (or whatever body is) and optional
// header pairs.
func reply(status int, body string, header ...string) httpmock.Responder {
	h := http.Header{"Content-Type": {"application/json"}}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return httpmock.NewStringResponder(status, body).HeaderSet(h)
}

// step is one scripted answer of a script server.
type step struct {
	call   string            // the request expected: "METHOD /path"
	status int               // 200 when zero
	header map[string]string // sent with the keys exactly as written
	body   string
	before func() // runs before the answer is sent, to hold it back
}

// script is a loopback handler that expects its steps' requests in order
// and answers each with its step. A request the script did not expect, or
// a step never requested by the end of the test, fails the test.
type script struct {
	t     testing.TB
	mu    sync.Mutex
	steps []step
}

func newScript(t testing.TB, steps ...step) *script {
	s := &script{t: t, steps: steps}
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, st := range s.steps {
			t.Errorf("script: %s was never requested", st.call)
		}
	})
	return s
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	call := r.Method + " " + r.URL.Path
	s.mu.Lock()
	var st step
	scripted := len(s.steps) > 0
	if scripted {
		st, s.steps = s.steps[0], s.steps[1:]
	}
	s.mu.Unlock()
	if !scripted || st.call != call {
		s.t.Errorf("script: got %s, expected %q", call, st.call)
		http.Error(w, "unexpected request", http.StatusTeapot)
		return
	}
	if st.before != nil {
		st.before()
	}
	for k, v := range st.header {
		w.Header()[k] = []string{v}
	}
	w.WriteHeader(cmp.Or(st.status, http.StatusOK))
	_, _ = io.WriteString(w, st.body)
}

// inBackground starts call in a goroutine and returns the wait for its
// result, which fails the test if call has not returned after hangGuard:
// what names the call in that failure.
func inBackground[T any](t testing.TB, what string, call func() T) (wait func() T) {
	done := make(chan T, 1)
	go func() { done <- call() }()
	return func() T {
		t.Helper()
		select {
		case v := <-done:
			return v
		case <-time.After(hangGuard):
			t.Fatalf("%s never returned", what)
			var zero T
			return zero
		}
	}
}

// returnsWithin returns call's result, failing the test instead of hanging
// if call has not returned after hangGuard.
func returnsWithin[T any](t testing.TB, what string, call func() T) T {
	t.Helper()
	return inBackground(t, what, call)()
}

// expiringContext is a caller's context whose deadline passes when the
// test calls expire, not on a real clock: Done is then closed and Err is
// context.DeadlineExceeded.
type expiringContext struct {
	context.Context // no deadline, no values
	done            chan struct{}
	once            sync.Once
}

func newExpiringContext() *expiringContext {
	return &expiringContext{Context: context.Background(), done: make(chan struct{})}
}

func (c *expiringContext) Done() <-chan struct{} { return c.done }

func (c *expiringContext) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// expire makes the deadline pass; later calls do nothing.
func (c *expiringContext) expire() { c.once.Do(func() { close(c.done) }) }

// checkLeaks fails the test if it leaves a goroutine behind. Call it
// first: the check then runs after the servers' own cleanups.
func checkLeaks(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// fixture returns a payload of testdata/platform.
func fixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "platform", name))
	require.NoError(t, err)
	return string(b)
}

// fixtureData returns the "data" member of a fixture, for building lists.
func fixtureData(t testing.TB, name string) json.RawMessage {
	t.Helper()
	var env struct{ Data json.RawMessage }
	require.NoError(t, json.Unmarshal([]byte(fixture(t, name)), &env))
	return env.Data
}

// workerStream returns a recorded answer (or history) of testdata/workers.
func workerStream(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "workers", name))
	require.NoError(t, err)
	return string(b)
}

// numbered is a handler that answers the nth request (from 0) with
// answer(n, w).
func numbered(answer func(n int, w http.ResponseWriter)) http.HandlerFunc {
	var count atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		answer(int(count.Add(1)-1), w)
	}
}
