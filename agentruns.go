package toolhouse

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/toolhouseai/toolhouse-go/internal/poll"
)

// AgentRunsService starts agents from a Prompt Studio chat and reads their
// results (v1/agent-runs).
type AgentRunsService service

// RunStatus is the state of an agent run.
type RunStatus string

// The states of an agent run, in the order a run goes through them.
const (
	RunQueued     RunStatus = "queued"
	RunInProgress RunStatus = "in_progress"
	RunCompleted  RunStatus = "completed"
	RunFailed     RunStatus = "failed"
)

// Done reports whether the run has ended (completed or failed).
func (s RunStatus) Done() bool { return s == RunCompleted || s == RunFailed }

// AgentRun is one execution of an agent.
type AgentRun struct {
	ID               string            `json:"id"`
	ChatID           string            `json:"chat_id"`
	UserID           string            `json:"user_id"`
	ScheduleID       string            `json:"schedule_id"`
	Status           RunStatus         `json:"status"`
	Results          []Message         `json:"results"`
	CreatedAt        Timestamp         `json:"created_at"`
	UpdatedAt        Timestamp         `json:"updated_at"`
	Bundle           string            `json:"bundle"`
	ToolhouseID      string            `json:"toolhouse_id"`
	Vars             map[string]string `json:"vars"`
	CallbackURL      string            `json:"callback_url"`
	LastAgentMessage string            `json:"last_agent_message"`
	Error            string            `json:"error"`
}

// RunError returns why the run failed: its error field, else the first
// {"error": ...} entry of its results. It is empty for a run that did not
// fail.
func (r *AgentRun) RunError() string {
	if r.Error != "" {
		return r.Error
	}
	for _, m := range r.Results {
		if m.Error != "" {
			return m.Error
		}
	}
	if r.Status == RunFailed {
		return "the run failed without an error message"
	}
	return ""
}

// AgentRunCreateParams starts a run. Empty optional fields are not sent,
// so the server's defaults apply.
type AgentRunCreateParams struct {
	ChatID      string            `json:"chat_id"` // required: the chat shared from Prompt Studio
	Bundle      string            `json:"bundle,omitempty"`
	ToolhouseID string            `json:"toolhouse_id,omitempty"`
	Vars        map[string]string `json:"vars,omitempty"`
	CallbackURL string            `json:"callback_url,omitempty"` // receives {"run_id","status","last_agent_message"} when the run ends: see CallbackHandler
	ScheduleID  string            `json:"schedule_id,omitempty"`
}

// Create starts an agent run (POST v1/agent-runs). The run is queued; use
// Wait to follow it to the end, or set p.CallbackURL to be told when it
// ends: CallbackHandler receives that POST, and its doc shows how to guard
// the URL, since the callback is not signed. Create is not retried after a
// server error, since the run may have started.
func (s *AgentRunsService) Create(ctx context.Context, p AgentRunCreateParams) (*AgentRun, error) {
	if err := checkContext(ctx); err != nil {
		return nil, err
	}
	if strings.TrimSpace(p.ChatID) == "" {
		return nil, &ArgumentError{Arg: "p.ChatID", Reason: "must not be empty"}
	}
	return platformObject[AgentRun](ctx, s.client, endpoint{
		method: http.MethodPost, path: []string{"v1", "agent-runs"}, body: p, replay: once,
	})
}

// Get returns an agent run with its status and results
// (GET v1/agent-runs/{id}). An unknown run is an error matching
// ErrNotFound.
func (s *AgentRunsService) Get(ctx context.Context, id string) (*AgentRun, error) {
	if err := cmp.Or(checkContext(ctx), checkID("id", id)); err != nil {
		return nil, err
	}
	return platformObject[AgentRun](ctx, s.client, endpoint{
		method: http.MethodGet, path: []string{"v1", "agent-runs", id}, replay: idempotent,
	})
}

// List returns the caller's agent runs (GET v1/agent-runs). The API does
// not paginate.
func (s *AgentRunsService) List(ctx context.Context) ([]*AgentRun, error) {
	return platformCall[[]*AgentRun](ctx, s.client, endpoint{
		method: http.MethodGet, path: []string{"v1", "agent-runs"}, replay: idempotent,
	})
}

// Continue adds a message to a completed run, which queues it again with
// its context kept (PUT v1/agent-runs/{id}). A run that is not completed
// gets a 406 *APIError ("You can only add messages to completed runs").
func (s *AgentRunsService) Continue(ctx context.Context, id, message string) (*AgentRun, error) {
	if err := cmp.Or(checkContext(ctx), checkID("id", id)); err != nil {
		return nil, err
	}
	if strings.TrimSpace(message) == "" {
		return nil, &ArgumentError{Arg: "message", Reason: "must not be empty"}
	}
	run, err := platformObject[AgentRun](ctx, s.client, endpoint{
		method: http.MethodPut, path: []string{"v1", "agent-runs", id},
		body: struct {
			Message string `json:"message"`
		}{message}, replay: once,
	})
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotAcceptable && apiErr.Message == "" {
		// The server's own words, for a 406 that came without them.
		apiErr.Message = "You can only add messages to completed runs"
	}
	return run, err
}

// Wait polls Get until the run is completed or failed, backing off as opts
// (or WithPollOptions) says, and returns the final run.
//
// A run that failed, or completed with an {"error": ...} entry in its
// results (the platform does that when the account is out of Execs), is
// returned together with an error that matches ErrRunFailed and carries the
// run's error text. When MaxWait runs out the error matches
// context.DeadlineExceeded and the last run read (nil if none was) is
// returned with it.
// A status this SDK does not know yet counts as still running, so bound
// the wait with MaxWait or the context.
func (s *AgentRunsService) Wait(ctx context.Context, id string, opts *PollOptions) (*AgentRun, error) {
	if err := cmp.Or(checkContext(ctx), checkID("id", id)); err != nil {
		return nil, err
	}
	loop, err := s.client.loop(opts)
	if err != nil {
		return nil, err
	}
	var run *AgentRun
	err = loop.Run(ctx, func(ctx context.Context) (bool, time.Duration, error) {
		r, err := s.Get(ctx, id)
		if err != nil {
			return false, 0, err
		}
		run = r
		return r.Status.Done(), 0, nil
	})
	// The errors quote id, which a careless caller may have taken from the
	// key; a run's error text may quote what a tool was sent, key included.
	red := s.client.redactor()
	switch {
	case errors.Is(err, poll.ErrMaxWait) && run == nil:
		err = fmt.Errorf("toolhouse: agent run %s: PollOptions.MaxWait (%s) ran out before any status of the run was read: %w",
			id, loop.MaxWait, context.DeadlineExceeded)
	case errors.Is(err, poll.ErrMaxWait):
		err = fmt.Errorf("toolhouse: agent run %s still %s after %s (PollOptions.MaxWait): %w",
			id, cleanText(string(run.Status)), loop.MaxWait, context.DeadlineExceeded)
	case err != nil:
		err = fmt.Errorf("toolhouse: waiting for agent run %s: %w", id, err)
	case run.RunError() != "":
		err = &RunFailedError{RunID: run.ID, Status: run.Status, Message: red.scrubText(run.RunError())}
	}
	return run, red.scrub(err)
}

// RunFailedError is the error of AgentRuns.Wait for a run that failed. It
// matches ErrRunFailed.
type RunFailedError struct {
	RunID   string
	Status  RunStatus
	Message string // the run's own error text, the API key redacted
}

// Error reports the run and its error text. The server's words are shown
// as data, escaped as in APIError.Error.
func (e *RunFailedError) Error() string {
	return fmt.Sprintf("toolhouse: agent run %s failed (status %s): %s",
		cleanText(e.RunID), cleanText(string(e.Status)), cleanText(e.Message))
}

// Is makes errors.Is(err, ErrRunFailed) true.
func (e *RunFailedError) Is(target error) bool { return target == ErrRunFailed }
