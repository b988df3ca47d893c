// Package toolhouse is a Go client for the Toolhouse agent platform: agent
// runs, schedules, agents and their secrets on the platform API, deployed
// agents (workers) with their text and NDJSON streams and background jobs,
// and a handler for the callback that ends a run.
//
// Create a Client with NewClient; it finds the API key in the environment
// (TOOLHOUSE_API_KEY, then ~/.toolhouse) unless given one. Every call
// takes a context, which is the way to bound it. On its own the client
// bounds only each attempt of a call (WithRequestTimeout, 10 minutes by
// default) and, for a stream, the wait for its response headers: a long
// stream's body is never cut.
package toolhouse

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/toolhouseai/toolhouse-go/internal/retry"
)

// Version is the version of this SDK, sent in the User-Agent.
const Version = "0.1.0"

const (
	// DefaultBaseURL is the platform API (agent runs, schedules).
	DefaultBaseURL = "https://api.toolhouse.ai/"
	// DefaultAgentsURL is the Workers API (deployed agents).
	DefaultAgentsURL = "https://agents.toolhouse.ai/"
)

const defaultMaxRetries = 2

// sdkUserAgent is the User-Agent every request carries, before what
// WithUserAgent appends.
var sdkUserAgent = fmt.Sprintf("toolhouse-go/%s go/%s %s/%s", Version,
	strings.TrimPrefix(runtime.Version(), "go"), runtime.GOOS, runtime.GOARCH)

// Client talks to the Toolhouse APIs. It is safe for concurrent use.
type Client struct {
	// AgentRuns starts agents from a chat ID and reads their results.
	AgentRuns *AgentRunsService
	// Schedules runs agents at a cadence.
	Schedules *SchedulesService
	// Workers calls deployed agents and streams their answers.
	Workers *WorkersService
	// Agents deploys and manages the agents that Workers runs.
	Agents *AgentsService
	// Secrets stores the values agents read (credentials).
	Secrets *SecretsService

	common service // shared by the services, as their only field

	config
}

// config is the client's configuration: the options write it, NewClient
// completes it from the environment and the defaults, and nothing changes
// it after that.
type config struct {
	hc                  *http.Client
	baseURL, agentsURL  sealedURL       // nil until an option or NewClient sets them
	key                 secret          // the API key, sealed; nil when there is none
	keySource           string          // where the key came from, for errors about it
	red                 func() redactor // hides the key; sealed like it, and built once by NewClient
	userAgent           string
	maxRetries          int
	retryBase, retryMax time.Duration
	requestTimeout      time.Duration // bound of one attempt; 0: none
	maxResponseSize     int64         // largest JSON body read
	maxJobCycles        int           // background jobs one Conversation.Send follows
	logger              *slog.Logger
	poll                PollOptions
	maxLineSize         int
	noEnv               bool // WithoutEnvironment: NewClient reads no TOOLHOUSE_* or ~/.toolhouse

	// sleep, now and afterFunc are the client's clock; tests make them
	// instant. afterFunc arms the request timeout: f runs after d unless
	// stop, called first, reports true.
	sleep     func(context.Context, time.Duration) error
	now       func() time.Time
	afterFunc func(d time.Duration, f func()) (stop func() bool)
}

// service is what every API area holds: a way back to its client.
type service struct{ client *Client }

// NewClient returns a client for the Toolhouse APIs.
//
// The API key is the first of: WithAPIKey, the TOOLHOUSE_API_KEY variable,
// the TOOLHOUSE_API_KEY= line of ~/.toolhouse (written by the th CLI). No
// key is not an error: public workers need none, and platform calls fail
// with ErrMissingAPIKey before sending. TOOLHOUSE_API_URL and
// TOOLHOUSE_AGENTS_URL override the default base URLs; explicit options
// override both.
func NewClient(opts ...Option) (*Client, error) {
	c := &Client{config: config{
		userAgent:       sdkUserAgent,
		maxRetries:      defaultMaxRetries,
		retryBase:       retry.DefaultBase,
		retryMax:        retry.DefaultMax,
		requestTimeout:  defaultRequestTimeout,
		maxResponseSize: defaultMaxResponseSize,
		maxJobCycles:    defaultMaxJobCycles,
		maxLineSize:     DefaultMaxLineSize,
		sleep:           retry.Sleep,
		now:             time.Now,
		afterFunc:       func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop },
	}}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&c.config); err != nil {
			return nil, err
		}
	}
	if err := c.config.settle(); err != nil {
		return nil, err
	}
	if err := checkAPIKey(c.key.value(), c.keySource); err != nil {
		return nil, err
	}
	c.red = keyRedactor(c.key)
	c.hc = withRedirectPolicy(c.hc)
	c.common.client = c
	c.AgentRuns = (*AgentRunsService)(&c.common)
	c.Schedules = (*SchedulesService)(&c.common)
	c.Workers = (*WorkersService)(&c.common)
	c.Agents = (*AgentsService)(&c.common)
	c.Secrets = (*SecretsService)(&c.common)
	return c, nil
}

// String describes the client without its API key, so that printing a
// Client or a *Client (in a log line, a test failure, a panic) never
// reveals the key. The key itself is sealed away from reflection-based
// printers such as go-spew, which testify uses for its diffs.
func (c Client) String() string {
	return fmt.Sprintf("toolhouse.Client{BaseURL: %s, AgentsURL: %s, APIKey: %s}",
		c.baseURL.String(), c.agentsURL.String(), c.keyState())
}

// GoString is String, for %#v.
func (c Client) GoString() string { return c.String() }

// LogValue describes the client to log/slog as String does: the URLs and
// whether a key is set, never the key.
func (c Client) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", c.baseURL.String()),
		slog.String("agents_url", c.agentsURL.String()),
		slog.String("api_key", c.keyState()))
}

func (c *config) keyState() string {
	if c.key == nil {
		return "none"
	}
	return "set"
}
