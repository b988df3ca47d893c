package toolhouse

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/toolhouseai/toolhouse-go/internal/jsonscan"
)

// The event types that Conversation adds to a worker's own stream.
const (
	EventJobStarted  = "toolhouse.job-started"  // a background job began (Event.JobID)
	EventJobFinished = "toolhouse.job-finished" // it ended; the resumed answer follows
)

// The event types a worker sends (the Vercel AI SDK stream parts), for
// comparing with Event.Type. A server may send others; they are delivered
// as they come.
//
// EventFinish is the finish line of one response. What a caller may rely
// on: in a Conversation stream, only the finish line of the answer's last
// response is delivered; the finish line of a response that started a
// background job is held back, since the answer goes on after the job. So
// there, a finish event means no later response follows. A stream of
// Workers.Stream or ContinueStream delivers its finish line as sent, even
// when the response started a job (EventStream.JobID set): the rest of the
// answer then comes after the job, from ContinueStream. A server may end a
// stream without a finish line, or send lines after one: the end of the
// stream (Next returning false) is the only sure end, so read to it rather
// than stop at a finish event.
const (
	EventTextDelta  = "text-delta"  // a piece of the answer (Event.Text)
	EventToolCall   = "tool-call"   // the agent calls a tool (ToolName, ToolCallID, Args)
	EventToolResult = "tool-result" // the tool's answer (ToolName, ToolCallID, Result)
	EventFinish     = "finish"      // a response's finish line; see above
	EventError      = "error"       // the worker reports an error (Event.Error)
)

// Event is one line of a worker's NDJSON stream. Unknown types are
// delivered with their Type and Raw line, never dropped.
//
// An event stays valid after the stream moves on. Raw, Args, Result and
// the string fields point into the memory the line was read into, which
// the decoder never writes again (a short line shares it with its
// neighbours): treat Raw, Args and Result as read-only, since changing
// their bytes would change the strings too. Copy them (bytes.Clone) before
// modifying. The strings of a line longer than 4 KiB are copies unless
// they make up half of it or more, so that keeping an event's Type or
// ToolCallID does not keep a megabyte tool result alive.
type Event struct {
	Type       string          // the line's "type"
	Text       string          // text lines: "textDelta", "text" or "delta"
	JobID      string          // EventJobStarted / EventJobFinished
	ToolName   string          // tool-call / tool-result
	ToolCallID string          // tool-call / tool-result
	Args       json.RawMessage // tool-call arguments ("args" or "input"); read-only
	Result     json.RawMessage // tool-result value ("result" or "output"); read-only
	Error      string          // "error" lines
	Raw        json.RawMessage // the whole line; read-only
}

// nextEvent reads the next line as an Event.
func (d *Decoder) nextEvent() (Event, error) {
	var ev Event
	err := d.readEvent(&ev)
	return ev, err
}

// readEvent reads the next line into *ev, which it leaves alone on an
// error.
func (d *Decoder) readEvent(ev *Event) error {
	line, terminated, err := d.readLine()
	if err != nil {
		return err
	}
	return d.parseEvent(line, terminated, ev)
}

// The fields of a line the event reads, in the order of eventWire. A
// line's key matches a field the way encoding/json matches it: exactly,
// else ignoring case.
const (
	fieldType = iota
	fieldTextDelta
	fieldText
	fieldDelta
	fieldToolName
	fieldToolCallID
	fieldArgs
	fieldInput
	fieldResult
	fieldOutput
	fieldError
	numFields
	fieldNone = -1
)

// span locates a value in a line: raw[start:end]. end is zero when the
// key is absent (no value can end at 0: a line starts with '{').
type span struct{ start, end int }

// parseEvent builds the event of one line. raw is in memory the decoder
// never writes again: the event keeps it as Raw and points its other
// fields into it, except the short strings of a long line (see str).
//
// It scans raw once, validating it exactly as encoding/json does and
// noting where the values of the known keys lie; only the string fields
// the event needs are unquoted, and a string without escapes or non-ASCII
// bytes is used in place. The result is what json.Unmarshal into eventWire
// would give (see eventFromWire): where the line holds something rare that
// this path does not model (a key with escapes or non-ASCII letters, which
// encoding/json folds by Unicode rules, or a "type" that is neither a
// string nor null), it hands the line to eventFromWire itself.
func (d *Decoder) parseEvent(raw []byte, terminated bool, ev *Event) error {
	var fields [numFields]span
	switch scanEventLine(&d.scan, raw, &fields) {
	case lineEvent:
	case lineNotObject:
		return fmt.Errorf("toolhouse: NDJSON line %d is not a JSON object", d.line)
	case lineFallback:
		e, err := eventFromWire(raw)
		if err != nil {
			return fmt.Errorf("toolhouse: NDJSON line %d: %w", d.line, err)
		}
		*ev = e
		return nil
	default: // lineInvalid
		return d.invalidLine(raw, terminated)
	}

	// The strings of a long line are copied out of it when they are much
	// shorter than the line, so that keeping one (an event's Type or
	// ToolCallID, say) does not keep the whole line alive; keeping one
	// that is at least half the line keeps at most twice its size.
	long := len(raw) > slabMaxPiece
	str := func(f span) string {
		s := raw[f.start+1 : f.end-1]
		return d.strs.unquote(s, long && 2*len(s) < len(raw))
	}
	// Every field is set, as a fresh Event would have it, without
	// building one and copying it over *ev.
	ev.Type, ev.Text, ev.JobID, ev.ToolName, ev.ToolCallID, ev.Error = "", "", "", "", "", ""
	ev.Raw = raw
	if f := fields[fieldType]; f.end > 0 {
		ev.Type = str(f)
	}
	for _, k := range [...]int{fieldTextDelta, fieldText, fieldDelta} {
		if f := fields[k]; f.end > 0 && raw[f.start] == '"' {
			ev.Text = str(f)
			break
		}
	}
	if f := fields[fieldToolName]; f.end > 0 && raw[f.start] == '"' {
		ev.ToolName = str(f)
	}
	if f := fields[fieldToolCallID]; f.end > 0 && raw[f.start] == '"' {
		ev.ToolCallID = str(f)
	}
	ev.Args = rawField(raw, fields[fieldArgs], fields[fieldInput])
	ev.Result = rawField(raw, fields[fieldResult], fields[fieldOutput])
	if f := fields[fieldError]; f.end > 0 {
		if raw[f.start] == '"' && f.end-f.start > 2 {
			ev.Error = str(f)
		} else {
			// null, "", an object or anything else: errorText's rules.
			ev.Error = errorText(raw[f.start:f.end])
		}
	}
	return nil
}

// invalidLine is the error for a line that is not valid JSON. The message
// comes from encoding/json, so it reads like the Decode path's.
func (d *Decoder) invalidLine(raw []byte, terminated bool) error {
	if !terminated && d.scan.Valid(raw) == jsonscan.Short {
		return d.truncated()
	}
	var v struct{}
	err := json.Unmarshal(raw, &v)
	if err == nil {
		// Unreachable while the scanner is as strict as encoding/json,
		// which the tests hold it to; say so rather than pass bad data.
		err = errors.New("invalid JSON")
	}
	return fmt.Errorf("toolhouse: NDJSON line %d: %w", d.line, err)
}

// rawField returns the first present of two spellings of a raw field,
// capped so that appending to it cannot write into the line after it.
func rawField(raw []byte, first, second span) json.RawMessage {
	f := first
	if f.end == 0 {
		f = second
	}
	if f.end == 0 {
		return nil
	}
	return raw[f.start:f.end:f.end]
}

// lineKind is what scanEventLine found in a line.
type lineKind uint8

const (
	lineEvent     lineKind = iota // an object; its known fields are located
	lineNotObject                 // valid JSON, but not an object
	lineFallback                  // valid, but parseEvent leaves it to encoding/json
	lineInvalid                   // not valid JSON
)

// scanEventLine validates line, a trimmed line, as one JSON value and,
// when it is an object, records in fields where the value of each known
// top-level key lies (for a repeated key, the last one, as encoding/json
// keeps).
//
// It walks the object itself rather than with jsonscan.Object, which the
// run decoder uses: the callback per member cost 4% more instructions per
// text-delta line and 2% per benchmark stream (callgrind).
func scanEventLine(s *jsonscan.Scanner, line []byte, fields *[numFields]span) lineKind {
	if len(line) == 0 || line[0] != '{' {
		if s.Valid(line) != jsonscan.OK {
			return lineInvalid
		}
		return lineNotObject
	}
	result := lineEvent
	var st jsonscan.Status
	i := jsonscan.SkipSpace(line, 1)
	if i < len(line) && line[i] == '}' {
		i++
	} else {
		for {
			if i >= len(line) || line[i] != '"' {
				return lineInvalid
			}
			keyStart := i + 1
			if i, st = jsonscan.String(line, keyStart); st != jsonscan.OK {
				return lineInvalid
			}
			key := line[keyStart : i-1]
			if i = jsonscan.SkipSpace(line, i); i >= len(line) || line[i] != ':' {
				return lineInvalid
			}
			valStart := jsonscan.SkipSpace(line, i+1)
			if i, st = s.Value(line, valStart, 1); st != jsonscan.OK {
				return lineInvalid
			}
			switch f := matchField(key); f {
			case fieldNone:
			case fieldUnsure:
				result = lineFallback
			case fieldType:
				// A null leaves the string field as it was; any other
				// non-string is an encoding/json type error.
				switch line[valStart] {
				case '"':
					fields[f] = span{valStart, i}
				case 'n':
				default:
					result = lineFallback
				}
			default:
				fields[f] = span{valStart, i}
			}
			if i = jsonscan.SkipSpace(line, i); i >= len(line) {
				return lineInvalid
			}
			if line[i] == ',' {
				i = jsonscan.SkipSpace(line, i+1)
				continue
			}
			if line[i] != '}' {
				return lineInvalid
			}
			i++
			break
		}
	}
	if jsonscan.SkipSpace(line, i) != len(line) {
		return lineInvalid
	}
	return result
}

// fieldUnsure marks a key that encoding/json might match by rules this
// scanner does not model: escapes or non-ASCII letters in the key.
const fieldUnsure = -2

// matchField returns the field a key names, ignoring ASCII case as
// encoding/json does; fieldNone for any other key; fieldUnsure for a key
// with escapes or non-ASCII bytes.
func matchField(key []byte) int {
	switch string(key) { // the spellings servers send, without folding
	case "type":
		return fieldType
	case "textDelta":
		return fieldTextDelta
	case "toolCallId":
		return fieldToolCallID
	case "toolName":
		return fieldToolName
	}
	if len(key) < 4 || len(key) > 10 {
		if unsure(key) {
			return fieldUnsure
		}
		return fieldNone
	}
	var lower [10]byte
	for i, c := range key {
		switch {
		case c == '\\' || c >= utf8.RuneSelf:
			return fieldUnsure
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	switch string(lower[:len(key)]) {
	case "type":
		return fieldType
	case "textdelta":
		return fieldTextDelta
	case "text":
		return fieldText
	case "delta":
		return fieldDelta
	case "toolname":
		return fieldToolName
	case "toolcallid":
		return fieldToolCallID
	case "args":
		return fieldArgs
	case "input":
		return fieldInput
	case "result":
		return fieldResult
	case "output":
		return fieldOutput
	case "error":
		return fieldError
	}
	return fieldNone
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

// eventFromWire decodes a line with encoding/json: the definition of what
// parseEvent computes, and its path for lines it does not model.
func eventFromWire(raw []byte) (Event, error) {
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
