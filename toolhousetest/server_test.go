package toolhousetest

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/toolhouseai/toolhouse-go"
)

func TestPlatformAuth(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, WithAPIKey("th-right"))
	ctx := testContext(t)

	wrong, err := srv.Client(toolhouse.WithAPIKey("th-wrong"))
	require.NoError(t, err)
	_, err = wrong.AgentRuns.List(ctx)
	apiErr := apiError(t, err, http.StatusUnauthorized, "Invalid API key")
	assert.Equal(t, "Bearer", apiErr.Header.Get("WWW-Authenticate"))
	assert.NotContains(t, err.Error(), "th-wrong")
	_, err = wrong.Schedules.TextToCron(ctx, "hourly")
	apiError(t, err, http.StatusUnauthorized, "Invalid API key")

	right, err := srv.Client()
	require.NoError(t, err)
	_, err = right.AgentRuns.List(ctx)
	require.NoError(t, err)

	resp := call(t, srv, http.MethodGet, srv.BaseURL()+"/v1/schedules", "", nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.JSONEq(t, `{"detail":"Not authenticated"}`, string(readBody(t, resp)))

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.BaseURL()+"/v1/schedules", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Basic th-right")
	resp, err = srv.HTTPClient().Do(req)
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "only a Bearer token counts")
	readBody(t, resp)

	// Routing answers before the key is looked at, as FastAPI does.
	resp = call(t, srv, http.MethodGet, srv.BaseURL()+"/v1/nothing", "", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.JSONEq(t, `{"detail":"Not Found"}`, string(readBody(t, resp)))
	resp = call(t, srv, http.MethodDelete, srv.BaseURL()+"/v1/agent-runs", "", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, "GET, POST", resp.Header.Get("Allow"))
	assert.JSONEq(t, `{"detail":"Method Not Allowed"}`, string(readBody(t, resp)))
}

func TestClientOptionsOverride(t *testing.T) {
	t.Parallel()
	srv, _ := start(t)
	client, err := srv.Client(toolhouse.WithUserAgent("mytests/1.0"))
	require.NoError(t, err)
	_, err = client.AgentRuns.List(testContext(t))
	require.NoError(t, err)
	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	assert.Contains(t, reqs[0].Header.Get("User-Agent"), "mytests/1.0")
}

func TestNewServerRejectsBrokenScripts(t *testing.T) {
	assert.PanicsWithValue(t, `toolhousetest: chat ID "chat-1" is not a UUID; the platform accepts only UUIDs`,
		func() { NewServer(WithChat(Chat{ID: "chat-1"})) })
	assert.Panics(t, func() { NewServer(WithAgent(Agent{ID: "a/b"})) })
	assert.Panics(t, func() { NewServer(WithAgent(Agent{ID: ""})) })
	assert.Panics(t, func() { NewServer(WithAgent(Agent{ID: "x", Turns: []Turn{{StartJob(1), StartJob(2)}}})) })
	assert.Panics(t, func() { NewServer(WithAgent(Agent{ID: "x", Turns: []Turn{{Step{}}}})) })
	assert.Panics(t, func() { CallTool("t", func() {}, nil) })
}

// TestParallelUse runs many servers at once, each used by many goroutines;
// with -race it shows the locking is right and servers share nothing.
func TestParallelUse(t *testing.T) {
	t.Parallel()
	for i := range 4 {
		t.Run(fmt.Sprint("server", i), func(t *testing.T) {
			t.Parallel()
			srv, client := start(t, WithRunReads(0, 1))
			ctx := testContext(t)
			var wg sync.WaitGroup
			errs := make(chan error, 64)
			for range 8 {
				wg.Add(2)
				go func() {
					defer wg.Done()
					run, err := client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{ChatID: DemoChatID})
					if err == nil {
						_, err = client.AgentRuns.Wait(ctx, run.ID, nil)
					}
					if err == nil {
						var sc *toolhouse.Schedule
						if sc, err = client.Schedules.Create(ctx, toolhouse.ScheduleCreateParams{ChatID: DemoChatID, Cadence: "daily"}); err == nil {
							_, err = client.Schedules.Pause(ctx, sc.ID)
						}
					}
					errs <- err
				}()
				go func() {
					defer wg.Done()
					req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.AgentsURL()+"/ndjson/"+DemoAgentID, nil)
					if err != nil {
						errs <- err
						return
					}
					resp, err := srv.HTTPClient().Do(req)
					if err != nil {
						errs <- err
						return
					}
					runID := resp.Header.Get("X-Toolhouse-Run-ID")
					_ = resp.Body.Close()
					for range 3 {
						r, err := srv.HTTPClient().Get(srv.AgentsURL() + "/" + DemoAgentID + "/" + runID)
						if err != nil {
							errs <- err
							return
						}
						_ = r.Body.Close()
					}
					errs <- nil
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			runs, err := client.AgentRuns.List(ctx)
			require.NoError(t, err)
			assert.Len(t, runs, 8)
			for _, r := range runs {
				assert.Equal(t, toolhouse.RunCompleted, r.Status)
			}
			scheds, err := client.Schedules.List(ctx)
			require.NoError(t, err)
			assert.Len(t, scheds, 8)
		})
	}
}
