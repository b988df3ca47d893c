package toolhouse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"unsafe"
)

// Answer is a worker's answer read to its end by EventStream.Collect: what
// a caller would otherwise gather with a switch over the events.
type Answer struct {
	// RunID is the run the answer belongs to (X-Toolhouse-Run-ID), which
	// Continue, ContinueStream and ResumeConversation take.
	RunID string
	// Text is the Text of the EventTextDelta events, in order, across
	// background jobs. The text an agent writes after a job starts a new
	// paragraph: a blank line separates it from the text before the job,
	// whose trailing spaces are dropped.
	Text string
	// ToolCalls are the agent's tool calls in the order it made them, each
	// with the result whose ToolCallID matches its ID; calls that share an
	// ID take their results in turn. A result that no call is waiting for
	// is kept too, where it came, as a ToolCall without Args.
	ToolCalls []ToolCall
	// JobIDs are the background jobs the answer waited for (Conversation
	// streams), each once, in the order they started.
	JobIDs []string
	// PendingJobID is a background job the answer handed work to and did
	// not wait for, or "". Workers.Stream and ContinueStream leave jobs to
	// the caller: the rest of the answer comes after the job, from
	// WaitForJob and then ContinueStream with an empty message.
	PendingJobID string
	// FinishReason is the "finishReason" of the answer's finish line
	// ("stop", "tool-calls", "length", ...), or "" when none came (see
	// EventFinish).
	FinishReason string
	// Events counts the events read, Conversation's job events included.
	Events int
}

// ToolCall is one tool call of an answer, with its result.
type ToolCall struct {
	ID, Name string
	Args     json.RawMessage
	// Result is the tool's result, or nil when none came: the stream
	// ended first, or the result comes later (after a background job).
	Result json.RawMessage
}

// WorkerError is the error Collect returns for an EventError event: the
// worker reported that it could not go on (a failing model, no Execs
// left, ...).
type WorkerError struct {
	RunID   string
	Message string          // the event's text (Event.Error)
	Raw     json.RawMessage // the error line as received
}

func (e *WorkerError) Error() string {
	if e.RunID == "" {
		return "toolhouse: the worker reported an error: " + truncate(e.Message, maxMessage)
	}
	return "toolhouse: worker run " + e.RunID + " reported an error: " + truncate(e.Message, maxMessage)
}

// answerLinesLimit is how many lines of the stream's limit an answer may
// hold in all: Collect keeps the whole answer in memory, and a server that
// never stops must not make it grow without end.
const answerLinesLimit = 8

// callCost is what a kept ToolCall costs besides its bytes: the struct and
// its place in the pairing index. Counting it bounds an answer of endless
// calls that carry no ID, name or arguments.
const callCost = int(unsafe.Sizeof(ToolCall{}) + unsafe.Sizeof(0))

// Collect reads the events the stream has not delivered yet to the end of
// the answer, closes the stream, and returns them gathered as an Answer.
// For a Conversation stream that is the final answer, across the
// background jobs it waited for.
//
// An EventError event ends Collect at once, without reading further, with
// the answer so far and a *WorkerError carrying the event's text. Any other
// error that ends the stream (the connection, the context, a malformed
// line) is returned with the answer so far as well. An answer larger than
// 8 times the stream's line limit (256 MiB with the default
// WithMaxLineSize) ends with an error rather than exhaust memory.
//
// Events read before Collect, with Next or All, are not in the Answer.
func (s *EventStream) Collect() (*Answer, error) {
	defer s.Close()
	c := collector{limit: math.MaxInt}
	if s.max > 0 && s.max <= math.MaxInt/answerLinesLimit {
		c.limit = s.max * answerLinesLimit
	}
	for s.Next() {
		ev := s.Current()
		if err := c.add(ev); err != nil {
			return c.answer(s), err
		}
		if ev.Type == EventError {
			a := c.answer(s)
			return a, &WorkerError{RunID: a.RunID, Message: s.redacted(ev.Error),
				Raw: json.RawMessage(s.redacted(string(ev.Raw)))}
		}
	}
	return c.answer(s), s.Err()
}

// collector gathers an Answer, one event at a time.
type collector struct {
	text     []byte
	calls    []ToolCall
	waiting  map[string][]int // tool-call ID -> indexes of calls without a result yet
	jobs     []string
	finished map[string]bool // jobs that ended (EventJobFinished)
	afterJob bool            // a job ended: the next text starts a paragraph
	reason   string
	events   int
	size     int // bytes kept so far
	limit    int
}

// add takes one event into the answer.
func (c *collector) add(ev Event) error {
	c.events++
	switch ev.Type {
	case EventTextDelta:
		if ev.Text == "" {
			break
		}
		if c.afterJob {
			c.separate(ev.Text)
			c.afterJob = false
		}
		c.text = append(c.text, ev.Text...)
		c.size += len(ev.Text)
	case EventToolCall:
		call := ToolCall{ID: strings.Clone(ev.ToolCallID), Name: strings.Clone(ev.ToolName), Args: bytes.Clone(ev.Args)}
		if c.waiting == nil {
			c.waiting = make(map[string][]int)
		}
		c.waiting[call.ID] = append(c.waiting[call.ID], len(c.calls))
		c.calls = append(c.calls, call)
		c.size += callCost + len(call.ID) + len(call.Name) + len(call.Args)
	case EventToolResult:
		result := bytes.Clone(ev.Result)
		if result == nil {
			result = json.RawMessage("null") // a result came, though it holds nothing
		}
		c.size += len(result)
		if idx := c.waiting[ev.ToolCallID]; len(idx) > 0 {
			c.calls[idx[0]].Result = result
			c.waiting[ev.ToolCallID] = idx[1:]
			break
		}
		// A result for no call that came: keep it rather than lose it.
		c.calls = append(c.calls, ToolCall{ID: strings.Clone(ev.ToolCallID), Name: strings.Clone(ev.ToolName), Result: result})
		c.size += callCost + len(ev.ToolCallID) + len(ev.ToolName)
	case EventFinish:
		var line struct {
			FinishReason string `json:"finishReason"`
		}
		if json.Unmarshal(ev.Raw, &line) == nil {
			c.reason = line.FinishReason
		}
	case EventJobStarted:
		// Only Conversation sets JobID; a server line that merely names
		// the type carries none.
		if ev.JobID != "" && !slices.Contains(c.jobs, ev.JobID) {
			c.jobs = append(c.jobs, ev.JobID)
			c.size += len(ev.JobID)
		}
	case EventJobFinished:
		if ev.JobID != "" {
			if c.finished == nil {
				c.finished = make(map[string]bool)
			}
			c.finished[ev.JobID] = true
			c.afterJob = true
		}
	}
	if c.size > c.limit {
		return fmt.Errorf("toolhouse: the answer holds more than %d bytes, %d times the stream's line limit "+
			"(WithMaxLineSize); read it event by event with Next or All instead of Collect", c.limit, answerLinesLimit)
	}
	return nil
}

// separate ends the text so far with a blank line before next, the first
// text after a background job, counting the line breaks either side
// already has.
func (c *collector) separate(next string) {
	if len(c.text) == 0 {
		return
	}
	c.text = bytes.TrimRight(c.text, " \t")
	breaks := len(c.text) - len(bytes.TrimRight(c.text, "\n")) + len(next) - len(strings.TrimLeft(next, "\n"))
	for ; breaks < 2; breaks++ {
		c.text = append(c.text, '\n')
	}
}

// answer returns what was gathered, with the stream's run and pending job.
func (c *collector) answer(s *EventStream) *Answer {
	a := &Answer{
		RunID:        s.RunID(),
		Text:         string(c.text),
		ToolCalls:    c.calls,
		JobIDs:       c.jobs,
		FinishReason: c.reason,
		Events:       c.events,
	}
	if job := s.JobID(); job != "" && !c.finished[job] {
		a.PendingJobID = job
	}
	return a
}

// redacted hides the client's API key in text the stream repeats from the
// server in an error, should the server have echoed the key.
func (s *EventStream) redacted(text string) string {
	if s.redact == nil {
		return text
	}
	return s.redact(text)
}
