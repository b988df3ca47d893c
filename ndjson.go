package toolhouse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"sync"
)

// Decoder reads newline-delimited JSON: one value per line. Blank lines are
// skipped, a last line without a newline is still a line, and a line is
// handed over as soon as its newline arrives (the decoder never waits for
// more input than it needs).
type Decoder struct {
	r     io.Reader
	buf   []byte
	start int // first unread byte of buf
	end   int // end of the data in buf
	max   int // longest accepted line
	line  int // number of the last line read (1-based)
	err   error
	eof   bool
}

const initialBufSize = 64 << 10

// NewDecoder returns a decoder reading from r, accepting lines up to
// DefaultMaxLineSize (32 MiB).
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: r, max: DefaultMaxLineSize}
}

// SetMaxLineSize sets the longest line the decoder accepts; a longer one is
// an error matching ErrLineTooLong. The decoder never holds much more than
// this in memory. A value of zero or less restores the default.
func (d *Decoder) SetMaxLineSize(n int) {
	if n <= 0 {
		n = DefaultMaxLineSize
	}
	d.max = n
}

// Decode reads the next non-blank line into v, as json.Unmarshal would. It
// returns io.EOF at a clean end, an error matching io.ErrUnexpectedEOF when
// the input ends inside a line, and an error naming the line number for a
// malformed line.
func (d *Decoder) Decode(v any) error {
	line, err := d.readLine()
	if err != nil {
		return err
	}
	if err := json.Unmarshal(line, v); err != nil {
		return d.lineError(err)
	}
	return nil
}

// lineError describes a line that did not decode.
func (d *Decoder) lineError(err error) error {
	var syn *json.SyntaxError
	if d.eof && errors.As(err, &syn) && syn.Offset >= 0 && syntaxAtEnd(err) {
		return fmt.Errorf("toolhouse: NDJSON line %d: input ends inside the line: %w", d.line, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("toolhouse: NDJSON line %d: %w", d.line, err)
}

// syntaxAtEnd reports whether a JSON error says the value was cut short.
func syntaxAtEnd(err error) bool {
	return err != nil && err.Error() == "unexpected end of JSON input"
}

// readLine returns the next non-blank line without its newline. The slice
// points into the decoder's buffer and is valid until the next call.
func (d *Decoder) readLine() ([]byte, error) {
	for {
		line, err := d.rawLine()
		if err != nil {
			return nil, err
		}
		d.line++
		if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 {
			return trimmed, nil
		}
	}
}

// rawLine returns the next line, blank or not.
func (d *Decoder) rawLine() ([]byte, error) {
	if d.err != nil {
		return nil, d.err
	}
	scanned := 0 // bytes of the pending line already searched for '\n'
	for {
		if i := bytes.IndexByte(d.buf[d.start+scanned:d.end], '\n'); i >= 0 {
			n := scanned + i
			if n > d.max {
				return nil, d.fail(d.tooLong())
			}
			line := d.buf[d.start : d.start+n]
			d.start += n + 1
			return line, nil
		}
		scanned = d.end - d.start
		if scanned > d.max {
			return nil, d.fail(d.tooLong())
		}
		if d.eof {
			if scanned == 0 {
				return nil, d.fail(io.EOF)
			}
			line := d.buf[d.start:d.end]
			d.start = d.end
			return line, nil
		}
		if err := d.fill(); err != nil {
			return nil, d.fail(err)
		}
	}
}

func (d *Decoder) tooLong() error {
	return fmt.Errorf("toolhouse: NDJSON line %d is longer than %d bytes: %w", d.line+1, d.max, ErrLineTooLong)
}

func (d *Decoder) fail(err error) error {
	d.err = err
	return err
}

// fill reads more input, making room first: the pending line moves to the
// front, and the buffer grows (never past max+1) when it is full.
func (d *Decoder) fill() error {
	if d.start > 0 {
		n := copy(d.buf, d.buf[d.start:d.end])
		d.start, d.end = 0, n
	}
	if d.end == len(d.buf) {
		size := 2 * len(d.buf)
		if size == 0 {
			size = initialBufSize
		}
		if size > d.max+1 {
			size = d.max + 1
		}
		if size <= len(d.buf) {
			size = len(d.buf) + 1
		}
		grown := make([]byte, size)
		copy(grown, d.buf[:d.end])
		d.buf = grown
	}
	n, err := d.r.Read(d.buf[d.end:])
	d.end += n
	switch {
	case err == io.EOF:
		d.eof = true
	case err != nil && n == 0:
		return err
	}
	return nil
}

// The event types that Conversation adds to a worker's own stream.
const (
	EventJobStarted  = "toolhouse.job-started"  // a background job began (Event.JobID)
	EventJobFinished = "toolhouse.job-finished" // it ended; the resumed answer follows
)

// Event is one line of a worker's NDJSON stream. Unknown types are
// delivered with their Type and Raw line, never dropped.
type Event struct {
	Type       string          // the line's "type"
	Text       string          // text lines: "textDelta", "text" or "delta"
	JobID      string          // EventJobStarted / EventJobFinished
	ToolName   string          // tool-call / tool-result
	ToolCallID string          // tool-call / tool-result
	Args       json.RawMessage // tool-call arguments ("args" or "input")
	Result     json.RawMessage // tool-result value ("result" or "output")
	Error      string          // "error" lines
	Raw        json.RawMessage // the whole line
}

// eventWire is the line schema: the Vercel AI SDK stream parts, with the
// newer spellings of the same fields.
type eventWire struct {
	Type       string          `json:"type"`
	TextDelta  json.RawMessage `json:"textDelta"`
	Text       json.RawMessage `json:"text"`
	Delta      json.RawMessage `json:"delta"`
	ToolName   json.RawMessage `json:"toolName"`
	ToolCallID json.RawMessage `json:"toolCallId"`
	Args       json.RawMessage `json:"args"`
	Input      json.RawMessage `json:"input"`
	Result     json.RawMessage `json:"result"`
	Output     json.RawMessage `json:"output"`
	Error      json.RawMessage `json:"error"`
}

// parseEvent decodes one line. line is not retained: the event owns a copy.
func parseEvent(line []byte) (Event, error) {
	raw := append(json.RawMessage(nil), line...)
	var w eventWire
	if err := json.Unmarshal(raw, &w); err != nil {
		return Event{}, err
	}
	ev := Event{Type: w.Type, Raw: raw, Args: w.Args, Result: w.Result}
	ev.Text = firstString(w.TextDelta, w.Text, w.Delta)
	ev.ToolName = firstString(w.ToolName)
	ev.ToolCallID = firstString(w.ToolCallID)
	if ev.Args == nil {
		ev.Args = w.Input
	}
	if ev.Result == nil {
		ev.Result = w.Output
	}
	ev.Error = errorText(w.Error)
	return ev, nil
}

// firstString returns the first of raws that is a JSON string, decoded.
func firstString(raws ...json.RawMessage) string {
	for _, r := range raws {
		if len(r) > 0 && r[0] == '"' {
			var s string
			if json.Unmarshal(r, &s) == nil {
				return s
			}
		}
	}
	return ""
}

// nextEvent reads the next line as an Event.
func (d *Decoder) nextEvent() (Event, error) {
	line, err := d.readLine()
	if err != nil {
		return Event{}, err
	}
	if line[0] != '{' {
		return Event{}, fmt.Errorf("toolhouse: NDJSON line %d is not a JSON object", d.line)
	}
	ev, err := parseEvent(line)
	if err != nil {
		return Event{}, d.lineError(err)
	}
	return ev, nil
}

// EventStream is a worker's NDJSON answer, read one event at a time:
//
//	for stream.Next() {
//		ev := stream.Current()
//	}
//	if err := stream.Err(); err != nil { ... }
//
// Close it when done (it is safe to Close twice, and after an error). An
// event stays valid after the next call to Next.
type EventStream struct {
	body  io.ReadCloser
	dec   *Decoder
	max   int
	runID string
	jobID string
	cur   Event
	err   error
	done  bool

	// onEnd, when set, is asked what follows a response that ended
	// cleanly: an event to deliver, the next response to read, or (both
	// nil) the end. Conversation uses it to follow background jobs.
	onEnd func() (*Event, *http.Response, error)

	closeOnce sync.Once
	closeErr  error
}

// newEventStream reads resp's body as NDJSON, with lines up to maxLine.
func newEventStream(resp *http.Response, maxLine int) *EventStream {
	s := &EventStream{max: maxLine}
	s.use(resp)
	return s
}

// use switches the stream to the body of resp.
func (s *EventStream) use(resp *http.Response) {
	s.body = resp.Body
	s.dec = NewDecoder(resp.Body)
	s.dec.SetMaxLineSize(s.max)
	if id := resp.Header.Get(headerRunID); id != "" {
		s.runID = id
	}
	s.jobID = resp.Header.Get(headerJobID)
}

// Next advances to the next event and reports whether there is one. It
// returns false at the end of the stream or on an error (see Err).
func (s *EventStream) Next() bool {
	if s.done {
		return false
	}
	for {
		if s.dec != nil {
			ev, err := s.dec.nextEvent()
			if err == nil {
				s.cur = ev
				return true
			}
			s.body.Close()
			s.dec = nil
			if err != io.EOF {
				s.err = err
				s.done = true
				return false
			}
		}
		if s.onEnd == nil {
			s.done = true
			return false
		}
		ev, resp, err := s.onEnd()
		switch {
		case err != nil:
			s.err = err
			s.done = true
			return false
		case ev != nil:
			s.cur = *ev
			return true
		case resp == nil:
			s.done = true
			return false
		}
		s.use(resp)
	}
}

// Current returns the event Next advanced to.
func (s *EventStream) Current() Event { return s.cur }

// Err returns the error that ended the stream, or nil after a clean end.
func (s *EventStream) Err() error { return s.err }

// Close releases the connection. It is idempotent and safe after an error.
func (s *EventStream) Close() error {
	s.closeOnce.Do(func() {
		s.done = true
		if s.dec != nil {
			s.closeErr = s.body.Close()
			s.dec = nil
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
