package toolhouse

// Careless callers get a clear error before anything is sent, never a
// panic or a silent wrong answer.

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEveryMethodRefusesANilContext calls every method with a nil context
// and, where it takes any, other arguments that are invalid too: the
// context is named first, as the first argument, the fix a caller needs
// before any other.
func TestEveryMethodRefusesANilContext(t *testing.T) {
	t.Parallel()
	h := newHarness(t) // no responder: a request would fail the call differently
	c := h.c
	var ctx context.Context // nil
	calls := map[string]func() error{
		"AgentRuns.Create":     func() error { _, err := c.AgentRuns.Create(ctx, AgentRunCreateParams{}); return err },
		"AgentRuns.Get":        func() error { _, err := c.AgentRuns.Get(ctx, ""); return err },
		"AgentRuns.List":       func() error { _, err := c.AgentRuns.List(ctx); return err },
		"AgentRuns.Continue":   func() error { _, err := c.AgentRuns.Continue(ctx, "", ""); return err },
		"AgentRuns.Wait":       func() error { _, err := c.AgentRuns.Wait(ctx, "", &PollOptions{Interval: -1}); return err },
		"Schedules.TextToCron": func() error { _, err := c.Schedules.TextToCron(ctx, ""); return err },
		"Schedules.Create":     func() error { _, err := c.Schedules.Create(ctx, ScheduleCreateParams{}); return err },
		"Schedules.Get":        func() error { _, err := c.Schedules.Get(ctx, ""); return err },
		"Schedules.List":       func() error { _, err := c.Schedules.List(ctx); return err },
		"Schedules.Update":     func() error { _, err := c.Schedules.Update(ctx, "", ScheduleUpdateParams{}); return err },
		"Schedules.Pause":      func() error { _, err := c.Schedules.Pause(ctx, ""); return err },
		"Schedules.Resume":     func() error { _, err := c.Schedules.Resume(ctx, "a/b"); return err },
		"Schedules.Delete":     func() error { return c.Schedules.Delete(ctx, "..") },
		"Workers.Run":          func() error { _, err := c.Workers.Run(ctx, "", WorkerRunParams{}); return err },
		"Workers.Continue":     func() error { _, err := c.Workers.Continue(ctx, "", "", ""); return err },
		"Workers.Stream":       func() error { _, err := c.Workers.Stream(ctx, "a/b", WorkerRunParams{}); return err },
		"Workers.ContinueStream": func() error {
			_, err := c.Workers.ContinueStream(ctx, "", "..", "")
			return err
		},
		"Workers.Get":        func() error { _, err := c.Workers.Get(ctx, "", ""); return err },
		"Workers.WaitForJob": func() error { _, err := c.Workers.WaitForJob(ctx, "", "", nil); return err },
		"Conversation.Send":  func() error { _, err := c.Workers.Conversation("").Send(ctx, ""); return err },
		"ResumeConversation.Send": func() error {
			_, err := c.Workers.ResumeConversation("", "").Send(ctx, "")
			return err
		},
		"Agents.List":    func() error { _, err := c.Agents.List(ctx); return err },
		"Agents.Get":     func() error { _, err := c.Agents.Get(ctx, ""); return err },
		"Agents.Create":  func() error { _, err := c.Agents.Create(ctx, AgentCreateParams{ID: "a/b"}); return err },
		"Agents.Update":  func() error { _, err := c.Agents.Update(ctx, "", AgentUpdateParams{}); return err },
		"Agents.Delete":  func() error { return c.Agents.Delete(ctx, "") },
		"Secrets.List":   func() error { _, err := c.Secrets.List(ctx); return err },
		"Secrets.Set":    func() error { return c.Secrets.Set(ctx, "", "") },
		"Secrets.Delete": func() error { return c.Secrets.Delete(ctx, ".") },
	}
	for name, call := range calls {
		var err error
		require.NotPanics(t, func() { err = call() }, name)
		var argErr *ArgumentError
		if assert.ErrorAs(t, err, &argErr, name) {
			assert.Equal(t, "ctx", argErr.Arg, name)
		}
	}
	assert.Empty(t, h.requests(), "nothing was sent")
}

func TestBadPollOptionsAreArgumentErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	for name, opts := range map[string]*PollOptions{
		"negative interval": {Interval: -1},
		"negative cap":      {MaxInterval: -1},
		"negative wait":     {MaxWait: -1},
	} {
		_, err := h.c.AgentRuns.Wait(ctx, "r1", opts)
		var argErr *ArgumentError
		require.ErrorAs(t, err, &argErr, name)
		assert.Equal(t, "opts", argErr.Arg)
		assert.Contains(t, err.Error(), "negative")

		_, err = h.c.Workers.WaitForJob(ctx, "agent-1", "run-1", opts)
		require.ErrorAs(t, err, &argErr, name)
		assert.Equal(t, "opts", argErr.Arg)
	}
	assert.Empty(t, h.requests())
}

func TestBaseURLEndingInV1IsTheHostRoot(t *testing.T) {
	// The documents show request URLs, and a base URL copied from one ends
	// in /v1: calls must still go to /v1/..., never /v1/v1/..., whose 404
	// would even pass for "already deleted" (ErrNotFound).
	tests := []struct {
		name     string
		opts     []Option
		env      map[string]string
		wantCall string
	}{
		{"option", []Option{WithBaseURL(testBase + "/v1")}, nil, testBase + "/v1/schedules/s1"},
		{"option with a slash", []Option{WithBaseURL(testBase + "/v1/")}, nil, testBase + "/v1/schedules/s1"},
		{"behind a proxy prefix", []Option{WithBaseURL("https://proxy.test/toolhouse/v1")}, nil,
			"https://proxy.test/toolhouse/v1/schedules/s1"},
		{"environment", nil, map[string]string{envAPIURL: testBase + "/v1/"}, testBase + "/v1/schedules/s1"},
		{"agents URL", []Option{WithAgentsURL(testAgents + "/v1")}, nil, testAgents + "/agent-1/run-1"},
		{"agents environment", nil, map[string]string{envAgentsURL: testAgents + "/v1"}, testAgents + "/agent-1/run-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HOME", t.TempDir())
			t.Setenv(envAPIURL, "")
			t.Setenv(envAgentsURL, "")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			h := newHarness(t)
			opts := tt.opts
			if tt.env != nil {
				// The harness names its URLs; give the environment its say.
				h.opts = []Option{WithAPIKey(testKey)}
			}
			c := h.client(t, opts...)
			h.mock.RegisterResponder(http.MethodDelete, tt.wantCall, reply(http.StatusNoContent, ""))
			h.mock.RegisterResponder(http.MethodGet, tt.wantCall, reply(http.StatusOK, "[]"))

			var err error
			if strings.HasPrefix(tt.wantCall, testAgents) {
				_, err = c.Workers.Get(context.Background(), "agent-1", "run-1")
			} else {
				err = c.Schedules.Delete(context.Background(), "s1")
			}
			require.NoError(t, err, "the call reached %s", tt.wantCall)
		})
	}
}
