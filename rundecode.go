package toolhouse

import (
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/toolhouseai/toolhouse-go/internal/jsonscan"
)

// The calls that return agent runs decode their bodies in one pass: with
// encoding/json, every Message and Timestamp re-ran json.Unmarshal on its
// own bytes, so a run's results were scanned three or four times over and
// each string was allocated on its own. runDecoder reads a body once,
// validating it exactly as encoding/json does, and gives the very result
// json.Unmarshal gives. Whatever it does not model (a key with escapes or
// non-ASCII letters, which encoding/json folds by Unicode rules; a value
// of the wrong type; a repeated "results" or "vars"; invalid JSON) makes
// it give up, and the body goes to encoding/json, which decodes it or
// reports the error it always did. FuzzRunBody holds the two to each
// other.

// bodyDecoder is implemented by the response types that can decode a body
// in one pass. decodeBody reports whether it did; when it did not, the
// receiver is unchanged, for encoding/json to decode.
type bodyDecoder interface {
	decodeBody(body []byte) bool
}

// decodeBody decodes {"data": run} and {"data": [run, ...]} in one pass;
// other envelopes are left to encoding/json.
func (e *envelope[T]) decodeBody(body []byte) bool {
	switch p := any(&e.Data).(type) {
	case **AgentRun:
		d := newRunDecoder(body)
		var run *AgentRun
		ok := d.envelope(func(i int) (int, bool) {
			var end int
			var ok bool
			run, end, ok = d.runOrNull(i, 1)
			return end, ok
		})
		if ok {
			*p = run
		}
		return ok
	case *[]*AgentRun:
		d := newRunDecoder(body)
		var runs []*AgentRun
		ok := d.envelope(func(i int) (int, bool) {
			if d.data[i] == 'n' {
				runs = nil
				return d.null(i)
			}
			runs = []*AgentRun{}
			return jsonscan.Array(d.data, i, func(i int) (int, bool) {
				run, end, ok := d.runOrNull(i, 2)
				runs = append(runs, run)
				return end, ok
			})
		})
		if ok {
			*p = runs
		}
		return ok
	}
	return false
}

// runDecoder reads one response body. Strings without escapes point into
// the body, except that in a body longer than slabMaxPiece those shorter
// than half of it are copied out, so that keeping a run's Status does not
// keep a large body alive. Message.Raw is a copy, as encoding/json makes;
// Part.Args and Part.Result point into their message's Raw, capacity cut
// at their end, so that keeping one does not keep the body alive either.
type runDecoder struct {
	data []byte
	long bool // strings shorter than half the body are copied
	scan jsonscan.Scanner
	strs arena
}

func newRunDecoder(body []byte) *runDecoder {
	return &runDecoder{data: body, long: len(body) > slabMaxPiece}
}

// envelope reads the body as an object whose "data" member's value data
// decodes; other members are validated and skipped. It gives up on a
// second "data".
func (d *runDecoder) envelope(data func(i int) (int, bool)) bool {
	i := jsonscan.SkipSpace(d.data, 0)
	if i >= len(d.data) || d.data[i] != '{' {
		return false
	}
	seen := false
	end, ok := jsonscan.Object(d.data, i, func(key []byte, i int) (int, bool) {
		if !is(key, "data") {
			if unsure(key) {
				return i, false
			}
			return d.skip(i, 1)
		}
		if seen {
			return i, false
		}
		seen = true
		return data(i)
	})
	return ok && jsonscan.SkipSpace(d.data, end) == len(d.data)
}

// Fields of AgentRun that a repeated key would merge rather than replace.
const (
	seenResults = 1 << iota
	seenVars
)

// runOrNull reads a run, or null (a nil run), at data[i]. depth is the
// number of containers around it, for the nesting limit: the run's members
// are at depth+1, a message's at depth+3, a part's at depth+5.
func (d *runDecoder) runOrNull(i, depth int) (*AgentRun, int, bool) {
	switch d.data[i] {
	case 'n':
		end, ok := d.null(i)
		return nil, end, ok
	case '{':
	default:
		return nil, i, false
	}
	run := new(AgentRun)
	seen := 0
	end, ok := jsonscan.Object(d.data, i, func(key []byte, i int) (int, bool) {
		var field *string
		switch {
		case is(key, "id"):
			field = &run.ID
		case is(key, "chat_id"):
			field = &run.ChatID
		case is(key, "user_id"):
			field = &run.UserID
		case is(key, "schedule_id"):
			field = &run.ScheduleID
		case is(key, "status"):
			field = (*string)(&run.Status)
		case is(key, "bundle"):
			field = &run.Bundle
		case is(key, "toolhouse_id"):
			field = &run.ToolhouseID
		case is(key, "callback_url"):
			field = &run.CallbackURL
		case is(key, "last_agent_message"):
			field = &run.LastAgentMessage
		case is(key, "error"):
			field = &run.Error
		case is(key, "created_at"):
			return d.timestamp(i, &run.CreatedAt)
		case is(key, "updated_at"):
			return d.timestamp(i, &run.UpdatedAt)
		case is(key, "results"):
			if seen&seenResults != 0 {
				return i, false
			}
			seen |= seenResults
			return d.results(i, depth+1, &run.Results)
		case is(key, "vars"):
			if seen&seenVars != 0 {
				return i, false
			}
			seen |= seenVars
			return d.vars(i, &run.Vars)
		case unsure(key):
			return i, false
		default:
			return d.skip(i, depth+1)
		}
		return d.stringField(i, field)
	})
	return run, end, ok
}

// results reads a run's results, at depth: null, or a list of message
// objects.
func (d *runDecoder) results(i, depth int, out *[]Message) (int, bool) {
	if d.data[i] == 'n' {
		*out = nil
		return d.null(i)
	}
	msgs := []Message{}
	end, ok := jsonscan.Array(d.data, i, func(i int) (int, bool) {
		m, end, ok := d.message(i, depth+1)
		msgs = append(msgs, m)
		return end, ok
	})
	*out = msgs
	return end, ok
}

// message reads one results entry, at depth, as Message.UnmarshalJSON
// does.
func (d *runDecoder) message(i, depth int) (Message, int, bool) {
	var m Message
	if d.data[i] != '{' {
		return m, i, false
	}
	var errRaw []byte
	end, ok := jsonscan.Object(d.data, i, func(key []byte, i int) (int, bool) {
		switch {
		case is(key, "role"):
			return d.stringField(i, &m.Role)
		case is(key, "content"):
			return d.content(i, depth+1, &m.Content)
		case is(key, "error"):
			end, ok := d.skip(i, depth+1)
			errRaw = d.data[i:end]
			return end, ok
		case unsure(key):
			return i, false
		}
		return d.skip(i, depth+1)
	})
	if !ok {
		return m, end, false
	}
	m.Raw = append(json.RawMessage(nil), d.data[i:end]...)
	for k := range m.Content {
		p := &m.Content[k]
		p.Args, p.Result = d.moveTo(m.Raw, i, p.Args), d.moveTo(m.Raw, i, p.Result)
	}
	m.Error = errorText(errRaw)
	return m, end, true
}

// moveTo returns the piece of raw, a copy of data[from:], that holds what
// v, a raw value as part reads it, holds in data. Its capacity, which
// part leaves running to the end of data, says where it starts.
func (d *runDecoder) moveTo(raw []byte, from int, v json.RawMessage) json.RawMessage {
	if v == nil {
		return nil
	}
	start := cap(d.data) - cap(v) - from
	end := start + len(v)
	return raw[start:end:end]
}

// content reads a message's content, at depth: a string (one text part),
// a list of parts, a lone part, or null (none). A repeated "content"
// replaces the earlier one, as the RawMessage that Message.UnmarshalJSON
// reads it from does.
func (d *runDecoder) content(i, depth int, out *[]Part) (int, bool) {
	switch d.data[i] {
	case '"':
		var text string
		end, ok := d.stringField(i, &text)
		*out = []Part{{Type: PartText, Text: text}}
		return end, ok
	case '[':
		parts := []Part{}
		end, ok := jsonscan.Array(d.data, i, func(i int) (int, bool) {
			p, end, ok := d.part(i, depth+1)
			parts = append(parts, p)
			return end, ok
		})
		*out = parts
		return end, ok
	case '{':
		p, end, ok := d.part(i, depth)
		*out = []Part{p}
		return end, ok
	case 'n':
		*out = nil
		return d.null(i)
	}
	return i, false
}

// part reads one part of a message's content, at depth, as partWire does,
// or null.
func (d *runDecoder) part(i, depth int) (Part, int, bool) {
	var p Part
	var input, output json.RawMessage
	switch d.data[i] {
	case 'n':
		end, ok := d.null(i)
		return p, end, ok
	case '{':
	default:
		return p, i, false
	}
	end, ok := jsonscan.Object(d.data, i, func(key []byte, i int) (int, bool) {
		var raw *json.RawMessage
		switch {
		case is(key, "type"):
			return d.stringField(i, &p.Type)
		case is(key, "text"):
			return d.stringField(i, &p.Text)
		case is(key, "toolName"):
			return d.stringField(i, &p.ToolName)
		case is(key, "toolCallId"):
			return d.stringField(i, &p.ToolCallID)
		case is(key, "args"):
			raw = &p.Args
		case is(key, "input"):
			raw = &input
		case is(key, "result"):
			raw = &p.Result
		case is(key, "output"):
			raw = &output
		case unsure(key):
			return i, false
		default:
			return d.skip(i, depth+1)
		}
		end, ok := d.skip(i, depth+1)
		*raw = d.data[i:end] // message moves it to its Raw
		return end, ok
	})
	if p.Args == nil {
		p.Args = input
	}
	if p.Result == nil {
		p.Result = output
	}
	return p, end, ok
}

// vars reads a run's vars: null, or an object of strings (a null value
// reads as "", as encoding/json stores the zero value).
func (d *runDecoder) vars(i int, out *map[string]string) (int, bool) {
	if d.data[i] == 'n' {
		*out = nil
		return d.null(i)
	}
	if d.data[i] != '{' {
		return i, false
	}
	vars := map[string]string{}
	end, ok := jsonscan.Object(d.data, i, func(key []byte, i int) (int, bool) {
		var v string
		end, ok := d.stringField(i, &v)
		vars[d.text(key)] = v
		return end, ok
	})
	*out = vars
	return end, ok
}

// timestamp reads a Timestamp as its UnmarshalJSON does; a string it
// cannot parse is left to encoding/json, for its error.
func (d *runDecoder) timestamp(i int, t *Timestamp) (int, bool) {
	if d.data[i] == 'n' {
		t.Time = time.Time{}
		return d.null(i)
	}
	var s string
	end, ok := d.stringField(i, &s)
	if !ok || d.data[i] != '"' {
		return end, false
	}
	parsed, err := parseTimestamp(s)
	t.Time = parsed
	return end, err == nil
}

// stringField reads a string into *s; null leaves *s as it is, as
// encoding/json does, and any other value is left to encoding/json.
func (d *runDecoder) stringField(i int, s *string) (int, bool) {
	switch d.data[i] {
	case 'n':
		return d.null(i)
	case '"':
		end, st := jsonscan.String(d.data, i+1)
		if st != jsonscan.OK {
			return end, false
		}
		*s = d.text(d.data[i+1 : end-1])
		return end, true
	}
	return i, false
}

// text returns the text of a valid JSON string's contents s (without its
// quotes), a piece of the body.
func (d *runDecoder) text(s []byte) string {
	return d.strs.unquote(s, d.long && 2*len(s) < len(d.data))
}

// skip validates the value at data[i], at depth, and returns its end.
func (d *runDecoder) skip(i, depth int) (int, bool) {
	end, st := d.scan.Value(d.data, i, depth)
	return end, st == jsonscan.OK
}

// null validates the null at data[i].
func (d *runDecoder) null(i int) (int, bool) {
	if len(d.data)-i >= 4 && string(d.data[i:i+4]) == "null" {
		return i + 4, true
	}
	return i, false
}

// is reports whether key names the field name as encoding/json matches
// names: exactly or ignoring ASCII case (keys with escapes or non-ASCII
// bytes are unsure, and never match).
func is(key []byte, name string) bool {
	if len(key) != len(name) {
		return false
	}
	for i := range len(key) {
		c, n := key[i], name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= n && n <= 'Z' {
			n += 'a' - 'A'
		}
		if c != n {
			return false
		}
	}
	return true
}

// unsure reports whether encoding/json might match key to a field by rules
// the one-pass decoders (runDecoder, the event parser) do not model:
// escapes, or non-ASCII letters (it folds "ſtatus" to "status").
func unsure(key []byte) bool {
	for _, c := range key {
		if c == '\\' || c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}
