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
	"reflect"
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
	secrets  []string // hidden like the API key in errors (a secret's value)
}

// newRequest builds the request for e: URL from the right base with each
// path segment escaped, query from go-querystring, JSON body, auth and
// User-Agent.
func (c *Client) newRequest(ctx context.Context, e endpoint) (*http.Request, error) {
	if err := checkContext(ctx); err != nil {
		return nil, err
	}
	key := c.key.value()
	if e.platform && key == "" {
		return nil, ErrMissingAPIKey
	}
	base := c.agentsURL()
	if e.platform {
		base = c.baseURL()
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
		return nil, fmt.Errorf("toolhouse: building request: %w", redactURLError(err))
	}
	if body != nil {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		req.ContentLength = int64(len(body))
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", c.userAgent)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return req, nil
}

// checkContext refuses a nil context, which would make the HTTP client or
// a wait panic deep inside.
func checkContext(ctx context.Context) error {
	if ctx == nil {
		return &ArgumentError{Arg: "ctx", Reason: "must not be nil (use context.Background())"}
	}
	return nil
}

// redactURLError drops the URL that *url.Error repeats.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// exchange says where one attempt of a call ends.
type exchange int

const (
	// wholeBody: a JSON call, whose attempt reads the whole 2xx body
	// (at most maxResponseSize bytes) under the request timeout.
	wholeBody exchange = iota
	// headersOnly: a stream, whose attempt ends with the response
	// headers; the body is the caller's to read, as long as it runs.
	headersOnly
)

// send sends a stream's request, retrying as r allows, and returns a 2xx
// response whose body the caller must close. A non-2xx answer becomes an
// *APIError, after the body (at most 1 MiB of it) has been read and
// closed. Nothing is retried once a 2xx response arrived: a stream's body
// is never replayed. The API key never appears in the error.
func (c *Client) send(req *http.Request, r replay) (*http.Response, error) {
	red := c.redactor()
	resp, _, err := c.sendRetrying(req, r, headersOnly, red)
	return resp, red.scrub(err)
}

// sendRetrying sends req until an attempt succeeds or the replay rule r
// gives up, and returns the 2xx response: for wholeBody, with its body
// read into the returned bytes and closed. Its errors are not scrubbed
// yet; an *APIError is already redacted of red's secrets.
func (c *Client) sendRetrying(req *http.Request, r replay, x exchange, red redactor) (*http.Response, []byte, error) {
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			// Not every RoundTripper checks: send nothing for a dead context.
			return nil, nil, transportError(req, err)
		}
		if attempt > 0 {
			req = retryRequest(req)
		}
		start := c.now()
		resp, body, err := c.attempt(req, x, red)
		c.logAttempt(req, resp, attempt, start, err, red)
		if err == nil {
			return resp, body, nil
		}
		var apiErr *APIError
		errors.As(err, &apiErr)
		if attempt >= c.maxRetries || ctx.Err() != nil || !c.retryable(r, err, apiErr) {
			return nil, nil, err
		}
		delay := retry.Backoff(attempt, c.retryBase, c.retryMax)
		if apiErr != nil {
			if hint, ok := retry.Hint(apiErr.Header, c.now()); ok {
				if hint > retry.DefaultMaxHint {
					apiErr.RetryAfter = hint
					return nil, nil, apiErr
				}
				delay = hint
			}
		}
		if c.logger != nil {
			// The status was logged with the attempt; an API error's message
			// comes from the body, which is never logged.
			c.logger.DebugContext(ctx, "toolhouse: retrying", "method", req.Method, "path", red.redact(req.URL.Path),
				"next_attempt", attempt+2, "delay", delay)
		}
		if serr := c.sleep(ctx, delay); serr != nil {
			// Both are wrapped: errors.Is(err, context.Canceled) and
			// errors.As(err, &apiErr) both work.
			return nil, nil, fmt.Errorf("toolhouse: %s %s: giving up while waiting to retry: %w (last error: %w)",
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
	var timeout *timeoutError
	if errors.As(err, &timeout) {
		// The server may have acted on a call it did not answer in time.
		return r == idempotent
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

// readAPIError reads the body of a failed response (at most maxErrorBody of
// it is kept), closes it, and returns the error it describes, with every
// copy of red's secrets redacted before anything is cut.
func readAPIError(resp *http.Response, red redactor) *APIError {
	// Read past the cap by the longest form of a secret (every character
	// a \uXXXX escape), so that a copy that straddles the cap is whole
	// when it is redacted and the cut cannot leave a piece of it.
	margin := int64(6 * red.longest())
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody+margin))
	// Drain a little more so the connection can be reused, then close.
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
	return newAPIError(resp, body, red)
}

// transportError names the request in an error from the HTTP client,
// whose *url.Error would otherwise repeat the full URL.
func transportError(req *http.Request, err error) error {
	return requestError(req, "%w", redactURLError(err))
}

// requestError is the error of one call: "toolhouse: METHOD URL: " and
// what format says, the URL shown as redactURL shows it.
func requestError(req *http.Request, format string, args ...any) error {
	return fmt.Errorf("toolhouse: %s %s: "+format, append([]any{req.Method, redactURL(req.URL.String())}, args...)...)
}

func (c *Client) logAttempt(req *http.Request, resp *http.Response, attempt int, start time.Time, err error, red redactor) {
	if c.logger == nil || !c.logger.Enabled(req.Context(), slog.LevelDebug) {
		return
	}
	// A careless caller may have passed the key as an ID.
	attrs := []any{"method", req.Method, "path", red.redact(req.URL.Path), "attempt", attempt + 1,
		"duration", c.now().Sub(start)}
	if resp != nil {
		attrs = append(attrs, "status", resp.StatusCode)
	}
	var apiErr *APIError
	if err != nil && !errors.As(err, &apiErr) {
		// An API error's message comes from the body, which is never logged.
		attrs = append(attrs, "error", red.scrub(err).Error())
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
	red := c.redactor(e.secrets...)
	resp, body, err := c.sendRetrying(req, e.replay, wholeBody, red)
	if err != nil {
		return nil, red.scrub(err)
	}
	if v == nil || len(bytes.TrimSpace(body)) == 0 {
		return resp, nil
	}
	if err := decodeJSON(body, v); err != nil {
		if red.in(body) {
			// The error may quote a piece of the body (a timestamp, a
			// snippet) that cuts a copy of a secret: describe the failure
			// from a copy of the body without the secrets.
			err = decodeError(red.redactBytes(body), v)
		}
		return resp, red.scrub(requestError(req, "decoding the %d response: %w", resp.StatusCode, err))
	}
	return resp, nil
}

// decodeError decodes body into a new value of v's type, to learn what is
// wrong with it.
func decodeError(body []byte, v any) error {
	fresh := reflect.New(reflect.TypeOf(v).Elem()).Interface()
	if err := decodeJSON(body, fresh); err != nil {
		return err
	}
	return errors.New("the body does not fit the expected shape (details withheld: they quote a secret)")
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
		err = c.noObject(e, `the response has no "data" object`)
	}
	return v, err
}

// noObject is the error of a call whose 2xx answer lacks what it must
// hold (what says so). It names the path, scrubbed: a careless caller may
// have passed the key as an ID.
func (c *Client) noObject(e endpoint, what string) error {
	return c.redactor().scrub(fmt.Errorf("toolhouse: %s /%s: %s", e.method, strings.Join(e.path, "/"), what))
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
