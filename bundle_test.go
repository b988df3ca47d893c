package toolhouse

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// WorkerRunParams.Bundle rides in the query string of the POST that starts
// the run, where the official JavaScript client puts it, and never in the
// body.
func TestWorkerRunBundleIsAQueryParameter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		ndjson bool
		params WorkerRunParams
		want   string // "METHOD path?query body", as harness.calls renders it
		query  string
	}{
		{"stream with a message", true, WorkerRunParams{Message: "Hi", Bundle: "web & code"},
			`POST /ndjson/agent-1 {"message":"Hi"}`, "bundle=web+%26+code"},
		{"text with only a bundle", false, WorkerRunParams{Bundle: "default"},
			`POST /agent-1`, "bundle=default"},
		{"no bundle, no query string", true, WorkerRunParams{Message: "Hi"},
			`POST /ndjson/agent-1 {"message":"Hi"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			path := "/agent-1"
			if tc.ndjson {
				path = "/ndjson/agent-1"
			}
			h.on("POST", testAgents+path, reply(200, "", headerRunID, "run-1"))

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
			assert.Equal(t, []string{tc.want}, h.calls())
			assert.Equal(t, tc.query, h.requests()[0].Query)
		})
	}
}
