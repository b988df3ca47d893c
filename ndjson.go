package toolhouse

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/bits"
	"net/http"
	"sync"
	"sync/atomic"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Decoder reads newline-delimited JSON: one value per line. Blank lines are
// skipped, a last line without a newline is still a line, and a line is
// handed over as soon as its newline arrives (the decoder never waits for
// more input than it needs).
//
// Decoding into an *Event reads the line as a worker's event stream does,
// with a single pass over the line and no reflection.
type Decoder struct {
	r   io.Reader
	max int // longest accepted line

	// buf is the read buffer, reused for every line: nothing handed out
	// to a caller may point into it. Its unread data is buf[start:end].
	buf        []byte
	start, end int

	line    int   // number of the last line read (1-based)
	err     error // sticky: io.EOF, a read error or a too-long line
	readErr error // the reader's error, reported once the buffer is drained
	drained bool  // the reader has nothing more to give

	// slab is the free tail of the current slab. Pieces carved from it
	// hold events' lines and unquoted strings; a carved piece is written
	// once and never again, so events stay valid while the decoder reads
	// on, and many small lines share one allocation.
	slab []byte

	scan    scanner // validates lines; its stack is reused
	scratch []byte  // workspace for unquoting escaped strings
}

const (
	// initialBufSize is the read buffer's starting size; it grows (up to
	// the line limit) only for lines longer than that.
	initialBufSize = 64 << 10
	// minBufLimit keeps reads reasonably sized under a tiny line limit.
	minBufLimit = 4 << 10
	// shrinkAbove is the buffer size beyond which a buffer grown for one
	// huge line is dropped once that line is done, so a single 32 MiB line
	// does not pin 32 MiB for the rest of the stream. Lines up to a couple
	// of MiB keep their buffer, saving a regrowth for each.
	shrinkAbove = 4 << 20
	// slabSize and slabMaxPiece: lines up to slabMaxPiece share slabs of
	// slabSize bytes (at most one allocation per slab); longer ones get
	// their own allocation, so a slab wastes at most slabMaxPiece bytes.
	slabSize     = 32 << 10
	slabMaxPiece = 4 << 10
	// maxNoProgress bounds how often a reader may return (0, nil) in a
	// row before the decoder gives up, as bufio does.
	maxNoProgress = 100
)

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

// Decode reads the next non-blank line into v, as json.Unmarshal would, or
// as an event stream would when v is an *Event. It returns io.EOF at a
// clean end, an error matching io.ErrUnexpectedEOF when the input ends
// inside a line, and an error naming the line number for a malformed line;
// the decoder goes on with the next line after a malformed one.
func (d *Decoder) Decode(v any) error {
	if ev, ok := v.(*Event); ok {
		e, err := d.nextEvent()
		if err == nil {
			*ev = e
		}
		return err
	}
	line, terminated, err := d.readLine()
	if err != nil {
		return err
	}
	if err := json.Unmarshal(line, v); err != nil {
		var syn *json.SyntaxError
		if !terminated && errors.As(err, &syn) && d.scan.validate(line) == errShort {
			return d.truncated()
		}
		return fmt.Errorf("toolhouse: NDJSON line %d: %w", d.line, err)
	}
	return nil
}

// truncated is the error for a last line that stops inside its JSON value:
// the body was cut off, which must not pass for a clean end.
func (d *Decoder) truncated() error {
	return fmt.Errorf("toolhouse: NDJSON line %d: input ends inside the line: %w", d.line, io.ErrUnexpectedEOF)
}

// readLine returns the next non-blank line without its newline and without
// the JSON whitespace around it, and whether a newline ended it. The slice
// points into the read buffer and is valid until the next call.
func (d *Decoder) readLine() (line []byte, terminated bool, err error) {
	for {
		line, terminated, err := d.rawLine()
		if err != nil {
			return nil, false, err
		}
		d.line++
		if line = trimJSONSpace(line); len(line) > 0 {
			return line, terminated, nil
		}
	}
}

// trimJSONSpace trims the four bytes JSON calls whitespace, and only them:
// bytes.TrimSpace would also drop Unicode spaces such as U+0085 and let an
// invalid line pass as valid or blank.
func trimJSONSpace(b []byte) []byte {
	for len(b) > 0 && isJSONSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isJSONSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isJSONSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n'
}

// rawLine returns the next line, blank or not, and whether a newline ended
// it. It reads only when the buffer holds no complete line, so a line is
// returned as soon as its newline has arrived.
func (d *Decoder) rawLine() (line []byte, terminated bool, err error) {
	if d.err != nil {
		return nil, false, d.err
	}
	scanned := 0 // bytes of the pending line already searched for '\n'
	for {
		if i := bytes.IndexByte(d.buf[d.start+scanned:d.end], '\n'); i >= 0 {
			n := scanned + i
			if n > d.max {
				return nil, false, d.fail(d.tooLong())
			}
			line = d.buf[d.start : d.start+n]
			d.start += n + 1
			return line, true, nil
		}
		scanned = d.end - d.start
		if scanned > d.max {
			return nil, false, d.fail(d.tooLong())
		}
		if d.drained {
			switch {
			case d.readErr != nil:
				// A broken connection mid-line is not a short last line.
				return nil, false, d.fail(fmt.Errorf("toolhouse: reading NDJSON line %d: %w", d.line+1, d.readErr))
			case scanned == 0:
				return nil, false, d.fail(io.EOF)
			}
			line = d.buf[d.start:d.end]
			d.start = d.end
			return line, false, nil
		}
		d.fill()
	}
}

func (d *Decoder) tooLong() error {
	return fmt.Errorf("toolhouse: NDJSON line %d is longer than %d bytes: %w", d.line+1, d.max, ErrLineTooLong)
}

func (d *Decoder) fail(err error) error {
	d.err = err
	return err
}

// bufLimit is the most the read buffer may hold: one byte more than the
// longest line, so that a line one byte too long is seen without reading
// further.
func (d *Decoder) bufLimit() int {
	return max(d.max+1, minBufLimit)
}

// fill reads more input into the buffer. It is called only when the
// buffer holds no complete line, so everything unread is the start of one
// line: that part moves to the front, and the buffer grows (never past
// bufLimit) when the line fills most of it.
func (d *Decoder) fill() {
	pending := d.end - d.start
	switch {
	case len(d.buf) > shrinkAbove && pending <= initialBufSize/2:
		fresh := make([]byte, min(initialBufSize, d.bufLimit()))
		d.end = copy(fresh, d.buf[d.start:d.end])
		d.buf, d.start = fresh, 0
	case d.start > 0:
		d.end = copy(d.buf, d.buf[d.start:d.end])
		d.start = 0
	}
	if free := len(d.buf) - d.end; free < len(d.buf)/4 || free == 0 {
		d.grow()
	}
	for range maxNoProgress {
		n, err := d.r.Read(d.buf[d.end:])
		if n < 0 || n > len(d.buf)-d.end {
			d.drained, d.readErr = true, errors.New("toolhouse: reader returned an invalid count")
			return
		}
		d.end += n
		if err != nil {
			d.drained = true
			if err != io.EOF {
				d.readErr = err
			}
			return
		}
		if n > 0 {
			return
		}
	}
	d.drained, d.readErr = true, io.ErrNoProgress
}

// grow enlarges the buffer, doubling it up to bufLimit; it jumps straight
// to the limit rather than taking a last step just short of it.
func (d *Decoder) grow() {
	limit := d.bufLimit()
	if len(d.buf) >= limit {
		return
	}
	size := 2 * len(d.buf)
	if size == 0 {
		size = initialBufSize
	}
	if size >= limit-limit/8 {
		size = limit
	}
	grown := make([]byte, size)
	copy(grown, d.buf[:d.end])
	d.buf = grown
}

// carve returns n bytes of memory that nothing else will ever write: a
// piece of the current slab for short lines, a fresh allocation for long
// ones.
func (d *Decoder) carve(n int) []byte {
	if n > slabMaxPiece {
		return make([]byte, n)
	}
	if n > len(d.slab) {
		d.slab = make([]byte, slabSize)
	}
	p := d.slab[:n:n]
	d.slab = d.slab[n:]
	return p
}

// clone copies b into carved memory. Long lines skip carve's zeroing.
func (d *Decoder) clone(b []byte) []byte {
	if len(b) > slabMaxPiece {
		c := append([]byte(nil), b...)
		return c[:len(b):len(b)]
	}
	c := d.carve(len(b))
	copy(c, b)
	return c
}

// The event types that Conversation adds to a worker's own stream.
const (
	EventJobStarted  = "toolhouse.job-started"  // a background job began (Event.JobID)
	EventJobFinished = "toolhouse.job-finished" // it ended; the resumed answer follows
)

// Event is one line of a worker's NDJSON stream. Unknown types are
// delivered with their Type and Raw line, never dropped.
//
// An event stays valid after the stream moves on. Its string fields, Args,
// Result and Raw share one immutable copy of the line (a copy the decoder
// never writes again, possibly shared with neighbouring lines): treat Raw,
// Args and Result as read-only, since changing their bytes would change
// the strings too. Copy them (bytes.Clone) before modifying.
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
	line, terminated, err := d.readLine()
	if err != nil {
		return Event{}, err
	}
	return d.parseEvent(d.clone(line), terminated)
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

// parseEvent builds the event of one line. raw is the line's own copy:
// the event keeps it as Raw and points its other fields into it.
//
// It scans raw once, validating it exactly as encoding/json does and
// noting where the values of the known keys lie; only the string fields
// the event needs are unquoted, and a string without escapes or non-ASCII
// bytes is used in place. The result is what json.Unmarshal into eventWire
// would give (see eventFromWire): where the line holds something rare that
// this path does not model (a key with escapes or non-ASCII letters, which
// encoding/json folds by Unicode rules, or a "type" that is neither a
// string nor null), it hands the line to eventFromWire itself.
func (d *Decoder) parseEvent(raw []byte, terminated bool) (Event, error) {
	var fields [numFields]span
	switch d.scan.object(raw, &fields) {
	case scanOK:
	case scanNotObject:
		return Event{}, fmt.Errorf("toolhouse: NDJSON line %d is not a JSON object", d.line)
	case scanFallback:
		ev, err := eventFromWire(raw)
		if err != nil {
			return Event{}, fmt.Errorf("toolhouse: NDJSON line %d: %w", d.line, err)
		}
		return ev, nil
	default: // errSyntax, errShort
		return Event{}, d.invalidLine(raw, terminated)
	}

	ev := Event{Raw: raw}
	if f := fields[fieldType]; f.end > 0 {
		ev.Type = d.unquote(raw[f.start+1 : f.end-1])
	}
	for _, k := range [...]int{fieldTextDelta, fieldText, fieldDelta} {
		if f := fields[k]; f.end > 0 && raw[f.start] == '"' {
			ev.Text = d.unquote(raw[f.start+1 : f.end-1])
			break
		}
	}
	if f := fields[fieldToolName]; f.end > 0 && raw[f.start] == '"' {
		ev.ToolName = d.unquote(raw[f.start+1 : f.end-1])
	}
	if f := fields[fieldToolCallID]; f.end > 0 && raw[f.start] == '"' {
		ev.ToolCallID = d.unquote(raw[f.start+1 : f.end-1])
	}
	ev.Args = rawField(raw, fields[fieldArgs], fields[fieldInput])
	ev.Result = rawField(raw, fields[fieldResult], fields[fieldOutput])
	if f := fields[fieldError]; f.end > 0 {
		if raw[f.start] == '"' && f.end-f.start > 2 {
			ev.Error = d.unquote(raw[f.start+1 : f.end-1])
		} else {
			// null, "", an object or anything else: errorText's rules.
			ev.Error = errorText(raw[f.start:f.end])
		}
	}
	return ev, nil
}

// invalidLine is the error for a line that is not valid JSON. The message
// comes from encoding/json, so it reads like the Decode path's.
func (d *Decoder) invalidLine(raw []byte, terminated bool) error {
	if !terminated && d.scan.validate(raw) == errShort {
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

// unquote returns the text of a JSON string's contents s (without its
// quotes), already validated. A string with no escapes that is valid UTF-8
// reads as it is, sharing s's memory; otherwise it is decoded as
// encoding/json decodes it into carved memory.
func (d *Decoder) unquote(s []byte) string {
	for i, c := range s {
		if c == '\\' || c >= utf8.RuneSelf {
			if bytes.IndexByte(s[i:], '\\') < 0 && utf8.Valid(s[i:]) {
				break
			}
			out := appendUnquoted(d.scratch[:0], s)
			if cap(out) <= slabSize {
				d.scratch = out[:0]
			}
			s = d.clone(out)
			break
		}
	}
	if len(s) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(s), len(s))
}

// appendUnquoted appends the decoded contents s of a valid JSON string to
// dst, following encoding/json: escapes are resolved, a \u surrogate that
// is not half of a valid pair becomes U+FFFD, and so does each byte of
// invalid UTF-8.
func appendUnquoted(dst, s []byte) []byte {
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\' && r+1 < len(s):
			switch e := s[r+1]; e {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				rr := hex4(s[r+2:])
				r += 6
				if utf16.IsSurrogate(rr) {
					if dec := utf16.DecodeRune(rr, escapedRune(s[r:])); dec != utf8.RuneError {
						dst = utf8.AppendRune(dst, dec)
						r += 6
						continue
					}
					rr = utf8.RuneError
				}
				dst = utf8.AppendRune(dst, rr)
				continue
			default: // '"', '\\', '/'
				dst = append(dst, e)
			}
			r += 2
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			dst = utf8.AppendRune(dst, rr)
			r += size
		}
	}
	return dst
}

// escapedRune reads a \uXXXX escape at the start of s, or returns -1.
func escapedRune(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	return hex4(s[2:])
}

// hex4 reads four hex digits at the start of s, or returns -1.
func hex4(s []byte) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
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

// Results of the scanner. Non-negative results of the value scanners are
// offsets just past the value; the negative ones are errors.
const (
	errSyntax = -1 // a byte that cannot appear where it is
	errShort  = -2 // the input ends inside the value

	scanOK        = 0
	scanNotObject = 1 // valid JSON, but not an object
	scanFallback  = 2 // valid, but parseEvent leaves it to encoding/json
)

// maxNestingDepth is encoding/json's limit on nested arrays and objects:
// json.Valid rejects deeper input, so the scanner does too.
const maxNestingDepth = 10000

// scanner validates JSON exactly as strictly as encoding/json: the
// RFC 8259 grammar, control characters rejected in strings, invalid UTF-8
// accepted (decoding replaces it), nesting at most maxNestingDepth deep.
type scanner struct {
	stack []byte // open containers, '{' or '['
}

// validate checks that line is one JSON value with only whitespace around
// it, returning scanOK, errSyntax or errShort.
func (s *scanner) validate(line []byte) int {
	i := skipSpace(line, 0)
	if i = s.value(line, i, 0); i < 0 {
		return i
	}
	if skipSpace(line, i) != len(line) {
		return errSyntax
	}
	return scanOK
}

// object validates line, a trimmed line, as one JSON value and, when it is
// an object, records in fields where the value of each known top-level key
// lies (for a repeated key, the last one, as encoding/json keeps). It
// returns scanOK, scanNotObject, scanFallback, errSyntax or errShort.
func (s *scanner) object(line []byte, fields *[numFields]span) int {
	if len(line) == 0 || line[0] != '{' {
		if r := s.validate(line); r < 0 {
			return r
		}
		return scanNotObject
	}
	result := scanOK
	i := skipSpace(line, 1)
	if i < len(line) && line[i] == '}' {
		i++
	} else {
		for {
			if i >= len(line) {
				return errShort
			}
			if line[i] != '"' {
				return errSyntax
			}
			keyStart := i + 1
			if i = scanString(line, keyStart); i < 0 {
				return i
			}
			key := line[keyStart : i-1]
			if i = skipSpace(line, i); i >= len(line) {
				return errShort
			}
			if line[i] != ':' {
				return errSyntax
			}
			valStart := skipSpace(line, i+1)
			if i = s.value(line, valStart, 1); i < 0 {
				return i
			}
			switch f := matchField(key); f {
			case fieldNone:
			case fieldUnsure:
				result = scanFallback
			case fieldType:
				// A null leaves the string field as it was; any other
				// non-string is an encoding/json type error.
				switch line[valStart] {
				case '"':
					fields[f] = span{valStart, i}
				case 'n':
				default:
					result = scanFallback
				}
			default:
				fields[f] = span{valStart, i}
			}
			if i = skipSpace(line, i); i >= len(line) {
				return errShort
			}
			if line[i] == ',' {
				i = skipSpace(line, i+1)
				continue
			}
			if line[i] != '}' {
				return errSyntax
			}
			i++
			break
		}
	}
	if skipSpace(line, i) != len(line) {
		return errSyntax
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
	if len(key) < 4 || len(key) > 10 {
		for _, c := range key {
			if c == '\\' || c >= utf8.RuneSelf {
				return fieldUnsure
			}
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

// value validates the JSON value that starts at data[i] and returns the
// offset just past it, or errSyntax or errShort. depth is how many
// containers enclose it. Nested containers are tracked on s.stack, not by
// recursion.
func (s *scanner) value(data []byte, i, depth int) int {
	stack := s.stack[:0]
	defer func() { s.stack = stack[:0] }()
	for {
		// A value starts at data[i].
		if i >= len(data) {
			return errShort
		}
		switch c := data[i]; c {
		case '"':
			if i = scanString(data, i+1); i < 0 {
				return i
			}
		case '{', '[':
			if depth+len(stack)+1 > maxNestingDepth {
				return errSyntax
			}
			if i = skipSpace(data, i+1); i >= len(data) {
				return errShort
			}
			if data[i] == c+2 { // "{}" or "[]"
				i++
				break
			}
			stack = append(stack, c)
			if c == '{' {
				if i = member(data, i); i < 0 {
					return i
				}
			}
			continue
		case 't':
			if i = literal(data, i, "true"); i < 0 {
				return i
			}
		case 'f':
			if i = literal(data, i, "false"); i < 0 {
				return i
			}
		case 'n':
			if i = literal(data, i, "null"); i < 0 {
				return i
			}
		default:
			if i = number(data, i); i < 0 {
				return i
			}
		}
		// After a value: close containers until one continues.
		for {
			if len(stack) == 0 {
				return i
			}
			if i = skipSpace(data, i); i >= len(data) {
				return errShort
			}
			open := stack[len(stack)-1]
			c := data[i]
			if c == ',' {
				i = skipSpace(data, i+1)
				if open == '{' {
					if i = member(data, i); i < 0 {
						return i
					}
				}
				break
			}
			if c != open+2 {
				return errSyntax
			}
			stack = stack[:len(stack)-1]
			i++
		}
	}
}

// member validates an object's `"key":` at data[i] and returns the offset
// of its value, past any whitespace.
func member(data []byte, i int) int {
	if i >= len(data) {
		return errShort
	}
	if data[i] != '"' {
		return errSyntax
	}
	if i = scanString(data, i+1); i < 0 {
		return i
	}
	if i = skipSpace(data, i); i >= len(data) {
		return errShort
	}
	if data[i] != ':' {
		return errSyntax
	}
	return skipSpace(data, i+1)
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && isJSONSpace(data[i]) {
		i++
	}
	return i
}

// Word-at-a-time constants: a byte of ones in each lane, and each lane's
// top bit.
const (
	lanes   = 0x0101010101010101
	topBits = 0x8080808080808080
)

// scanString validates a string whose opening quote is just before
// data[i] and returns the offset past its closing quote. It looks at eight
// bytes at a time for the only bytes that need attention: a quote, a
// backslash, or a control character.
func scanString(data []byte, i int) int {
	for {
		for i+8 <= len(data) {
			w := binary.LittleEndian.Uint64(data[i:])
			q := w ^ (lanes * '"')
			b := w ^ (lanes * '\\')
			// A lane's top bit is set where the lane is zero (or below
			// 0x20 for w itself); borrows can only mark lanes above the
			// first true one, so the lowest mark is exact.
			m := ((q - lanes) &^ q) | ((b - lanes) &^ b) | ((w - lanes*0x20) &^ w)
			if m &= topBits; m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(data) {
			return errShort
		}
		switch c := data[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			if i+1 >= len(data) {
				return errShort
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := i + 2; k < i+6; k++ {
					if k >= len(data) {
						return errShort
					}
					if !isHex(data[k]) {
						return errSyntax
					}
				}
				i += 6
			default:
				return errSyntax
			}
		case c < 0x20:
			return errSyntax
		default:
			i++
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// literal validates true, false or null at data[i].
func literal(data []byte, i int, word string) int {
	for k := 1; k < len(word); k++ {
		if i+k >= len(data) {
			return errShort
		}
		if data[i+k] != word[k] {
			return errSyntax
		}
	}
	return i + len(word)
}

// number validates -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at
// data[i].
func number(data []byte, i int) int {
	if data[i] == '-' {
		if i++; i >= len(data) {
			return errShort
		}
	}
	switch c := data[i]; {
	case c == '0':
		i++
	case '1' <= c && c <= '9':
		i = digits(data, i+1)
	default:
		return errSyntax
	}
	if i < len(data) && data[i] == '.' {
		if i++; i >= len(data) {
			return errShort
		}
		if !isDigit(data[i]) {
			return errSyntax
		}
		i = digits(data, i+1)
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		if i++; i >= len(data) {
			return errShort
		}
		if data[i] == '+' || data[i] == '-' {
			if i++; i >= len(data) {
				return errShort
			}
		}
		if !isDigit(data[i]) {
			return errSyntax
		}
		i = digits(data, i+1)
	}
	return i
}

func digits(data []byte, i int) int {
	for i < len(data) && isDigit(data[i]) {
		i++
	}
	return i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// EventStream is a worker's NDJSON answer, read one event at a time:
//
//	for stream.Next() {
//		ev := stream.Current()
//	}
//	if err := stream.Err(); err != nil { ... }
//
// Close it when done (it is safe to Close twice, and after an error). Close
// may also be called from another goroutine to end a Next that is waiting
// for the server. An event stays valid after the next call to Next.
type EventStream struct {
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
	for {
		if s.closed.Load() {
			// What a read reports after Close is a consequence of the
			// caller's own Close, not an error of the stream.
			s.done = true
			return false
		}
		if s.dec != nil {
			ev, err := s.dec.nextEvent()
			if err == nil {
				s.cur = ev
				return true
			}
			s.releaseBody()
			s.dec = nil
			if err != io.EOF {
				if !s.closed.Load() {
					s.err = err
				}
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

// Err returns the error that ended the stream, or nil after a clean end
// or a Close.
func (s *EventStream) Err() error { return s.err }

// Close releases the connection. It is idempotent, safe after an error,
// and safe to call while another goroutine is blocked in Next.
func (s *EventStream) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
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
