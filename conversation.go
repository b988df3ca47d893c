package toolhouse

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/toolhouseai/toolhouse-go/internal/poll"
)

// maxConflicts bounds how often a message is sent again after a 409 and a
// wait that saw the job end: a 409 that is not about a job, or jobs that
// keep restarting, end with the 409 error instead of a loop.
const maxConflicts = 3

// ErrTooManyJobs ends the stream of a Conversation.Send whose answers
// started more background jobs than WithMaxJobCycles allows: most likely a
// worker that starts a new job on every resumed answer. The run is left
// as it is; a Send with an empty message takes it up again.
var ErrTooManyJobs = errors.New("toolhouse: too many background jobs for one message")

// Conversation is one worker run carried across messages: the first Send
// starts the run, later ones continue it, and every stream follows the
// run's background jobs to the final answer. Create one with
// WorkersService.Conversation, or ResumeConversation for a run started
// elsewhere. It is safe for concurrent use, though a run takes one message
// at a time (see Send).
type Conversation struct {
	workers *WorkersService
	agentID string
	resumed bool // made by ResumeConversation: never starts a new run

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
// for the job first if it still runs. An empty runID is an error of Send
// (an *ArgumentError), never a new run that would lose the history.
func (s *WorkersService) ResumeConversation(agentID, runID string) *Conversation {
	return &Conversation{workers: s, agentID: agentID, runID: runID, resumed: true}
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
// the events of that answer, as often as jobs recur. The finish line of an
// answer that started a job is held back, so the stream's one EventFinish
// comes at the end of the whole answer. The two job events can drive a
// progress indicator; a caller that only wants the result reads it with
// Collect. ctx bounds the whole exchange, job waits included. Job cycles
// are paced by the client's poll options: a job already over at the first
// look is resumed no sooner than one poll Interval after the answer that
// started it. A Send follows at most WithMaxJobCycles jobs
// (ErrTooManyJobs).
//
// Always Close the stream (or read it to its end, as a range over All or
// Collect does): an open stream holds a connection and the goroutines
// reading it until ctx ends. Close also ends a Next that waits for a job
// or a resume request, at once.
//
// A run takes one message at a time: while the previous stream is reading
// an answer or waiting for a job, Send returns ErrConversationBusy. Read
// that stream to the end or Close it first. A stream closed (or left) at a
// job event does not hold the conversation; the next Send takes the run
// over, and with an empty message it picks up the pending job.
func (c *Conversation) Send(ctx context.Context, message string) (*EventStream, error) {
	if err := checkContext(ctx); err != nil {
		return nil, err
	}
	if err := checkID("agentID", c.agentID); err != nil {
		return nil, err
	}
	c.mu.Lock()
	runID := c.runID
	if runID != "" || c.resumed {
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
	// The stream's Close cancels what the follower does for it: a job
	// wait, a pause between cycles, a resume request.
	ctx, cancel := context.WithCancel(ctx)
	f := &follower{conv: c, turn: c.turn, ctx: ctx}
	c.mu.Unlock()

	var resp *http.Response
	var err error
	if runID == "" {
		resp, err = c.workers.open(ctx, true, c.agentID, "", nil, WorkerRunParams{Message: message}.body())
	} else {
		resp, err = c.put(ctx, runID, message)
	}
	if err != nil {
		cancel()
		c.release()
		return nil, err
	}
	s := c.workers.eventStream(f.take(resp))
	s.onEnd = f.next
	s.stop = cancel
	return s, nil
}

// put sends a message on the run. A 409 means a background job runs, so it
// waits for the job and sends the message again.
func (c *Conversation) put(ctx context.Context, runID, message string) (*http.Response, error) {
	for conflicts := 0; ; conflicts++ {
		resp, err := c.workers.open(ctx, true, c.agentID, runID, nil, messageBody{message})
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
	ctx   context.Context // the Send's, which bounds the whole exchange; Close cancels it
	jobID string          // the job the current answer started, or ""
	step  followStep

	jobs     int       // jobs announced so far
	cycleEnd time.Time // one poll interval after the answer that started the current job
	paced    bool      // the current job's wait paused between looks already
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
		client := f.conv.workers.client
		if f.jobs == client.maxJobCycles {
			return nil, nil, fmt.Errorf("toolhouse: worker %s run %s started background job %s after %d jobs "+
				"for one message, the most WithMaxJobCycles allows; it was not followed: %w",
				f.conv.agentID, f.conv.RunID(), f.jobID, f.jobs, ErrTooManyJobs)
		}
		f.jobs++
		f.step = waitForJob
		return &Event{Type: EventJobStarted, JobID: f.jobID}, nil, nil
	case waitForJob:
		runID, err := f.conv.hold(f.turn)
		if err != nil {
			return nil, nil, err
		}
		_, looks, err := f.conv.workers.waitForJob(f.ctx, f.conv.agentID, runID, nil)
		f.conv.release()
		if err != nil {
			return nil, nil, err
		}
		f.paced = looks > 1 // the wait itself paused between looks
		f.step = resumeRun
		return &Event{Type: EventJobFinished, JobID: f.jobID}, nil, nil
	default: // resumeRun
		runID, err := f.conv.hold(f.turn)
		if err != nil {
			return nil, nil, err
		}
		// A worker that starts a job on every answer, each over at the
		// first look, must not turn one Send into a storm of requests.
		client := f.conv.workers.client
		if wait := f.cycleEnd.Sub(client.now()); !f.paced && wait > 0 {
			if err := client.sleep(f.ctx, wait); err != nil {
				f.conv.release()
				return nil, nil, fmt.Errorf("toolhouse: waiting to resume worker %s run %s: %w", f.conv.agentID, runID, err)
			}
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
	if f.jobID != "" {
		client := f.conv.workers.client
		interval := cmp.Or(client.poll.Interval, poll.DefaultInterval)
		f.cycleEnd = client.now().Add(interval)
	}
	if id := resp.Header.Get(headerRunID); id != "" {
		f.conv.mu.Lock()
		f.conv.runID = id
		f.conv.mu.Unlock()
	}
	resp.Body = &onCloseBody{ReadCloser: resp.Body, onClose: f.conv.release}
	return resp
}
