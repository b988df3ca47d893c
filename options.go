package toolhouse

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Option configures a Client. Options that receive an invalid value make
// NewClient fail.
type Option func(*config) error

// WithAPIKey sets the API key. An empty key counts as not given, so the
// environment is still consulted. The key is sent only to the origin
// (scheme, host and port) of the base URL of the API called.
func WithAPIKey(key string) Option {
	return func(c *config) error {
		c.key, c.keySource = newAPIKey(strings.TrimSpace(key)), "WithAPIKey"
		return nil
	}
}

// WithBaseURL sets the platform API's base URL, the host root (a trailing
// slash is optional). A URL ending in /v1 is read as its host root, since
// every call's path starts with v1/.
func WithBaseURL(rawURL string) Option {
	return func(c *config) (err error) {
		if c.baseURL, err = parseBaseURL(rawURL); err != nil {
			return fmt.Errorf("toolhouse: WithBaseURL: %w", err)
		}
		return nil
	}
}

// WithAgentsURL sets the Workers API's base URL.
func WithAgentsURL(rawURL string) Option {
	return func(c *config) (err error) {
		if c.agentsURL, err = parseBaseURL(rawURL); err != nil {
			return fmt.Errorf("toolhouse: WithAgentsURL: %w", err)
		}
		return nil
	}
}

// WithHTTPClient sets the HTTP client: its Transport, Jar and Timeout are
// used as they are. Give it no Timeout if you read worker streams: a
// timeout covers the whole body and would cut them (WithRequestTimeout
// bounds calls without cutting streams).
//
// The client works on a copy of hc whose CheckRedirect adds the SDK's
// redirect policy before hc's own: the API key goes only to the origin it
// was configured for, and a redirect that would change a call's method, or
// carry its body to another origin, is not followed.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("toolhouse: WithHTTPClient: nil *http.Client")
		}
		c.hc = hc
		return nil
	}
}

// WithUserAgent appends ua to the SDK's own User-Agent. It must be one
// line without control characters, which no HTTP header may hold.
func WithUserAgent(ua string) Option {
	return func(c *config) error {
		if strings.ContainsFunc(ua, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) {
			return errors.New("toolhouse: WithUserAgent: must be one line without control characters")
		}
		c.userAgent = sdkUserAgent
		if ua = strings.TrimSpace(ua); ua != "" {
			c.userAgent += " " + ua
		}
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
		if err := o.validate("WithPollOptions"); err != nil {
			return err
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

// Defaults of the limits below.
const (
	// defaultRequestTimeout is the OpenAI and Anthropic SDKs' default: a
	// worker may send its headers only with its first token, which can
	// take minutes, but a server that stalls must not hold a call forever.
	defaultRequestTimeout = 10 * time.Minute
	// defaultMaxResponseSize is far above any JSON answer of the APIs (an
	// agent run with a long history is a few MiB) and low enough that a
	// broken or hostile server cannot exhaust a service's memory.
	defaultMaxResponseSize = 64 << 20
	// defaultMaxJobCycles is far more background jobs than one answer
	// starts; a server that starts a job on every resumed answer meets it
	// instead of keeping a Send going forever.
	defaultMaxJobCycles = 50
)

// WithRequestTimeout bounds one attempt of a call: for a JSON call the
// whole exchange, headers and body; for a stream (Workers.Run, Stream,
// Continue, ContinueStream, Conversation.Send) only the wait for the
// response headers, never the body, which may run as long as the worker
// talks. The default is 10 minutes, long enough for a worker that sends
// its headers only with its first token, short enough that a stalled
// server cannot hold a call forever. An attempt cut by the bound counts as
// a connection failure: idempotent calls are retried, calls sent once are
// not. 0 turns the bound off (the context still bounds every call); a
// negative d makes NewClient fail.
func WithRequestTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("toolhouse: WithRequestTimeout: %s is negative", d)
		}
		c.requestTimeout = d
		return nil
	}
}

// WithMaxResponseSize sets the largest JSON response body a call reads
// (default 64 MiB), counted after decompression. A larger body ends the
// call with an error that names the limit and this option, having read at
// most a little more than n bytes. Streams are bounded per line instead
// (WithMaxLineSize); error bodies are kept up to 1 MiB.
func WithMaxResponseSize(n int64) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("toolhouse: WithMaxResponseSize: %d is not positive", n)
		}
		c.maxResponseSize = n
		return nil
	}
}

// WithMaxJobCycles sets how many background jobs one Conversation.Send
// follows (default 50). The stream of a Send whose answers start more jobs
// than that ends with an error matching ErrTooManyJobs; the run is left as
// it is, and a Send with an empty message takes it up again.
func WithMaxJobCycles(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("toolhouse: WithMaxJobCycles: %d is not positive", n)
		}
		c.maxJobCycles = n
		return nil
	}
}

// WithoutEnvironment makes the client ignore the TOOLHOUSE_* variables and
// ~/.toolhouse: only options configure it.
func WithoutEnvironment() Option {
	return func(c *config) error { c.noEnv = true; return nil }
}
