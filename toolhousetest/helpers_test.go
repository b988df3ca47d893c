package toolhousetest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/toolhouseai/toolhouse-go"
)

// start returns a server closed with the test, and an SDK client for it.
func start(t *testing.T, opts ...Option) (*Server, *toolhouse.Client) {
	t.Helper()
	srv := New(t, opts...)
	client, err := srv.Client()
	require.NoError(t, err)
	return srv, client
}

// clock is a clock that moves only when the test says: WithClock(c.Now).
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2025, 1, 15, 1, 46, 23, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// call sends a raw request; key "" sends no Authorization header, and a
// nil body sends none. A json.RawMessage body is sent byte for byte, even
// when it is not JSON; any other is encoded.
func call(t *testing.T, srv *Server, method, url, key string, body any) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, raw := body.(json.RawMessage)
		if !raw {
			var err error
			b, err = json.Marshal(body)
			require.NoError(t, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(testContext(t), method, url, rd)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := srv.HTTPClient().Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// readBody reads and closes a response body.
func readBody(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return b
}

// decode reads a JSON response body into a fresh T.
func decode[T any](t *testing.T, resp *http.Response) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(readBody(t, resp), &v), "body must be JSON")
	return v
}

// validationErrors reads a FastAPI 422 answer: the entries of its
// {"detail": [...]}, of which there is at least one.
func validationErrors(t *testing.T, resp *http.Response) []fieldError {
	t.Helper()
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	body := decode[struct {
		Detail []fieldError `json:"detail"`
	}](t, resp)
	require.NotEmpty(t, body.Detail)
	return body.Detail
}

// apiError asserts err is an *APIError with the status and message.
func apiError(t *testing.T, err error, status int, message string) *toolhouse.APIError {
	t.Helper()
	var apiErr *toolhouse.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, status, apiErr.StatusCode, "body: %s", apiErr.Body)
	if message != "" {
		require.Equal(t, message, apiErr.Message)
	}
	return apiErr
}
