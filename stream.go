package toolhouse

import (
	"io"
	"iter"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
)

// EventStream is a worker's NDJSON answer, read one event at a time:
//
//	for stream.Next() {
//		ev := stream.Current()
//	}
//	if err := stream.Err(); err != nil { ... }
//
// Always Close it when done, typically with defer right after the call that
// returned it: a stream never closed keeps its connection and the
// goroutines reading it until its context ends. It is safe to Close twice,
// and after an error; a range over All closes it when the loop ends.
// Close may also be called from another goroutine to end a Next that is
// waiting for the server. An event stays valid after the next call to Next.
type EventStream struct {
	dec   *Decoder
	max   int
	runID string
	jobID string
	cur   Event
	err   error
	done  bool
	// redact hides the client's API key in server text that an error
	// repeats; nil when there is no key.
	redact func(string) string

	// onEnd, when set, is asked what follows a response that ended
	// cleanly: an event to deliver, the next response to read, or (both
	// nil) the end. Conversation uses it to follow background jobs.
	onEnd func() (*Event, *http.Response, error)
	// stop, when set, runs once when the stream ends or is closed, even
	// while another goroutine's Next is blocked in onEnd: Conversation
	// cancels the context its job waits and resume requests run under.
	stop     func()
	stopOnce sync.Once

	// Close may run while Next is blocked reading, so the body it closes
	// is handed over under mu, and closed is read without a lock.
	mu        sync.Mutex
	body      io.ReadCloser // the response being read; nil once closed
	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// newEventStream reads resp's body as NDJSON, with lines up to maxLine.
func newEventStream(resp *http.Response, maxLine int) *EventStream {
	s := &EventStream{max: maxLine}
	s.use(resp)
	return s
}

// use switches the stream to the body of resp. After Close, it closes
// resp instead.
func (s *EventStream) use(resp *http.Response) {
	if id := resp.Header.Get(headerRunID); id != "" {
		s.runID = id
	}
	s.jobID = resp.Header.Get(headerJobID)
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		resp.Body.Close()
		return
	}
	s.body = resp.Body
	s.mu.Unlock()
	s.dec = NewDecoder(resp.Body)
	s.dec.SetMaxLineSize(s.max)
}

// releaseBody closes the body being read, unless Close already has.
func (s *EventStream) releaseBody() {
	s.mu.Lock()
	body := s.body
	s.body = nil
	s.mu.Unlock()
	if body != nil {
		body.Close()
	}
}

// Next advances to the next event and reports whether there is one. It
// returns false at the end of the stream, on an error (see Err), and after
// Close.
func (s *EventStream) Next() bool {
	if s.done {
		return false
	}
	if s.advance() {
		return true
	}
	s.done = true
	s.runStop()
	return false
}

// advance is Next until the stream is done.
func (s *EventStream) advance() bool {
	for {
		if s.closed.Load() {
			// What a read reports after Close is a consequence of the
			// caller's own Close, not an error of the stream.
			return false
		}
		if s.dec != nil {
			ev, err := s.dec.nextEvent()
			if err == nil {
				if ev.Type == EventFinish && s.onEnd != nil && s.jobID != "" {
					// The answer goes on after this response's job: its
					// finish line is not the end (see EventFinish).
					continue
				}
				s.cur = ev
				return true
			}
			s.releaseBody()
			s.dec = nil
			if err != io.EOF {
				if !s.closed.Load() {
					s.err = err
				}
				return false
			}
		}
		if s.onEnd == nil {
			return false
		}
		ev, resp, err := s.onEnd()
		switch {
		case err != nil:
			if !s.closed.Load() {
				s.err = err
			}
			return false
		case ev != nil:
			s.cur = *ev
			return true
		case resp == nil:
			return false
		}
		s.use(resp)
	}
}

// runStop runs the stop hook, once.
func (s *EventStream) runStop() {
	if s.stop != nil {
		s.stopOnce.Do(s.stop)
	}
}

// Current returns the event Next advanced to.
func (s *EventStream) Current() Event { return s.cur }

// Err returns the error that ended the stream, or nil after a clean end
// or a Close.
func (s *EventStream) Err() error { return s.err }

// Close releases the connection. It is idempotent, safe after an error,
// and safe to call while another goroutine is blocked in Next, which then
// returns false promptly, also when it waits for a background job or a
// resume request (Conversation); Err then reports no error.
func (s *EventStream) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.runStop()
		s.mu.Lock()
		body := s.body
		s.body = nil
		s.mu.Unlock()
		if body != nil {
			s.closeErr = body.Close()
		}
	})
	return s.closeErr
}

// All returns an iterator over the remaining events. An error ends the
// iteration as a final (zero Event, err) pair. The stream is closed when the
// loop ends, by completion or by break.
func (s *EventStream) All() iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		defer s.Close()
		for s.Next() {
			if !yield(s.Current(), nil) {
				return
			}
		}
		if err := s.Err(); err != nil {
			yield(Event{}, err)
		}
	}
}

// RunID returns the run ID the server sent (X-Toolhouse-Run-ID); it is
// known before the first event is read.
func (s *EventStream) RunID() string { return s.runID }

// JobID returns the background job the current response started
// (x-toolhouse-job-id), or "".
func (s *EventStream) JobID() string { return s.jobID }

// Response headers of the Workers API.
const (
	headerRunID = "X-Toolhouse-Run-Id"
	headerJobID = "X-Toolhouse-Job-Id"
)

// TextStream is a worker's answer as raw text: an io.ReadCloser that hands
// over each piece as soon as it arrives. The run and job IDs come from the
// response headers, so they are known before the first Read. Always Close
// it: a stream never closed keeps its connection until its context ends.
type TextStream struct {
	body      io.ReadCloser
	runID     string
	jobID     string
	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// errReadAfterClose is what a TextStream reads once it is closed: the
// caller's own Close, said in the SDK's words rather than net/http's.
var errReadAfterClose error = readAfterCloseError{}

type readAfterCloseError struct{}

func (readAfterCloseError) Error() string { return "toolhouse: read from a TextStream after its Close" }

// Is makes errors.Is(err, os.ErrClosed) true.
func (readAfterCloseError) Is(target error) bool { return target == os.ErrClosed }

func newTextStream(resp *http.Response) *TextStream {
	return &TextStream{body: resp.Body, runID: resp.Header.Get(headerRunID), jobID: resp.Header.Get(headerJobID)}
}

// Read reads what has arrived of the answer, without waiting to fill p. It
// returns io.EOF once the worker is done, an error matching the context's
// error once the call's context ends, even while it was blocked, and an
// error matching os.ErrClosed after Close (also for a Read that Close, in
// another goroutine, cut short).
func (t *TextStream) Read(p []byte) (int, error) {
	if t.closed.Load() {
		return 0, errReadAfterClose
	}
	n, err := t.body.Read(p)
	if err != nil && err != io.EOF && t.closed.Load() {
		return n, errReadAfterClose
	}
	return n, err
}

// Close releases the connection, ending the answer early if it is not
// done. It is idempotent and safe after an error.
func (t *TextStream) Close() error {
	t.closeOnce.Do(func() {
		t.closed.Store(true)
		t.closeErr = t.body.Close()
	})
	return t.closeErr
}

// RunID returns the run the answer belongs to (X-Toolhouse-Run-ID), which
// Continue takes.
func (t *TextStream) RunID() string { return t.runID }

// JobID returns the background job the answer started (x-toolhouse-job-id),
// or "" when it started none.
func (t *TextStream) JobID() string { return t.jobID }
