package toolhouse

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/toolhouseai/toolhouse-go/internal/poll"
	"github.com/toolhouseai/toolhouse-go/internal/retry"
)

// WorkersService calls deployed agents (workers) on the Workers API and
// streams their answers.
//
// A worker answers a POST (a new run) or a PUT (one more message on a run)
// as a stream: raw text (Run, Continue) or NDJSON events with the tool calls
// (Stream, ContinueStream). Every answer names its run (X-Toolhouse-Run-ID).
// An answer whose tool started a background job (Virtual Computer, code
// interpreter) also names the job (x-toolhouse-job-id); the run then
// refuses messages (409) until the job ends, which WaitForJob waits for.
// Conversation does all of that by itself.
type WorkersService service

// WorkerRunParams starts a worker run. Empty fields are not sent.
type WorkerRunParams struct {
	// Message is the user's message; when empty the worker runs on its
	// default message.
	Message string `json:"message,omitempty"`
	// Vars fills the variables of the agent's prompt.
	Vars map[string]string `json:"vars,omitempty"`
	// ToolhouseID is the Toolhouse ID metadata of the run, such as the ID
	// of your own user it runs for.
	ToolhouseID string `json:"toolhouse_id,omitempty"`
	// Bundle names a bundle of tools for the run. It travels as the bundle
	// query parameter of the worker URL (POST {agent}?bundle=...), which
	// is where the official JavaScript Workers client puts it. Known: agent
	// runs and schedules take a bundle to tailor the tools of their agent
	// ("default" when none is given). Not known: the Workers API documents
	// do not describe the parameter, so whether a worker applies it, and
	// what it does with a name it does not know, is unconfirmed. It is sent
	// with the POST that starts the run only; Continue and ContinueStream
	// do not repeat it.
	Bundle string `json:"-"`
}

// runQuery is the query string of the POST that starts a run.
type runQuery struct {
	Bundle string `url:"bundle,omitempty"`
}

// body is what the POST carries. With no field of the body set it sends
// no body at all, as the documents' own first call does: the Workers API
// allows it, so the default message applies without depending on how the
// server reads an empty object.
func (p WorkerRunParams) body() any {
	if p.Message == "" && len(p.Vars) == 0 && p.ToolhouseID == "" {
		return nil
	}
	return p
}

// messageBody is the body of every PUT. The message is sent even when
// empty: {"message": ""} is how a run resumes after a background job.
type messageBody struct {
	Message string `json:"message"`
}

// WorkerRun is a worker run as GET {agent}/{run} describes it.
type WorkerRun struct {
	RunID string
	// JobID is the background job running on the run (x-toolhouse-job-id),
	// or "" when none runs and the run accepts a message.
	JobID string
	// Messages is the run's history, oldest first.
	Messages []Message
}

// Run starts a worker run (POST {agent}) and returns its answer as text,
// read as it arrives. The stream's RunID continues the run (Continue); a
// non-empty JobID means the answer handed work to a background job: wait
// for it with WaitForJob, then resume the run with Continue and an empty
// message. Run is never retried once the server may have received it.
//
// Always Close the stream, also after reading it to the end: an open
// stream holds its connection and the goroutines reading it until ctx
// ends. WithRequestTimeout bounds the wait for the answer's headers only,
// never how long the answer runs.
func (s *WorkersService) Run(ctx context.Context, agentID string, p WorkerRunParams) (*TextStream, error) {
	if err := cmp.Or(checkContext(ctx), checkID("agentID", agentID)); err != nil {
		return nil, err
	}
	resp, err := s.open(ctx, false, agentID, "", runQuery{p.Bundle}, p.body())
	if err != nil {
		return nil, err
	}
	return newTextStream(resp), nil
}

// Continue sends one more message on a run (PUT {agent}/{run}) and returns
// the answer as text. An empty message resumes the run after a background
// job. While a job runs the server refuses with an error matching
// ErrJobInProgress (409); Conversation waits that out by itself. Always
// Close the stream, as for Run.
func (s *WorkersService) Continue(ctx context.Context, agentID, runID, message string) (*TextStream, error) {
	if err := checkRun(ctx, agentID, runID); err != nil {
		return nil, err
	}
	resp, err := s.open(ctx, false, agentID, runID, nil, messageBody{message})
	if err != nil {
		return nil, err
	}
	return newTextStream(resp), nil
}

// Stream starts a worker run (POST ndjson/{agent}) and returns its answer
// as events: text deltas, tool calls and their results, as they arrive.
// The stream does not follow background jobs (see its JobID); Conversation
// does.
//
// Always Close the stream (a range over its All does, when the loop ends):
// an open stream holds its connection and the goroutines reading it until
// ctx ends. WithRequestTimeout bounds the wait for the answer's headers
// only, never how long the answer runs.
func (s *WorkersService) Stream(ctx context.Context, agentID string, p WorkerRunParams) (*EventStream, error) {
	if err := cmp.Or(checkContext(ctx), checkID("agentID", agentID)); err != nil {
		return nil, err
	}
	resp, err := s.open(ctx, true, agentID, "", runQuery{p.Bundle}, p.body())
	if err != nil {
		return nil, err
	}
	return s.eventStream(resp), nil
}

// ContinueStream sends one more message on a run (PUT ndjson/{agent}/{run})
// and returns the answer as events. An empty message resumes the run after
// a background job; a 409 (ErrJobInProgress) says the job still runs.
// Always Close the stream, as for Stream.
func (s *WorkersService) ContinueStream(ctx context.Context, agentID, runID, message string) (*EventStream, error) {
	if err := checkRun(ctx, agentID, runID); err != nil {
		return nil, err
	}
	resp, err := s.open(ctx, true, agentID, runID, nil, messageBody{message})
	if err != nil {
		return nil, err
	}
	return s.eventStream(resp), nil
}

// eventStream reads resp as events, with the client's line limit and its
// key hidden in the errors that repeat the server's words.
func (s *WorkersService) eventStream(resp *http.Response) *EventStream {
	es := newEventStream(resp, s.client.maxLineSize)
	if red := s.client.redactor(); len(red) > 0 {
		es.redact = red.scrubText
	}
	return es
}

// open sends a call that is answered with a stream: POST {agent} for a new
// run or PUT {agent}/{run} for a message on one, under ndjson/ for the
// event endpoints, with query (a struct with url tags, or nil) as its
// query string. Both add something to the run, so they are sent once:
// never replayed after a server error, nor once the answer started.
func (s *WorkersService) open(ctx context.Context, ndjson bool, agentID, runID string, query, body any) (*http.Response, error) {
	e := endpoint{method: http.MethodPost, path: []string{agentID}, query: query, body: body, replay: once}
	if runID != "" {
		e.method, e.path = http.MethodPut, append(e.path, runID)
	}
	if ndjson {
		e.path = append([]string{"ndjson"}, e.path...)
	}
	req, err := s.client.newRequest(ctx, e)
	if err != nil {
		return nil, err
	}
	return s.client.send(req, e.replay)
}

// Get returns a run's history (GET {agent}/{run}) and the background job
// running on it, if any.
func (s *WorkersService) Get(ctx context.Context, agentID, runID string) (*WorkerRun, error) {
	if err := checkRun(ctx, agentID, runID); err != nil {
		return nil, err
	}
	run, _, err := s.get(ctx, agentID, runID)
	return run, err
}

// get is Get with the response header, whose Retry-After paces WaitForJob.
func (s *WorkersService) get(ctx context.Context, agentID, runID string) (*WorkerRun, http.Header, error) {
	run := &WorkerRun{RunID: runID}
	resp, err := s.client.do(ctx, endpoint{
		method: http.MethodGet, path: []string{agentID, runID}, replay: idempotent,
	}, &run.Messages)
	if err != nil {
		return nil, nil, err
	}
	run.JobID = resp.Header.Get(headerJobID)
	return run, resp.Header, nil
}

// WaitForJob polls Get until no background job runs on the run, and
// returns the run as that last look saw it. It backs off as opts (or
// WithPollOptions) says, and waits longer when the server asks to with
// Retry-After. When MaxWait runs out it returns the last run read and an
// error that names the job and matches context.DeadlineExceeded.
//
// The wait needs nothing but the agent and run IDs, so another process can
// take it up: WaitForJob, then Continue (or ContinueStream) with an empty
// message resumes the run.
func (s *WorkersService) WaitForJob(ctx context.Context, agentID, runID string, opts *PollOptions) (*WorkerRun, error) {
	run, _, err := s.waitForJob(ctx, agentID, runID, opts)
	return run, err
}

// waitForJob is WaitForJob that also says how often it looked at the run:
// once means the job was over at the first look, without a wait.
func (s *WorkersService) waitForJob(ctx context.Context, agentID, runID string, opts *PollOptions) (run *WorkerRun, looks int, err error) {
	if err := checkRun(ctx, agentID, runID); err != nil {
		return nil, 0, err
	}
	loop, err := s.client.loop(opts)
	if err != nil {
		return nil, 0, err
	}
	err = loop.Run(ctx, func(ctx context.Context) (bool, time.Duration, error) {
		looks++
		r, header, err := s.get(ctx, agentID, runID)
		if err != nil {
			return false, 0, err
		}
		run = r
		if r.JobID == "" {
			return true, 0, nil
		}
		hint, _ := retry.Hint(header, s.client.now())
		return false, hint, nil
	})
	job := "the background job"
	if run != nil {
		job = "background job " + cleanText(run.JobID) // the server's header
	}
	switch {
	case errors.Is(err, poll.ErrMaxWait):
		err = fmt.Errorf("toolhouse: timed out after %s (PollOptions.MaxWait) waiting for %s of worker %s run %s: %w",
			loop.MaxWait, job, agentID, runID, context.DeadlineExceeded)
	case err != nil:
		err = fmt.Errorf("toolhouse: waiting for %s of worker %s run %s: %w", job, agentID, runID, err)
	}
	// The errors quote the IDs, which a careless caller may have taken
	// from the key.
	return run, looks, s.client.redactor().scrub(err)
}

// checkRun validates the arguments of a call on an existing run, the
// context first.
func checkRun(ctx context.Context, agentID, runID string) error {
	return cmp.Or(checkContext(ctx), checkID("agentID", agentID), checkID("runID", runID))
}
