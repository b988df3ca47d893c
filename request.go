package toolhouse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-querystring/query"

	"github.com/toolhouseai/toolhouse-go/internal/jsonscan"
	"github.com/toolhouseai/toolhouse-go/internal/retry"
)

// The request road: every call of every service is built by newRequest,
// sent by send (auth, retries, logging, errors) and, for a JSON answer,
// read by do.

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
	if fast, ok := v.(bodyDecoder); ok && fast.decodeBody(body) {
		return nil
	}
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var syn *json.SyntaxError
	if !errors.As(err, &syn) {
		return err
	}
	if fixed, ok := jsonscan.DropTrailingCommas(body); ok && json.Unmarshal(fixed, v) == nil {
		return nil
	}
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] != '{' && trimmed[0] != '[' {
		return fmt.Errorf("response is not JSON: %s", snippet(trimmed))
	}
	return err
}
