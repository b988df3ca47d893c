package toolhouse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
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
	Message     string            `json:"message,omitempty"`
	Vars        map[string]string `json:"vars,omitempty"`
	ToolhouseID string            `json:"toolhouse_id,omitempty"`
}

// body is what the POST carries. With no field set it sends no body at
// all, as the documents' own first call does: the Workers API allows it,
// so the default message applies without depending on how the server
// reads an empty object.
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
func (s *WorkersService) Run(ctx context.Context, agentID string, p WorkerRunParams) (*TextStream, error) {
	if err := checkID("agentID", agentID); err != nil {
		return nil, err
	}
	resp, err := s.open(ctx, false, agentID, "", p.body())
	if err != nil {
		return nil, err
	}
	return newTextStream(resp), nil
}

// Continue sends one more message on a run (PUT {agent}/{run}) and returns
// the answer as text. An empty message resumes the run after a background
// job. While a job runs the server refuses with an error matching
// ErrJobInProgress (409); Conversation waits that out by itself.
func (s *WorkersService) Continue(ctx context.Context, agentID, runID, message string) (*TextStream, error) {
	if err := checkRun(agentID, runID); err != nil {
		return nil, err
	}
	resp, err := s.open(ctx, false, agentID, runID, messageBody{message})
	if err != nil {
		return nil, err
	}
	return newTextStream(resp), nil
}

// Stream starts a worker run (POST ndjson/{agent}) and returns its answer
// as events: text deltas, tool calls and their results, as they arrive.
// The stream does not follow background jobs (see its JobID); Conversation
// does.
func (s *WorkersService) Stream(ctx context.Context, agentID string, p WorkerRunParams) (*EventStream, error) {
	if err := checkID("agentID", agentID); err != nil {
		return nil, err
	}
	resp, err := s.open(ctx, true, agentID, "", p.body())
	if err != nil {
		return nil, err
	}
	return newEventStream(resp, s.client.maxLineSize), nil
}

// ContinueStream sends one more message on a run (PUT ndjson/{agent}/{run})
// and returns the answer as events. An empty message resumes the run after
// a background job; a 409 (ErrJobInProgress) says the job still runs.
func (s *WorkersService) ContinueStream(ctx context.Context, agentID, runID, message string) (*EventStream, error) {
	if err := checkRun(agentID, runID); err != nil {
		return nil, err
	}
	resp, err := s.open(ctx, true, agentID, runID, messageBody{message})
	if err != nil {
		return nil, err
	}
	return newEventStream(resp, s.client.maxLineSize), nil
}

// open sends a call that is answered with a stream: POST {agent} for a new
// run or PUT {agent}/{run} for a message on one, under ndjson/ for the
// event endpoints. Both add something to the run, so they are sent once:
// never replayed after a server error, nor once the answer started.
func (s *WorkersService) open(ctx context.Context, ndjson bool, agentID, runID string, body any) (*http.Response, error) {
	e := endpoint{method: http.MethodPost, path: []string{agentID}, body: body, replay: once}
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
	if err := checkRun(agentID, runID); err != nil {
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
	if err := checkRun(agentID, runID); err != nil {
		return nil, err
	}
	loop, err := s.client.loop(opts)
	if err != nil {
		return nil, err
	}
	var run *WorkerRun
	err = loop.Run(ctx, func(ctx context.Context) (bool, time.Duration, error) {
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
		job = "background job " + run.JobID
	}
	switch {
	case errors.Is(err, poll.ErrMaxWait):
		return run, fmt.Errorf("toolhouse: timed out after %s (PollOptions.MaxWait) waiting for %s of worker %s run %s: %w",
			loop.MaxWait, job, agentID, runID, context.DeadlineExceeded)
	case err != nil:
		return run, fmt.Errorf("toolhouse: waiting for %s of worker %s run %s: %w", job, agentID, runID, err)
	}
	return run, nil
}

// checkRun validates the IDs of a call on an existing run.
func checkRun(agentID, runID string) error {
	if err := checkID("agentID", agentID); err != nil {
		return err
	}
	return checkID("runID", runID)
}

// TextStream is a worker's answer as raw text: an io.ReadCloser that hands
// over each piece as soon as it arrives. The run and job IDs come from the
// response headers, so they are known before the first Read.
type TextStream struct {
	body      io.ReadCloser
	runID     string
	jobID     string
	closeOnce sync.Once
	closeErr  error
}

func newTextStream(resp *http.Response) *TextStream {
	return &TextStream{body: resp.Body, runID: resp.Header.Get(headerRunID), jobID: resp.Header.Get(headerJobID)}
}

// Read reads what has arrived of the answer, without waiting to fill p. It
// returns io.EOF once the worker is done, and an error matching the
// context's error once the call's context ends, even while it was blocked.
func (t *TextStream) Read(p []byte) (int, error) { return t.body.Read(p) }

// Close releases the connection, ending the answer early if it is not
// done. It is idempotent and safe after an error.
func (t *TextStream) Close() error {
	t.closeOnce.Do(func() { t.closeErr = t.body.Close() })
	return t.closeErr
}

// RunID returns the run the answer belongs to (X-Toolhouse-Run-ID), which
// Continue takes.
func (t *TextStream) RunID() string { return t.runID }

// JobID returns the background job the answer started (x-toolhouse-job-id),
// or "" when it started none.
func (t *TextStream) JobID() string { return t.jobID }

// ErrConversationBusy is returned by Conversation.Send while the stream of
// the previous Send is still reading an answer or following a background
// job: a run takes one message at a time.
var ErrConversationBusy = errors.New("toolhouse: conversation busy: the previous Send's stream is still " +
	"reading an answer or following a background job; read it to the end or Close it first")

// maxConflicts bounds how often a message is sent again after a 409 and a
// wait that saw the job end: a 409 that is not about a job, or jobs that
// keep restarting, end with the 409 error instead of a loop.
const maxConflicts = 3

// Conversation is one worker run carried across messages: the first Send
// starts the run, later ones continue it, and every stream follows the
// run's background jobs to the final answer. Create one with
// WorkersService.Conversation, or ResumeConversation for a run started
// elsewhere. It is safe for concurrent use, though a run takes one message
// at a time (see Send).
type Conversation struct {
	workers *WorkersService
	agentID string

	mu    sync.Mutex
	runID string // learned from the first answer
	// turn counts the Sends: a stream follows the run only while its Send
	// is the latest, so an abandoned stream cannot act on a run that a
	// later Send has taken over.
	turn uint64
	// busy is set while a request, an open answer or a job wait is in
	// progress; a stream paused between those leaves the run free.
	busy bool
}

// Conversation returns a conversation with a worker. It sends nothing
// until the first Send.
func (s *WorkersService) Conversation(agentID string) *Conversation {
	return &Conversation{workers: s, agentID: agentID}
}

// ResumeConversation returns a conversation on a run that already exists,
// perhaps started by another process: the agent and run IDs are all the
// state a conversation has. Its first Send continues the run; Send with an
// empty message resumes a run that a background job interrupted, waiting
// for the job first if it still runs.
func (s *WorkersService) ResumeConversation(agentID, runID string) *Conversation {
	return &Conversation{workers: s, agentID: agentID, runID: runID}
}

// RunID returns the conversation's run, or "" before the first Send has
// been answered.
func (c *Conversation) RunID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runID
}

// Send sends a message and returns the worker's answer as events. The
// first Send starts the run (POST ndjson/{agent}); later ones continue it
// (PUT ndjson/{agent}/{run}), waiting for a background job that still runs
// (409) and trying again, up to a few times.
//
// The stream follows background jobs by itself: after the events of an
// answer that started a job, it yields an EventJobStarted event, waits for
// the job (WaitForJob, with the client's poll options), yields
// EventJobFinished, resumes the run with an empty message and goes on with
// the events of that answer, as often as jobs recur. The two job events
// can drive a progress indicator; a caller that only wants the text keeps
// the Text of the "text-delta" events and skips the rest. ctx bounds the
// whole exchange, job waits included.
//
// A run takes one message at a time: while the previous stream is reading
// an answer or waiting for a job, Send returns ErrConversationBusy. Read
// that stream to the end or Close it first. A stream closed (or left) at a
// job event does not hold the conversation; the next Send takes the run
// over, and with an empty message it picks up the pending job.
func (c *Conversation) Send(ctx context.Context, message string) (*EventStream, error) {
	if err := checkID("agentID", c.agentID); err != nil {
		return nil, err
	}
	c.mu.Lock()
	runID := c.runID
	if runID != "" {
		if err := checkID("runID", runID); err != nil {
			c.mu.Unlock()
			return nil, err
		}
	}
	if c.busy {
		c.mu.Unlock()
		return nil, ErrConversationBusy
	}
	c.busy = true
	c.turn++
	f := &follower{conv: c, turn: c.turn, ctx: ctx}
	c.mu.Unlock()

	var resp *http.Response
	var err error
	if runID == "" {
		resp, err = c.workers.open(ctx, true, c.agentID, "", WorkerRunParams{Message: message}.body())
	} else {
		resp, err = c.put(ctx, runID, message)
	}
	if err != nil {
		c.release()
		return nil, err
	}
	s := newEventStream(f.take(resp), c.workers.client.maxLineSize)
	s.onEnd = f.next
	return s, nil
}

// put sends a message on the run. A 409 means a background job runs, so it
// waits for the job and sends the message again.
func (c *Conversation) put(ctx context.Context, runID, message string) (*http.Response, error) {
	for conflicts := 0; ; conflicts++ {
		resp, err := c.workers.open(ctx, true, c.agentID, runID, messageBody{message})
		if conflicts == maxConflicts || !errors.Is(err, ErrJobInProgress) {
			return resp, err
		}
		if _, err := c.workers.WaitForJob(ctx, c.agentID, runID, nil); err != nil {
			return nil, err
		}
	}
}

// hold marks the conversation busy again for a stream of turn, and returns
// the run to act on. It fails when a later Send took the run over.
func (c *Conversation) hold(turn uint64) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.turn != turn {
		return "", errors.New("toolhouse: a later Send on this conversation took the run over; this stream no longer follows it")
	}
	if c.runID == "" {
		return "", fmt.Errorf("toolhouse: worker %s started a background job but sent no run ID (%s); the job cannot be followed",
			c.agentID, headerRunID)
	}
	c.busy = true
	return c.runID, nil
}

// release frees the conversation for the next step or the next Send.
func (c *Conversation) release() {
	c.mu.Lock()
	c.busy = false
	c.mu.Unlock()
}

// follower is the state machine behind a Conversation stream, run by the
// stream's onEnd hook each time an answer has ended cleanly.
type follower struct {
	conv  *Conversation
	turn  uint64
	ctx   context.Context // the Send's, which bounds the whole exchange
	jobID string          // the job the current answer started, or ""
	step  followStep
}

// followStep is what the follower does when the stream next runs dry.
type followStep int

const (
	announceJob followStep = iota // the answer ended: yield EventJobStarted if it started a job
	waitForJob                    // wait for the job, then yield EventJobFinished
	resumeRun                     // send the resume PUT and read its answer
)

// next is the stream's onEnd hook.
func (f *follower) next() (*Event, *http.Response, error) {
	switch f.step {
	case announceJob:
		if f.jobID == "" {
			return nil, nil, nil
		}
		f.step = waitForJob
		return &Event{Type: EventJobStarted, JobID: f.jobID}, nil, nil
	case waitForJob:
		runID, err := f.conv.hold(f.turn)
		if err != nil {
			return nil, nil, err
		}
		_, err = f.conv.workers.WaitForJob(f.ctx, f.conv.agentID, runID, nil)
		f.conv.release()
		if err != nil {
			return nil, nil, err
		}
		f.step = resumeRun
		return &Event{Type: EventJobFinished, JobID: f.jobID}, nil, nil
	default: // resumeRun
		runID, err := f.conv.hold(f.turn)
		if err != nil {
			return nil, nil, err
		}
		resp, err := f.conv.put(f.ctx, runID, "")
		if err != nil {
			f.conv.release()
			return nil, nil, err
		}
		f.step = announceJob
		return nil, f.take(resp), nil
	}
}

// take makes resp the answer the stream reads next: it learns the run and
// job it names, and hands the conversation's busy mark to the body, which
// drops it when the answer ends or is closed.
func (f *follower) take(resp *http.Response) *http.Response {
	f.jobID = resp.Header.Get(headerJobID)
	if id := resp.Header.Get(headerRunID); id != "" {
		f.conv.mu.Lock()
		f.conv.runID = id
		f.conv.mu.Unlock()
	}
	resp.Body = &turnBody{ReadCloser: resp.Body, release: f.conv.release}
	return resp
}

// turnBody is an answer's body that frees its conversation when closed.
type turnBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *turnBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}
