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
// environment is still consulted.
func WithAPIKey(key string) Option {
	return func(c *config) error { c.apiKey = strings.TrimSpace(key); return nil }
}

// WithBaseURL sets the platform API's base URL, the host root without /v1
// (a trailing slash is optional).
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
