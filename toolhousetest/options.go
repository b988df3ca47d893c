package toolhousetest

import (
	"fmt"
	"time"
)

// Option configures a Server.
type Option func(*config)

// DefaultJobTime is how long a background job started by StartJob runs
// unless WithJobTime says otherwise: long enough that a GET right after
// the answer surely sees it, even on a loaded machine, short enough for
// an example to wait for. Tests that want no wait at all hold the clock
// (WithClock) or end the job themselves (FinishJob).
const DefaultJobTime = 500 * time.Millisecond

type config struct {
	apiKey                    string
	chats                     map[string]Chat
	agents                    map[string]Agent // by agentKey
	agentOrder                []string         // agentKeys, in registration order
	secrets                   map[string]string
	wrapAgents                bool
	queuedReads, runningReads int
	strictUpdates             bool
	streamDelay               time.Duration
	jobTime                   time.Duration
	now                       func() time.Time
	addrs                     map[API]string
	maxRequests               int     // how many requests Requests keeps; < 0: all
	errs                      []error // options given bad values; Start reports them
}

func (c *config) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("toolhousetest: "+format, args...))
}

// WithAPIKey sets the key the server accepts (DefaultAPIKey otherwise).
func WithAPIKey(key string) Option { return func(c *config) { c.apiKey = key } }

// WithChat registers a chat that agent runs and schedules may use. A chat
// with the ID of one already registered (DemoChatID too) replaces it. The
// ID must be a UUID, as on the platform; Start reports one that is not.
func WithChat(chat Chat) Option {
	return func(c *config) { c.chats[canonUUID(chat.ID)] = chat }
}

// WithAgent registers a worker. An agent with the ID of one already
// registered (DemoAgentID too) replaces it. The ID must be one non-empty
// path segment; Start reports one that is not. An agent whose ID is a UUID
// is also a deployed agent and a chat: GET v1/agents lists it (after the
// demo agent, in the order of the options), and agent runs and schedules
// accept its ID as chat_id (as the platform does, and as the th CLI sends
// it) and play its Turns.
func WithAgent(agent Agent) Option {
	return func(c *config) {
		key := agentKey(agent.ID)
		if _, ok := c.agents[key]; !ok {
			c.agentOrder = append(c.agentOrder, key)
		}
		c.agents[key] = agent
	}
}

// WithSecret stores a secret before the first request, as if set with
// POST v1/kv: GET v1/kv lists it and Server.Secrets returns it. An empty
// key is an error that Start reports (without the value).
func WithSecret(key, value string) Option {
	return func(c *config) {
		if key == "" {
			c.fail("WithSecret: a secret needs a name")
			return
		}
		c.secrets[key] = value
	}
}

// WithWrappedAgents makes the v1/agents calls answer {"data": ...}, like
// the rest of the platform API, instead of the bare AgentModel (or array
// of them) that the platform's OpenAPI export declares. The two shapes are
// the ones clients meet (the th CLI reads the bare one); the SDK accepts
// both, and a test can run once with this option and once without to cover
// each. Errors are {"detail": ...} either way.
func WithWrappedAgents() Option { return func(c *config) { c.wrapAgents = true } }

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

// WithJobTime sets how long a background job started by StartJob runs on
// the server's clock (DefaultJobTime otherwise): the demo agent's job, and
// those of scripts that do not give their own duration with StartJobFor.
// Zero ends a job as soon as the answer that started it: the answer still
// carries the job's header, the next request finds the job over. A
// negative d is an error that Start reports.
func WithJobTime(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.fail("WithJobTime(%s): a job cannot run for a negative time", d)
			return
		}
		c.jobTime = d
	}
}

// WithClock makes the server read the time from now instead of time.Now.
// A background job ends when now passes its end, whether or not anyone
// looks, and the platform's timestamps come from it too. A test that moves
// its clock forward past a job's duration ends the job at once, without
// sleeping and without a GET of the run. now must be safe for concurrent
// use and must not call the Server (it runs under the server's lock); nil
// means time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// WithListenAddr makes one of the two servers listen on addr, a host:port
// as net.Listen takes it ("127.0.0.1:8080", ":0"), instead of on a random
// port of the loopback interface. Port 0 picks a free port; BaseURL and
// AgentsURL say which. A server that cannot listen there (the port is
// taken) is an error that Start reports.
func WithListenAddr(api API, addr string) Option {
	return func(c *config) {
		if api != PlatformAPI && api != WorkersAPI {
			c.fail("WithListenAddr: unknown API %q (want %q or %q)", api, PlatformAPI, WorkersAPI)
			return
		}
		c.addrs[api] = addr
	}
}

// WithMaxRequests makes the server keep only the n most recent requests
// for Requests, instead of every request since it started. A test keeps
// them all (the default); a fake that runs for hours, such as
// cmd/toolhouse-fake, must not let its memory grow with every request it
// serves, bodies included. n = 0 records nothing. A negative n is an error
// that Start reports.
func WithMaxRequests(n int) Option {
	return func(c *config) {
		if n < 0 {
			c.fail("WithMaxRequests(%d): a server cannot keep a negative number of requests", n)
			return
		}
		c.maxRequests = n
	}
}
