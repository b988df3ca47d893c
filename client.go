// Package toolhouse is a Go client for the Toolhouse agent platform: agent
// runs and schedules on the platform API, and deployed agents (workers)
// with their text and NDJSON streams and background jobs.
//
// Create a Client with NewClient; it finds the API key in the environment
// (TOOLHOUSE_API_KEY, then ~/.toolhouse) unless given one. Every call
// takes a context, which is the way to bound it: the client sets no
// timeout of its own, so that long streams are not cut.
package toolhouse

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-querystring/query"

	"github.com/toolhouseai/toolhouse-go/internal/poll"
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

const (
	defaultMaxRetries = 2
	// DefaultMaxLineSize is the longest NDJSON line a stream accepts unless
	// WithMaxLineSize or Decoder.SetMaxLineSize says otherwise.
	DefaultMaxLineSize = 32 << 20
)

// Client talks to the Toolhouse APIs. It is safe for concurrent use.
type Client struct {
	// AgentRuns starts agents from a chat ID and reads their results.
	AgentRuns *AgentRunsService
	// Schedules runs agents at a cadence.
	Schedules *SchedulesService
	// Workers calls deployed agents and streams their answers.
	Workers *WorkersService

	common service // shared by the services, as their only field

	hc          *http.Client
	baseURL     *url.URL
	agentsURL   *url.URL
	apiKey      string
	userAgent   string
	maxRetries  int
	retryBase   time.Duration
	retryMax    time.Duration
	logger      *slog.Logger
	poll        PollOptions
	maxLineSize int

	// sleep and now are the client's clock; tests make them instant.
	sleep func(context.Context, time.Duration) error
	now   func() time.Time
}

// service is what every API area holds: a way back to its client.
type service struct{ client *Client }

// Option configures a Client. Options that receive an invalid value make
// NewClient fail.
type Option func(*config) error

// config collects the options before NewClient settles the environment.
type config struct {
	apiKey, baseURL, agentsURL string
	baseSet, agentsSet         bool
	hc                         *http.Client
	userAgent                  string
	maxRetries                 int
	retryBase, retryMax        time.Duration
	logger                     *slog.Logger
	poll                       PollOptions
	maxLineSize                int
	noEnv                      bool
}

// WithAPIKey sets the API key. An empty key counts as not given, so the
// environment is still consulted.
func WithAPIKey(key string) Option {
	return func(c *config) error { c.apiKey = strings.TrimSpace(key); return nil }
}

// WithBaseURL sets the platform API's base URL, the host root without /v1
// (a trailing slash is optional).
func WithBaseURL(rawURL string) Option {
	return func(c *config) error {
		if _, err := parseBaseURL(rawURL); err != nil {
			return fmt.Errorf("toolhouse: WithBaseURL: %w", err)
		}
		c.baseURL, c.baseSet = rawURL, true
		return nil
	}
}

// WithAgentsURL sets the Workers API's base URL.
func WithAgentsURL(rawURL string) Option {
	return func(c *config) error {
		if _, err := parseBaseURL(rawURL); err != nil {
			return fmt.Errorf("toolhouse: WithAgentsURL: %w", err)
		}
		c.agentsURL, c.agentsSet = rawURL, true
		return nil
	}
}

// WithHTTPClient sets the HTTP client. Give it no Timeout if you read
// worker streams: a timeout covers the whole body and would cut them.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("toolhouse: WithHTTPClient: nil *http.Client")
		}
		c.hc = hc
		return nil
	}
}

// WithUserAgent appends ua to the SDK's own User-Agent.
func WithUserAgent(ua string) Option {
	return func(c *config) error {
		if strings.ContainsAny(ua, "\r\n") {
			return errors.New("toolhouse: WithUserAgent: must be one line")
		}
		c.userAgent = strings.TrimSpace(ua)
		return nil
	}
}

// WithMaxRetries sets how many extra tries a failed call gets (default 2);
// 0 disables retries.
func WithMaxRetries(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("toolhouse: WithMaxRetries: %d is negative", n)
		}
		c.maxRetries = n
		return nil
	}
}

// WithRetryBackoff sets the delay before the first retry and its cap
// (defaults 0.5 s and 8 s). Server hints (Retry-After) still take
// precedence.
func WithRetryBackoff(initial, max time.Duration) Option {
	return func(c *config) error {
		if initial <= 0 || max < initial {
			return fmt.Errorf("toolhouse: WithRetryBackoff: need 0 < initial <= max, got %s and %s", initial, max)
		}
		c.retryBase, c.retryMax = initial, max
		return nil
	}
}

// WithLogger logs every attempt at debug level: method, path, status,
// attempt and duration. It never logs the API key or any body.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { c.logger = l; return nil }
}

// WithPollOptions sets the polling used by AgentRuns.Wait,
// Workers.WaitForJob and Conversation: for calls that pass nil options, and
// for the fields a call's own options leave zero.
func WithPollOptions(o PollOptions) Option {
	return func(c *config) error {
		if err := o.validate(); err != nil {
			return fmt.Errorf("toolhouse: WithPollOptions: %w", err)
		}
		c.poll = o
		return nil
	}
}

// WithMaxLineSize sets the longest NDJSON line the client's event streams
// accept (default 32 MiB).
func WithMaxLineSize(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("toolhouse: WithMaxLineSize: %d is not positive", n)
		}
		c.maxLineSize = n
		return nil
	}
}

// WithoutEnvironment makes the client ignore the TOOLHOUSE_* variables and
// ~/.toolhouse: only options configure it.
func WithoutEnvironment() Option {
	return func(c *config) error { c.noEnv = true; return nil }
}

// NewClient returns a client for the Toolhouse APIs.
//
// The API key is the first of: WithAPIKey, the TOOLHOUSE_API_KEY variable,
// the TOOLHOUSE_API_KEY= line of ~/.toolhouse (written by the th CLI). No
// key is not an error: public workers need none, and platform calls fail
// with ErrMissingAPIKey before sending. TOOLHOUSE_API_URL and
// TOOLHOUSE_AGENTS_URL override the default base URLs; explicit options
// override both.
func NewClient(opts ...Option) (*Client, error) {
	cfg := config{maxRetries: defaultMaxRetries, maxLineSize: DefaultMaxLineSize,
		retryBase: retry.DefaultBase, retryMax: retry.DefaultMax}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	base, agents := DefaultBaseURL, DefaultAgentsURL
	if !cfg.noEnv {
		if cfg.apiKey == "" {
			cfg.apiKey = keyFromEnvironment()
		}
		if v := strings.TrimSpace(os.Getenv("TOOLHOUSE_API_URL")); v != "" {
			base = v
		}
		if v := strings.TrimSpace(os.Getenv("TOOLHOUSE_AGENTS_URL")); v != "" {
			agents = v
		}
	}
	if cfg.baseSet {
		base = cfg.baseURL
	}
	if cfg.agentsSet {
		agents = cfg.agentsURL
	}
	baseURL, err := parseBaseURL(base)
	if err != nil {
		return nil, fmt.Errorf("toolhouse: TOOLHOUSE_API_URL: %w", err)
	}
	agentsURL, err := parseBaseURL(agents)
	if err != nil {
		return nil, fmt.Errorf("toolhouse: TOOLHOUSE_AGENTS_URL: %w", err)
	}
	if strings.ContainsFunc(cfg.apiKey, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		// Never repeat the key, not even in part.
		return nil, errors.New("toolhouse: the API key contains spaces or control characters")
	}
	hc := cfg.hc
	if hc == nil {
		hc = &http.Client{}
	}
	ua := fmt.Sprintf("toolhouse-go/%s go/%s %s/%s", Version,
		strings.TrimPrefix(runtime.Version(), "go"), runtime.GOOS, runtime.GOARCH)
	if cfg.userAgent != "" {
		ua += " " + cfg.userAgent
	}
	c := &Client{
		hc:          hc,
		baseURL:     baseURL,
		agentsURL:   agentsURL,
		apiKey:      cfg.apiKey,
		userAgent:   ua,
		maxRetries:  cfg.maxRetries,
		retryBase:   cfg.retryBase,
		retryMax:    cfg.retryMax,
		logger:      cfg.logger,
		poll:        cfg.poll,
		maxLineSize: cfg.maxLineSize,
		sleep:       retry.Sleep,
		now:         time.Now,
	}
	c.common.client = c
	c.AgentRuns = (*AgentRunsService)(&c.common)
	c.Schedules = (*SchedulesService)(&c.common)
	c.Workers = (*WorkersService)(&c.common)
	return c, nil
}

// String describes the client without its API key, so that printing a
// Client (in a log line, a test failure, a panic) never reveals the key.
func (c *Client) String() string {
	key := "none"
	if c.apiKey != "" {
		key = "set"
	}
	return fmt.Sprintf("toolhouse.Client{BaseURL: %s, AgentsURL: %s, APIKey: %s}",
		redactURL(c.baseURL.String()), redactURL(c.agentsURL.String()), key)
}

// GoString is String, for %#v.
func (c *Client) GoString() string { return c.String() }

// keyFromEnvironment returns TOOLHOUSE_API_KEY, else the key in
// ~/.toolhouse, else "".
func keyFromEnvironment() string {
	if v := strings.TrimSpace(os.Getenv("TOOLHOUSE_API_KEY")); v != "" {
		return v
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	f, err := os.Open(filepath.Join(home, ".toolhouse"))
	if err != nil {
		return ""
	}
	defer f.Close()
	return keyFromFile(f)
}

// keyFromFile reads the TOOLHOUSE_API_KEY= line of a th CLI config file.
// The value runs to the end of the line and may itself contain "=".
func keyFromFile(r io.Reader) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		line = strings.TrimPrefix(line, "export ")
		name, value, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(name) != "TOOLHOUSE_API_KEY" {
			continue
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		}
		return value
	}
	return ""
}

// parseBaseURL checks a base URL and gives it the trailing slash that path
// joining relies on.
func parseBaseURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("empty URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url's own message repeats the input, which may hold credentials.
		return nil, fmt.Errorf("cannot parse URL %q", redactURL(raw))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("URL %q must start with http:// or https://", redactURL(raw))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("URL %q has no host", redactURL(raw))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("URL %q must not have a query or fragment", redactURL(raw))
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u, nil
}

// redactURL drops user information from a URL before it is shown.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.LastIndex(raw, "@"); i >= 0 {
			if j := strings.Index(raw, "://"); j >= 0 && j < i {
				return raw[:j+3] + "REDACTED" + raw[i:]
			}
		}
		return raw
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	return u.String()
}

// replay says when a failed attempt may be sent again.
type replay int

const (
	// idempotent calls (GET, DELETE, PUTs that set state) are retried on
	// connection failures and on 408, 429, 500, 502, 503, 504.
	idempotent replay = iota
	// once calls create something or add a message: they are retried only
	// when the request surely never reached the server (dial failure), or
	// on 429, never after a 5xx or a connection lost mid-request.
	once
)

// endpoint is one call, before it becomes an *http.Request.
type endpoint struct {
	method   string
	platform bool     // platform API (needs the key) rather than Workers API
	path     []string // path segments, escaped when joined
	query    any      // a struct with `url` tags, or nil
	body     any      // JSON-encoded when non-nil
	replay   replay
}

// newRequest builds the request for e: URL from the right base with each
// path segment escaped, query from go-querystring, JSON body, auth and
// User-Agent.
func (c *Client) newRequest(ctx context.Context, e endpoint) (*http.Request, error) {
	if ctx == nil {
		return nil, &ArgumentError{Arg: "ctx", Reason: "must not be nil"}
	}
	if e.platform && c.apiKey == "" {
		return nil, ErrMissingAPIKey
	}
	base := c.agentsURL
	if e.platform {
		base = c.baseURL
	}
	u := *base
	var escaped strings.Builder
	escaped.WriteString(base.EscapedPath())
	for i, seg := range e.path {
		if i > 0 {
			escaped.WriteByte('/')
		}
		escaped.WriteString(url.PathEscape(seg))
	}
	u.Path = base.Path + strings.Join(e.path, "/")
	u.RawPath = escaped.String()
	if e.query != nil {
		v, err := query.Values(e.query)
		if err != nil {
			return nil, fmt.Errorf("toolhouse: encoding query: %w", err)
		}
		u.RawQuery = v.Encode()
	}
	var body []byte
	if e.body != nil {
		var err error
		if body, err = json.Marshal(e.body); err != nil {
			return nil, fmt.Errorf("toolhouse: encoding request body: %w", err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, e.method, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("toolhouse: building request: %w", err)
	}
	if body != nil {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		req.ContentLength = int64(len(body))
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", c.userAgent)
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	return req, nil
}

// send sends req, retrying as r allows, and returns a 2xx response whose
// body the caller must close. A non-2xx answer becomes an *APIError, after
// the body (at most 1 MiB of it) has been read and closed. Nothing is
// retried once a 2xx response arrived: a stream's body is never replayed.
func (c *Client) send(req *http.Request, r replay) (*http.Response, error) {
	resp, err := c.sendRetrying(req, r)
	return resp, c.scrub(err)
}

// sendRetrying is send before its error is scrubbed of the key.
func (c *Client) sendRetrying(req *http.Request, r replay) (*http.Response, error) {
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			// Not every RoundTripper checks: send nothing for a dead context.
			return nil, transportError(req, err)
		}
		if attempt > 0 {
			req = retryRequest(req)
		}
		start := c.now()
		resp, err := c.hc.Do(req)
		c.logAttempt(req, resp, attempt, start, err)
		if err == nil && resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return resp, nil
		}
		var apiErr *APIError
		if err != nil {
			err = transportError(req, err)
		} else {
			if resp.Request == nil {
				// A RoundTripper need not set it (httpmock does not); the
				// error names the request from it.
				resp.Request = req
			}
			apiErr = readAPIError(resp)
			apiErr.redact(c.apiKey)
			err = apiErr
		}
		if attempt >= c.maxRetries || ctx.Err() != nil || !c.retryable(r, err, apiErr) {
			return nil, err
		}
		delay := retry.Backoff(attempt, c.retryBase, c.retryMax)
		if apiErr != nil {
			if hint, ok := retry.Hint(apiErr.Header, c.now()); ok {
				if hint > retry.DefaultMaxHint {
					apiErr.RetryAfter = hint
					return nil, apiErr
				}
				delay = hint
			}
		}
		if c.logger != nil {
			// The status was logged with the attempt; an API error's message
			// comes from the body, which is never logged.
			c.logger.DebugContext(ctx, "toolhouse: retrying", "method", req.Method, "path", req.URL.Path,
				"next_attempt", attempt+2, "delay", delay)
		}
		if serr := c.sleep(ctx, delay); serr != nil {
			// Both are wrapped: errors.Is(err, context.Canceled) and
			// errors.As(err, &apiErr) both work.
			return nil, fmt.Errorf("toolhouse: %s %s: giving up while waiting to retry: %w (last error: %w)",
				req.Method, req.URL.Path, serr, err)
		}
	}
}

// retryable applies the replay rules to one failed attempt.
func (c *Client) retryable(r replay, err error, apiErr *APIError) bool {
	if apiErr != nil {
		if r == once {
			return apiErr.StatusCode == http.StatusTooManyRequests
		}
		return retry.RetryableStatus(apiErr.StatusCode)
	}
	if r == once {
		return retry.NotSent(err)
	}
	return retry.Transient(err)
}

// retryRequest makes the next attempt of req, with a fresh copy of its body.
func retryRequest(req *http.Request) *http.Request {
	next := req.Clone(req.Context())
	if req.GetBody != nil {
		// GetBody of newRequest never fails: it re-reads a byte slice.
		next.Body, _ = req.GetBody()
	}
	return next
}

// readAPIError reads at most maxErrorBody of a failed response, closes it,
// and returns the error it describes.
func readAPIError(resp *http.Response) *APIError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	// Drain a little more so the connection can be reused, then close.
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
	return newAPIError(resp, body)
}

// transportError names the request in an error from the HTTP client,
// whose *url.Error would otherwise repeat the full URL.
func transportError(req *http.Request, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("toolhouse: %s %s: %w", req.Method, redactURL(req.URL.String()), err)
}

func (c *Client) logAttempt(req *http.Request, resp *http.Response, attempt int, start time.Time, err error) {
	if c.logger == nil || !c.logger.Enabled(req.Context(), slog.LevelDebug) {
		return
	}
	attrs := []any{"method", req.Method, "path", req.URL.Path, "attempt", attempt + 1,
		"duration", c.now().Sub(start)}
	if resp != nil {
		attrs = append(attrs, "status", resp.StatusCode)
	}
	if err != nil {
		attrs = append(attrs, "error", c.scrub(transportError(req, err)).Error())
	}
	c.logger.DebugContext(req.Context(), "toolhouse: request", attrs...)
}

// do builds, sends and decodes one JSON call: the 2xx body is decoded into
// v (when v is non-nil and the body is not empty) and closed.
func (c *Client) do(ctx context.Context, e endpoint, v any) (*http.Response, error) {
	req, err := c.newRequest(ctx, e)
	if err != nil {
		return nil, err
	}
	resp, err := c.send(req, e.replay)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp, c.scrub(transportError(req, err))
	}
	if v == nil || len(bytes.TrimSpace(body)) == 0 {
		return resp, nil
	}
	if err := decodeJSON(body, v); err != nil {
		return resp, c.scrub(fmt.Errorf("toolhouse: %s %s: decoding the %d response: %w",
			req.Method, req.URL.Path, resp.StatusCode, err))
	}
	return resp, nil
}

// scrub hides the API key in err's message, should anything (a server
// echoing the request, a custom transport) have put it there. The original
// error stays reachable with errors.Is and errors.As.
func (c *Client) scrub(err error) error {
	if err == nil || c.apiKey == "" || !strings.Contains(err.Error(), c.apiKey) {
		return err
	}
	return &scrubbedError{msg: strings.ReplaceAll(err.Error(), c.apiKey, redacted), err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// envelope is the platform API's success body, {"data": ...}.
type envelope[T any] struct {
	Data T `json:"data"`
}

// platformCall sends a platform API call and returns its "data" payload.
func platformCall[T any](ctx context.Context, c *Client, e endpoint) (T, error) {
	e.platform = true
	var out envelope[T]
	_, err := c.do(ctx, e, &out)
	return out.Data, err
}

// platformObject is platformCall for the calls that must return an object:
// a 2xx answer without "data" is an error, never a nil result with a nil
// error that the caller would dereference.
func platformObject[T any](ctx context.Context, c *Client, e endpoint) (*T, error) {
	v, err := platformCall[*T](ctx, c, e)
	if err == nil && v == nil {
		err = fmt.Errorf("toolhouse: %s /%s: the response has no \"data\" object", e.method, strings.Join(e.path, "/"))
	}
	return v, err
}

// decodeJSON decodes a response body. A body that is not JSON (an HTML
// page with a 200) gets an error that shows what came instead. The
// product documents show payloads with a trailing comma in a list, so a
// body that fails only for that reason is read without it.
func decodeJSON(body []byte, v any) error {
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var syn *json.SyntaxError
	if !errors.As(err, &syn) {
		return err
	}
	if fixed, ok := dropTrailingCommas(body); ok && json.Unmarshal(fixed, v) == nil {
		return nil
	}
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] != '{' && trimmed[0] != '[' {
		return fmt.Errorf("response is not JSON: %s", snippet(trimmed))
	}
	return err
}

// dropTrailingCommas removes commas that stand right before a closing ]
// or }, outside strings. ok is false when there were none.
func dropTrailingCommas(b []byte) (out []byte, ok bool) {
	out = make([]byte, 0, len(b))
	inString, escaped := false, false
	for i := 0; i < len(b); i++ {
		ch := b[i]
		if inString {
			out = append(out, ch)
			switch {
			case escaped:
				escaped = false
			case ch == '\\':
				escaped = true
			case ch == '"':
				inString = false
			}
			continue
		}
		if ch == ',' {
			j := i + 1
			for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\n' || b[j] == '\r') {
				j++
			}
			if j < len(b) && (b[j] == ']' || b[j] == '}') {
				ok = true
				continue
			}
		}
		if ch == '"' {
			inString = true
		}
		out = append(out, ch)
	}
	return out, ok
}

// pollOptions returns the polling settings for one wait: each field from
// the call's options when set, else from the client's WithPollOptions, else
// (zero) the defaults. A call that only bounds the wait with MaxWait keeps
// the client's pace.
func (c *Client) pollOptions(opts *PollOptions) (PollOptions, error) {
	if opts == nil {
		return c.poll, nil
	}
	if err := opts.validate(); err != nil {
		return PollOptions{}, err
	}
	o := *opts
	if o.Interval == 0 {
		o.Interval = c.poll.Interval
	}
	if o.MaxInterval == 0 {
		o.MaxInterval = c.poll.MaxInterval
	}
	if o.MaxWait == 0 {
		o.MaxWait = c.poll.MaxWait
	}
	return o, nil
}

// loop turns the options into the poll loop, on the client's clock.
func (c *Client) loop(opts *PollOptions) (poll.Loop, error) {
	o, err := c.pollOptions(opts)
	if err != nil {
		return poll.Loop{}, err
	}
	return poll.Loop{Interval: o.Interval, MaxInterval: o.MaxInterval, MaxWait: o.MaxWait,
		Sleep: c.sleep, Now: c.now}, nil
}
