package peers

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"testing"
	"unsafe"

	"github.com/bytedance/sonic"
	gojson "github.com/goccy/go-json"
	segjson "github.com/segmentio/encoding/json"

	"github.com/toolhouseai/toolhouse-go"
	"github.com/toolhouseai/toolhouse-go/internal/benchstream"
)

// Every contender reads the same stream, line by line, into a
// toolhouse.Event, and every event it hands over stays valid after the
// next one: the peers decode a copy of each line that is never reused
// (lineSource), with their no-copy options where they have them, so their
// strings may point into it as the SDK's do.

// wire is the line schema the peers decode into. Taking the first
// non-empty text spelling matches the SDK's "first string" rule on this
// stream, which has no empty or non-string text fields; the test below
// checks that every contender's events equal the SDK's.
type wire struct {
	Type       string          `json:"type"`
	TextDelta  string          `json:"textDelta"`
	Text       string          `json:"text"`
	Delta      string          `json:"delta"`
	ToolName   string          `json:"toolName"`
	ToolCallID string          `json:"toolCallId"`
	Args       json.RawMessage `json:"args"`
	Input      json.RawMessage `json:"input"`
	Result     json.RawMessage `json:"result"`
	Output     json.RawMessage `json:"output"`
	Error      string          `json:"error"`
}

// event converts w, decoded from line, to the SDK's event.
func (w *wire) event(line []byte) toolhouse.Event {
	ev := toolhouse.Event{Type: w.Type, ToolName: w.ToolName, ToolCallID: w.ToolCallID,
		Args: w.Args, Result: w.Result, Error: w.Error, Raw: line}
	switch {
	case w.TextDelta != "":
		ev.Text = w.TextDelta
	case w.Text != "":
		ev.Text = w.Text
	default:
		ev.Text = w.Delta
	}
	if ev.Args == nil {
		ev.Args = w.Input
	}
	if ev.Result == nil {
		ev.Result = w.Output
	}
	return ev
}

// lineSource frames NDJSON as the SDK's decoder does (IndexByte for the
// newline, blank lines skipped, a last line without a newline kept) and
// returns each line in memory that is never written again: lines up to
// 4 KiB share 32 KiB slabs, longer ones get their own allocation.
type lineSource struct {
	r          io.Reader
	buf        []byte
	start, end int
	eof        bool
	slab       []byte
}

func newLineSource(r io.Reader) *lineSource {
	return &lineSource{r: r, buf: make([]byte, 64<<10)}
}

// next returns the next non-blank line, or io.EOF.
func (s *lineSource) next() ([]byte, error) {
	for {
		line, err := s.rawLine()
		if err != nil {
			return nil, err
		}
		if line = bytes.TrimSpace(line); len(line) > 0 {
			return s.clone(line), nil
		}
	}
}

func (s *lineSource) rawLine() ([]byte, error) {
	scanned := 0
	for {
		if i := bytes.IndexByte(s.buf[s.start+scanned:s.end], '\n'); i >= 0 {
			line := s.buf[s.start : s.start+scanned+i]
			s.start += scanned + i + 1
			return line, nil
		}
		scanned = s.end - s.start
		if s.eof {
			if scanned == 0 {
				return nil, io.EOF
			}
			line := s.buf[s.start:s.end]
			s.start = s.end
			return line, nil
		}
		if scanned > toolhouse.DefaultMaxLineSize {
			return nil, toolhouse.ErrLineTooLong
		}
		s.end = copy(s.buf, s.buf[s.start:s.end])
		s.start = 0
		if s.end > len(s.buf)/2 {
			s.buf = append(s.buf, make([]byte, len(s.buf))...)
		}
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err == io.EOF {
			s.eof = true
		} else if err != nil {
			return nil, err
		}
	}
}

func (s *lineSource) clone(line []byte) []byte {
	if len(line) > 4<<10 {
		return bytes.Clone(line)
	}
	if len(line) > len(s.slab) {
		s.slab = make([]byte, 32<<10)
	}
	c := s.slab[:len(line):len(line)]
	s.slab = s.slab[len(line):]
	copy(c, line)
	return c
}

// contender decodes a whole stream, calling each for every event.
type contender struct {
	name   string
	decode func(r io.Reader, each func(*toolhouse.Event)) error
}

// contenders are the decoders in the order BENCHMARKS.md lists them;
// jsonv2_test.go adds encoding/json/v2 where the toolchain has it.
var contenders = []contender{
	{"toolhouse", func(r io.Reader, each func(*toolhouse.Event)) error {
		d := toolhouse.NewDecoder(r)
		var ev toolhouse.Event
		for {
			if err := d.Decode(&ev); err != nil {
				return eof(err)
			}
			each(&ev)
		}
	}},
	{"sonic", func(r io.Reader, each func(*toolhouse.Event)) error {
		api := sonic.Config{ValidateString: true}.Froze()
		return eachLine(r, each, func(line []byte, w *wire) error {
			// Strings refer to the line's copy, which is never reused.
			return api.UnmarshalFromString(unsafe.String(unsafe.SliceData(line), len(line)), w)
		})
	}},
	{"goccy", func(r io.Reader, each func(*toolhouse.Event)) error {
		return eachLine(r, each, func(line []byte, w *wire) error {
			return gojson.UnmarshalOf(line, w, gojson.DecodeNoCopyString())
		})
	}},
	{"segmentio", func(r io.Reader, each func(*toolhouse.Event)) error {
		return eachLine(r, each, func(line []byte, w *wire) error {
			rest, err := segjson.Parse(line, w, segjson.ZeroCopy)
			if err == nil && len(rest) > 0 {
				err = fmt.Errorf("%d bytes after the value", len(rest))
			}
			return err
		})
	}},
	{"baseline", func(r io.Reader, each func(*toolhouse.Event)) error {
		// What a careful caller writes with the standard library alone.
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), toolhouse.DefaultMaxLineSize)
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 {
				continue
			}
			var w wire
			if err := json.Unmarshal(line, &w); err != nil {
				return err
			}
			ev := w.event(bytes.Clone(line))
			each(&ev)
		}
		return sc.Err()
	}},
	{"floor", func(r io.Reader, each func(*toolhouse.Event)) error {
		// Framing and one copy per line, no JSON at all: the least any
		// decoder that keeps its events valid has to do.
		src := newLineSource(r)
		for {
			line, err := src.next()
			if err != nil {
				return eof(err)
			}
			ev := toolhouse.Event{Raw: line}
			each(&ev)
		}
	}},
}

// eachLine runs unmarshal on every line from a lineSource.
func eachLine(r io.Reader, each func(*toolhouse.Event), unmarshal func([]byte, *wire) error) error {
	src := newLineSource(r)
	for n := 1; ; n++ {
		line, err := src.next()
		if err != nil {
			return eof(err)
		}
		var w wire
		if err := unmarshal(line, &w); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		ev := w.event(line)
		each(&ev)
	}
}

func eof(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// tally sums the sizes of what a contender extracted, so that the
// benchmark's work cannot be optimised away.
type tally struct{ events, text, ids, args, result, raw int }

func (t *tally) add(ev *toolhouse.Event) {
	t.events++
	t.text += len(ev.Type) + len(ev.Text) + len(ev.Error)
	t.ids += len(ev.ToolName) + len(ev.ToolCallID)
	t.args += len(ev.Args)
	t.result += len(ev.Result)
	t.raw += len(ev.Raw)
}

// TestContendersAgree decodes the stream with every contender, keeping
// all events until the end (so each must have stayed valid after the
// next), and requires each to equal encoding/json's, field by field.
func TestContendersAgree(t *testing.T) {
	data := benchstream.Worker()
	collect := func(c contender) []toolhouse.Event {
		var events []toolhouse.Event
		if err := c.decode(bytes.NewReader(data), func(ev *toolhouse.Event) { events = append(events, *ev) }); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		return events
	}
	var want []toolhouse.Event
	for _, c := range contenders {
		if c.name == "baseline" {
			want = collect(c)
		}
	}
	if len(want) != 20097 {
		t.Fatalf("the baseline read %d events, the stream has 20,097 lines", len(want))
	}
	for _, c := range contenders {
		got := collect(c)
		if len(got) != len(want) {
			t.Fatalf("%s: %d events, want %d", c.name, len(got), len(want))
		}
		for i := range want {
			w := want[i]
			if c.name == "floor" {
				w = toolhouse.Event{Raw: w.Raw}
			}
			if !equalEvents(got[i], w) {
				t.Fatalf("%s: event %d:\n got %.300q\nwant %.300q", c.name, i, fmt.Sprint(got[i]), fmt.Sprint(w))
			}
		}
	}
}

func equalEvents(a, b toolhouse.Event) bool {
	return a.Type == b.Type && a.Text == b.Text && a.JobID == b.JobID && a.ToolName == b.ToolName &&
		a.ToolCallID == b.ToolCallID && a.Error == b.Error && bytes.Equal(a.Args, b.Args) &&
		(a.Args == nil) == (b.Args == nil) && bytes.Equal(a.Result, b.Result) &&
		(a.Result == nil) == (b.Result == nil) && bytes.Equal(a.Raw, b.Raw)
}

// BenchmarkWorkerStream decodes the whole stream from memory with each
// contender; MB/s is comparable across them.
func BenchmarkWorkerStream(b *testing.B) {
	data := benchstream.Worker()
	for _, c := range contenders {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for range b.N {
				var t tally
				if err := c.decode(bytes.NewReader(data), t.add); err != nil {
					b.Fatal(err)
				}
				if t.events != 20097 {
					b.Fatalf("%d events", t.events)
				}
			}
		})
	}
}
