package toolhouse

import (
	"context"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// WorkerRunParams.Bundle rides in the query string of the POST that starts
// the run, where the official JavaScript client puts it, and never in the
// body.
func TestWorkerRunBundleIsAQueryParameter(t *testing.T) {
	t.Parallel()
	type sent struct {
		method, url, body string
	}
	for _, tc := range []struct {
		name   string
		ndjson bool
		params WorkerRunParams
		want   sent
	}{
		{"stream with a message", true, WorkerRunParams{Message: "Hi", Bundle: "web & code"},
			sent{"POST", testAgents + "/ndjson/agent-1?bundle=web+%26+code", `{"message":"Hi"}`}},
		{"text with only a bundle", false, WorkerRunParams{Bundle: "default"},
			sent{"POST", testAgents + "/agent-1?bundle=default", ``}},
		{"no bundle, no query string", true, WorkerRunParams{Message: "Hi"},
			sent{"POST", testAgents + "/ndjson/agent-1", `{"message":"Hi"}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			var (
				mu  sync.Mutex
				got []sent
			)
			record := func(req *http.Request) (*http.Response, error) {
				var body []byte
				if req.Body != nil {
					body, _ = io.ReadAll(req.Body)
				}
				mu.Lock()
				got = append(got, sent{req.Method, req.URL.String(), string(body)})
				mu.Unlock()
				return reply(200, "", headerRunID, "run-1")(req)
			}
			path := "/agent-1"
			if tc.ndjson {
				path = "/ndjson/agent-1"
			}
			h.on("POST", testAgents+path, record)

			ctx := context.Background()
			if tc.ndjson {
				stream, err := h.c.Workers.Stream(ctx, "agent-1", tc.params)
				require.NoError(t, err)
				require.NoError(t, stream.Close())
			} else {
				text, err := h.c.Workers.Run(ctx, "agent-1", tc.params)
				require.NoError(t, err)
				require.NoError(t, text.Close())
			}
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, []sent{tc.want}, got)
		})
	}
}
