// Package toolhousetest runs a fake Toolhouse in your process, so that code
// using the toolhouse SDK can be tested without the network.
//
// New starts two local HTTP servers: the platform API (agent runs,
// schedules, agents and secrets, under /v1) and the Workers API (deployed
// agents, their text and NDJSON streams, background jobs). They answer with the JSON shapes
// and status codes of the real services and keep state in memory. Agent
// runs move forward on each read and background jobs on a clock you can
// replace (WithClock), so tests are fast and deterministic.
//
//	func TestWeather(t *testing.T) {
//		srv := toolhousetest.New(t, toolhousetest.WithAgent(toolhousetest.Agent{
//			ID: "my-agent",
//			Turns: []toolhousetest.Turn{{
//				toolhousetest.Say("Checking the weather."),
//				toolhousetest.CallTool("weather", map[string]any{"city": "Rome"}, "sunny, 24°C"),
//				toolhousetest.Say("It is sunny in Rome."),
//			}},
//		}))
//		client, err := srv.Client() // a *toolhouse.Client aimed at srv, with its key
//		// ... exercise your code with client, then inspect srv.Requests().
//	}
//
// Every server knows the chat DemoChatID and the public agent DemoAgentID,
// whose scripts show tool calls and a background job; add your own with
// WithChat and WithAgent. For clients in other languages, and for browser
// code, cmd/toolhouse-fake serves the same fake as a standalone program.
//
// # How the fake behaves
//
// Platform API (FastAPI shapes: {"data": ...} on success, {"detail": "..."}
// on errors, {"detail": [{"loc", "msg", "type"}]} on 422):
//   - Every /v1 call needs "Authorization: Bearer <key>". A missing header
//     gets 401 {"detail": "Not authenticated"}, a wrong key 401
//     {"detail": "Invalid API key"}, both with WWW-Authenticate: Bearer.
//   - IDs in paths and chat_id in bodies must be UUIDs (422 otherwise, as
//     FastAPI validates them); a chat_id that is neither a registered chat
//     nor a registered agent gets 403.
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
//   - Agents (v1/agents) are answered as the OpenAPI export declares: the
//     AgentModel itself, or an array of them, with no {"data": ...}
//     wrapper (WithWrappedAgents adds it). GET lists the agents whose ID is
//     a UUID, oldest first: the demo agent, those of WithAgent in order,
//     then those deployed through the API. POST creates an agent, or
//     replaces the one with the body's "id", keeping its creation time and
//     run count; it needs a prompt (400 {"detail": "missing prompt"}) and
//     makes the agent public unless "public" is false. PUT {id} replaces
//     an agent that exists, PATCH {id} changes the fields the body holds,
//     DELETE {id} removes the agent and answers it as it was, POST
//     {id}/feedback records {"user_feedback"} and answers the agent. An
//     unknown agent is 404 {"detail": "Agent not found"}. count_runs
//     counts the runs started on the agent, on either API.
//   - An agent deployed through the API is at once a worker (private, so
//     needing the key, unless public) and a chat for agent runs and
//     schedules. Having no script, it answers from its prompt and the
//     run's history: its first answer is Following my prompt: “<prompt>”,
//     then You said: “<message>” when a message other than the prompt was
//     sent; a later answer of the run puts Before, you said: “<the
//     previous message>” after the prompt, and Now you say: “<message>”.
//   - Secrets (v1/kv): GET answers {"data": {"NAME": "value", ...}}, POST
//     {"key", "value"} stores one and answers {}, DELETE v1/kv/{key}
//     removes one and answers {}, or 404 {"detail": "Secret not found"}.
//     Server.Secrets shows them to a test; WithSecret sets some first.
//
// Workers API ({"error": "..."} on errors):
//   - POST /{agent} and PUT /{agent}/{run} stream text; POST /ndjson/{agent}
//     and PUT /ndjson/{agent}/{run} stream NDJSON lines in the Vercel AI
//     SDK shapes (text-delta, tool-call, tool-result, finish, error). Every
//     response carries X-Toolhouse-Run-ID; the body is flushed piece by
//     piece.
//   - GET /{agent}/{run} answers the run's history as a bare JSON array of
//     {role, content} messages.
//   - A background job (StartJob) runs for a time on the server's clock:
//     the answer that starts it carries X-Toolhouse-Job-ID, so does the
//     run's GET while it runs, and a PUT on the run meanwhile answers 409.
//     It ends when its time is up, whether or not anyone polls, or when
//     FinishJob ends it.
//   - An unknown agent or run is 404; a private agent without the right
//     Bearer key is 401.
//   - Browsers may call it from any origin: an OPTIONS preflight answers
//     204, and every response to a request with an Origin header allows
//     that origin and exposes X-Toolhouse-Run-ID and X-Toolhouse-Job-ID.
//
// Both APIs answer a request body over 1 MiB with 413.
package toolhousetest

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/toolhouseai/toolhouse-go"
)

// API names one of the two services a Server fakes.
type API string

// The two APIs.
const (
	PlatformAPI API = "platform" // api.toolhouse.ai: agent runs, schedules, agents, secrets
	WorkersAPI  API = "workers"  // agents.toolhouse.ai: deployed agents
)

// closeGrace is how long Close lets the requests in flight finish before
// it cuts their connections: a client that left a stream open and unread
// must not hold Close forever.
const closeGrace = 100 * time.Millisecond

// Server is a fake Toolhouse: the platform API and the Workers API, on two
// local HTTP servers. Its methods are safe for concurrent use, and servers
// are independent of each other, so parallel tests can each have one.
type Server struct {
	cfg        config
	platform   *httptest.Server
	workers    *httptest.Server
	baseURL    string
	agentsURL  string
	hc         *http.Client
	tr         *http.Transport
	closing    chan struct{} // closed by Close: streams stop between pieces
	closeOnce  sync.Once
	mu         sync.Mutex
	requests   []Request
	runs       table[agentRun]
	schedules  table[schedule]
	agents     map[string]*agentState // by agentKey
	agentSeq   int                    // the last agent's listing order
	secrets    map[string]string
	workerRuns map[string]*workerRun
	jobs       map[string]*job
	calls      int // tool calls so far, for callID
}

// New starts a fake Toolhouse for the test t and closes it when the test
// ends. A bad option (a chat ID that is not a UUID, a turn that starts two
// jobs, an address it cannot listen on) fails t at once with the reason.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	srv, err := Start(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// NewServer starts a fake Toolhouse; Close stops it. Like httptest, it
// panics when it cannot start, and also when an option is wrong (see
// Start). In a test, New reports those as test failures and closes the
// server by itself; elsewhere Start returns them.
func NewServer(opts ...Option) *Server {
	srv, err := Start(opts...)
	if err != nil {
		panic(err)
	}
	return srv
}

// Start starts a fake Toolhouse; Close stops it. It returns an error,
// naming each problem, when an option holds something that could never be
// served (a chat ID that is not a UUID, an agent ID that is not one path
// segment, a turn that starts two jobs or holds a zero Step, tool-call
// arguments that cannot be encoded, a negative job time, a secret with no
// name) or when a server cannot listen where WithListenAddr says.
func Start(opts ...Option) (*Server, error) {
	cfg := config{
		apiKey:       DefaultAPIKey,
		chats:        map[string]Chat{DemoChatID: demoChat()},
		agents:       map[string]Agent{DemoAgentID: demoAgent()},
		agentOrder:   []string{DemoAgentID},
		secrets:      map[string]string{},
		queuedReads:  1,
		runningReads: 1,
		jobTime:      DefaultJobTime,
		addrs:        map[API]string{},
		maxRequests:  -1,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:        cfg,
		closing:    make(chan struct{}),
		runs:       newTable[agentRun](),
		schedules:  newTable[schedule](),
		agents:     make(map[string]*agentState, len(cfg.agents)),
		secrets:    maps.Clone(cfg.secrets),
		workerRuns: map[string]*workerRun{},
		jobs:       map[string]*job{},
	}
	now := s.stamp()
	for _, key := range cfg.agentOrder {
		s.agentSeq++
		s.agents[key] = registeredAgent(cfg.agents[key], s.agentSeq, now)
	}
	var err error
	if s.platform, s.baseURL, err = serve(cfg.addrs[PlatformAPI], s.handle(PlatformAPI, s.servePlatform)); err != nil {
		return nil, err
	}
	if s.workers, s.agentsURL, err = serve(cfg.addrs[WorkersAPI], s.handle(WorkersAPI, s.serveWorkers)); err != nil {
		s.platform.Close()
		return nil, err
	}
	s.tr = &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16}
	s.hc = &http.Client{Transport: s.tr}
	return s, nil
}

// check reports every problem of the configuration at once, in a stable
// order.
func (c *config) check() error {
	errs := c.errs
	for _, id := range slices.Sorted(maps.Keys(c.chats)) {
		chat := c.chats[id]
		if !isUUID(id) {
			errs = append(errs, fmt.Errorf("toolhousetest: chat ID %q is not a UUID; the platform accepts only UUIDs", chat.ID))
		}
		errs = append(errs, checkTurns("chat "+chat.ID, chat.Turns)...)
	}
	for _, key := range slices.Sorted(maps.Keys(c.agents)) {
		id := c.agents[key].ID
		if id == "" || strings.ContainsAny(id, "/?#") {
			errs = append(errs, fmt.Errorf("toolhousetest: agent ID %q must be one non-empty path segment", id))
		}
		errs = append(errs, checkTurns("agent "+id, c.agents[key].Turns)...)
	}
	return errors.Join(errs...)
}

// serve starts an HTTP server on addr (a loopback port when empty) and
// returns it with the root URL a client should use.
func serve(addr string, h http.Handler) (*httptest.Server, string, error) {
	var l net.Listener
	var err error
	if addr == "" {
		if l, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			l, err = net.Listen("tcp", "[::1]:0")
		}
	} else {
		l, err = net.Listen("tcp", addr)
	}
	if err != nil {
		if addr == "" {
			addr = "a loopback port"
		}
		return nil, "", fmt.Errorf("toolhousetest: listening on %s: %w", addr, err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: h, ReadHeaderTimeout: time.Minute}}
	srv.Start()
	return srv, rootURL(l.Addr()), nil
}

// rootURL is the URL of a listening address; a server listening on every
// interface (":8080") is reached on the loopback one.
func rootURL(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "http://" + addr.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return "http://" + net.JoinHostPort(ip.String(), strconv.Itoa(tcp.Port))
}

// Close shuts both servers down and closes the connections of HTTPClient.
// It lets requests in flight finish for a moment, then cuts the
// connections of those still going, such as a stream a client opened and
// never read, so it returns promptly whatever the clients do. Calling it
// again does nothing.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.tr.CloseIdleConnections()
		done := make(chan struct{})
		go func() {
			defer close(done)
			var wg sync.WaitGroup
			for _, srv := range []*httptest.Server{s.platform, s.workers} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					srv.Close()
				}()
			}
			wg.Wait()
		}()
		grace := time.NewTimer(closeGrace)
		defer grace.Stop()
		select {
		case <-done:
		case <-grace.C:
			s.platform.CloseClientConnections()
			s.workers.CloseClientConnections()
			<-done
		}
		s.tr.CloseIdleConnections()
	})
}

// BaseURL is the platform API's root (without /v1), for
// toolhouse.WithBaseURL and the TOOLHOUSE_API_URL variable.
func (s *Server) BaseURL() string { return s.baseURL }

// AgentsURL is the Workers API's root, for toolhouse.WithAgentsURL and the
// TOOLHOUSE_AGENTS_URL variable.
func (s *Server) AgentsURL() string { return s.agentsURL }

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

// now is the server's clock.
func (s *Server) now() time.Time { return s.cfg.now() }
