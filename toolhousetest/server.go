// Package toolhousetest runs a fake Toolhouse in your process, so that code
// using the toolhouse SDK can be tested without the network.
//
// NewServer starts two httptest servers: the platform API (agent runs and
// schedules, under /v1) and the Workers API (deployed agents, their text
// and NDJSON streams, background jobs). They answer with the JSON shapes
// and status codes of the real services, keep state in memory, and move
// runs forward on each read instead of on a clock, so tests are fast and
// deterministic.
//
//	srv := toolhousetest.NewServer(toolhousetest.WithAgent(toolhousetest.Agent{
//		ID: "my-agent",
//		Turns: []toolhousetest.Turn{{
//			toolhousetest.Say("Checking the weather."),
//			toolhousetest.CallTool("weather", map[string]any{"city": "Rome"}, "sunny, 24°C"),
//			toolhousetest.Say("It is sunny in Rome."),
//		}},
//	}))
//	defer srv.Close()
//	client, err := srv.Client() // a *toolhouse.Client aimed at srv, with its key
//	// ... exercise your code with client, then inspect srv.Requests().
//
// Every server knows the chat DemoChatID and the public agent DemoAgentID,
// whose scripts show tool calls and a background job; add your own with
// WithChat and WithAgent.
//
// # How the fake behaves
//
// Platform API (FastAPI shapes: {"data": ...} on success, {"detail": "..."}
// on errors, {"detail": [{"loc", "msg", "type"}]} on 422):
//   - Every /v1 call needs "Authorization: Bearer <key>". A missing header
//     gets 401 {"detail": "Not authenticated"}, a wrong key 401
//     {"detail": "Invalid API key"}, both with WWW-Authenticate: Bearer.
//   - IDs in paths and chat_id in bodies must be UUIDs (422 otherwise, as
//     FastAPI validates them); a chat_id that is not registered gets 403.
//   - A run is "queued" when created; each GET of it moves it on: by
//     default the first GET sees "queued", the second "in_progress", the
//     third and later "completed" (see WithRunReads). The run's results
//     are filled from the chat's script when it completes; when it ends, a
//     callback_url receives {"run_id", "status", "last_agent_message"}.
//   - PUT {"message"} on a completed run queues it again, keeping its
//     results; on any other run it answers 406 {"detail": "You can only add
//     messages to completed runs"}.
//   - Schedules never fire. A cadence is a cron expression or a phrase
//     that text-to-cron understands; one that fires more often than every
//     10 minutes is clamped to every 10 minutes. PUT accepts partial
//     objects (see WithOpenAPIScheduleUpdates for the strict variant);
//     DELETE of an unknown schedule answers 400 {"detail": "Schedule not
//     found"}, GET and PUT answer 404.
//
// Workers API ({"error": "..."} on errors):
//   - POST /{agent} and PUT /{agent}/{run} stream text; POST /ndjson/{agent}
//     and PUT /ndjson/{agent}/{run} stream NDJSON lines in the Vercel AI
//     SDK shapes (text-delta, tool-call, tool-result, finish, error). Every
//     response carries X-Toolhouse-Run-ID; the body is flushed piece by
//     piece.
//   - GET /{agent}/{run} answers the run's history as a bare JSON array of
//     {role, content} messages.
//   - An unknown agent or run is 404; a private agent without the right
//     Bearer key is 401; a PUT while the run's background job runs is 409.
package toolhousetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/toolhouseai/toolhouse-go"
)

// API names one of the two services a Server fakes.
type API string

// The two APIs.
const (
	PlatformAPI API = "platform" // api.toolhouse.ai: agent runs, schedules
	WorkersAPI  API = "workers"  // agents.toolhouse.ai: deployed agents
)

// Request is one request the server received, recorded before it was
// handled.
type Request struct {
	API    API
	Method string
	Path   string // decoded, e.g. "/v1/agent-runs"
	Query  url.Values
	Header http.Header
	Body   []byte
}

// Option configures a Server.
type Option func(*config)

type config struct {
	apiKey                    string
	chats                     map[string]Chat
	agents                    map[string]Agent
	queuedReads, runningReads int
	strictUpdates             bool
	streamDelay               time.Duration
}

// WithAPIKey sets the key the server accepts (DefaultAPIKey otherwise).
func WithAPIKey(key string) Option { return func(c *config) { c.apiKey = key } }

// WithChat registers a chat that agent runs and schedules may use. A chat
// with the ID of one already registered (DemoChatID too) replaces it.
// NewServer panics when the ID is not a UUID.
func WithChat(chat Chat) Option {
	return func(c *config) { c.chats[canonUUID(chat.ID)] = chat }
}

// WithAgent registers a worker. An agent with the ID of one already
// registered (DemoAgentID too) replaces it. NewServer panics when the ID
// is empty or has a slash.
func WithAgent(agent Agent) Option {
	return func(c *config) { c.agents[agent.ID] = agent }
}

// WithRunReads sets how many GETs of an agent run see it "queued", then
// "in_progress", before it completes (default 1 and 1). WithRunReads(0, 0)
// makes the first GET see the run finished.
func WithRunReads(queued, inProgress int) Option {
	return func(c *config) { c.queuedReads, c.runningReads = max(queued, 0), max(inProgress, 0) }
}

// WithOpenAPIScheduleUpdates makes PUT /v1/schedules/{id} behave as the
// platform's OpenAPI export declares it, rather than as its documents use
// it: a body without "cadence" is a 422 validation error, and "active",
// "bundle" and "toolhouse_id" take their defaults (true, "default",
// "default") when left out. Use it to exercise a client's fallback from
// partial to full updates.
func WithOpenAPIScheduleUpdates() Option { return func(c *config) { c.strictUpdates = true } }

// WithStreamDelay makes worker streams pause d between pieces, so that a
// demo shows the answer arriving. Tests are better off without it.
func WithStreamDelay(d time.Duration) Option { return func(c *config) { c.streamDelay = d } }

// Server is a fake Toolhouse: the platform API and the Workers API, on two
// local HTTP servers. Its methods are safe for concurrent use, and servers
// are independent of each other, so parallel tests can each have one.
type Server struct {
	cfg      config
	platform *httptest.Server
	agents   *httptest.Server
	hc       *http.Client
	tr       *http.Transport

	mu         sync.Mutex
	requests   []Request
	runs       table[agentRun]
	schedules  table[schedule]
	workerRuns map[string]*workerRun
	jobs       map[string]*job
	calls      int // tool calls so far, for callID
}

// NewServer starts a fake Toolhouse; Close stops it. Like httptest, it
// panics when it cannot start, or when an option holds a script that could
// never be served (a chat ID that is not a UUID, an agent ID with a slash,
// a turn that starts two jobs).
func NewServer(opts ...Option) *Server {
	cfg := config{
		apiKey:       DefaultAPIKey,
		chats:        map[string]Chat{DemoChatID: demoChat()},
		agents:       map[string]Agent{DemoAgentID: demoAgent()},
		queuedReads:  1,
		runningReads: 1,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}
	for id, chat := range cfg.chats {
		if !isUUID(id) {
			panic(fmt.Sprintf("toolhousetest: chat ID %q is not a UUID; the platform accepts only UUIDs", chat.ID))
		}
		validateTurns("chat "+chat.ID, chat.Turns)
	}
	for id, agent := range cfg.agents {
		if id == "" || strings.ContainsAny(id, "/?#") {
			panic(fmt.Sprintf("toolhousetest: agent ID %q must be one non-empty path segment", id))
		}
		validateTurns("agent "+id, agent.Turns)
	}
	s := &Server{
		cfg:        cfg,
		runs:       newTable[agentRun](),
		schedules:  newTable[schedule](),
		workerRuns: map[string]*workerRun{},
		jobs:       map[string]*job{},
	}
	s.platform = httptest.NewServer(s.record(PlatformAPI, http.HandlerFunc(s.servePlatform)))
	s.agents = httptest.NewServer(s.record(WorkersAPI, http.HandlerFunc(s.serveWorkers)))
	s.tr = &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16}
	s.hc = &http.Client{Transport: s.tr}
	return s
}

// Close shuts both servers down, waiting for requests in flight, and closes
// the connections of HTTPClient.
func (s *Server) Close() {
	s.tr.CloseIdleConnections()
	s.platform.Close()
	s.agents.Close()
	s.tr.CloseIdleConnections()
}

// BaseURL is the platform API's root (without /v1), for
// toolhouse.WithBaseURL.
func (s *Server) BaseURL() string { return s.platform.URL }

// AgentsURL is the Workers API's root, for toolhouse.WithAgentsURL.
func (s *Server) AgentsURL() string { return s.agents.URL }

// APIKey is the key the server accepts.
func (s *Server) APIKey() string { return s.cfg.apiKey }

// HTTPClient is an HTTP client for raw requests to the server; Close
// releases its connections.
func (s *Server) HTTPClient() *http.Client { return s.hc }

// Client returns an SDK client aimed at the server: both base URLs, the
// server's key, HTTPClient, no environment, and polling that starts at 1 ms
// and backs off to 5 ms, so Wait and job polling finish at once. opts come
// last and override these.
func (s *Server) Client(opts ...toolhouse.Option) (*toolhouse.Client, error) {
	base := []toolhouse.Option{
		toolhouse.WithoutEnvironment(),
		toolhouse.WithBaseURL(s.BaseURL()),
		toolhouse.WithAgentsURL(s.AgentsURL()),
		toolhouse.WithAPIKey(s.cfg.apiKey),
		toolhouse.WithHTTPClient(s.hc),
		toolhouse.WithPollOptions(toolhouse.PollOptions{Interval: time.Millisecond, MaxInterval: 5 * time.Millisecond}),
	}
	return toolhouse.NewClient(append(base, opts...)...)
}

// Requests returns a copy of the requests received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Header = r.Header.Clone()
		r.Query = cloneValues(r.Query)
		r.Body = bytes.Clone(r.Body)
		out[i] = r
	}
	return out
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// record keeps a copy of each request before handing it on.
func (s *Server) record(api API, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "reading the request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.mu.Lock()
		s.requests = append(s.requests, Request{
			API: api, Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(),
			Header: r.Header.Clone(), Body: body,
		})
		s.mu.Unlock()
		next.ServeHTTP(w, r)
	})
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

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the server's own types are encoded here.
		panic(fmt.Sprintf("toolhousetest: encoding a response: %v", err))
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

func stamp(t time.Time) string { return t.UTC().Format(timeLayout) }

// notify POSTs a run's end to its callback URL, as the platform does. A
// callback that fails is not retried.
func (s *Server) notify(callbackURL string, payload any) {
	b, _ := json.Marshal(payload)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
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
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}
