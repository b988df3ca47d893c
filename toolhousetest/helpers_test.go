package toolhousetest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/toolhouseai/toolhouse-go"
)

// start returns a server closed with the test, and an SDK client for it.
func start(t *testing.T, opts ...Option) (*Server, *toolhouse.Client) {
	t.Helper()
	srv := NewServer(opts...)
	t.Cleanup(srv.Close)
	client, err := srv.Client()
	require.NoError(t, err)
	return srv, client
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// call sends a raw request; key "" sends no Authorization header, and a
// nil body sends none.
func call(t *testing.T, srv *Server, method, url, key string, body any) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
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
