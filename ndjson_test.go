package toolhouse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/toolhouseai/toolhouse-go/internal/jsonscan"
)

// referenceWire and referenceEvent are the first version of the event
// decoder, kept verbatim as the definition the single-pass parser must
// match: encoding/json into a struct, then the field rules. The check for
// '{' was the first version's nextEvent.
//
// They look like eventWire and eventFromWire, and stay a separate, frozen
// copy on purpose: eventFromWire is also the parser's own path for the rare
// lines it hands to encoding/json, so a change there would change both
// sides of a comparison against it and pass unnoticed.
type referenceWire struct {
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

func referenceEvent(line []byte) (Event, error) {
	if len(line) == 0 || line[0] != '{' {
		return Event{}, errors.New("not a JSON object")
	}
	raw := append(json.RawMessage(nil), line...)
	var w referenceWire
	if err := json.Unmarshal(raw, &w); err != nil {
		return Event{}, err
	}
	ev := Event{Type: w.Type, Raw: raw, Args: w.Args, Result: w.Result}
	ev.Text = referenceFirstString(w.TextDelta, w.Text, w.Delta)
	ev.ToolName = referenceFirstString(w.ToolName)
	ev.ToolCallID = referenceFirstString(w.ToolCallID)
	if ev.Args == nil {
		ev.Args = w.Input
	}
	if ev.Result == nil {
		ev.Result = w.Output
	}
	ev.Error = errorText(w.Error)
	return ev, nil
}

func referenceFirstString(raws ...json.RawMessage) string {
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

// fastEvent runs the single-pass parser on one trimmed line, as the
// decoder does for a line that ended with a newline.
func fastEvent(line []byte) (Event, error) {
	d := NewDecoder(nil)
	d.line = 1
	var ev Event
	err := d.parseEvent(d.strs.clone(line), true, &ev)
	return ev, err
}

// requireSameEvent checks the fast parser against the reference on line.
func requireSameEvent(t testing.TB, line []byte) {
	t.Helper()
	want, wantErr := referenceEvent(line)
	got, gotErr := fastEvent(line)
	if wantErr != nil {
		require.Error(t, gotErr, "line %q: reference failed with %v", line, wantErr)
		return
	}
	require.NoError(t, gotErr, "line %q", line)
	require.Equal(t, want, got, "line %q", line)
}

func openFixture(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

// readEvents decodes events until an error, which it returns (io.EOF at a
// clean end).
func readEvents(r io.Reader) ([]Event, error) {
	d := NewDecoder(r)
	var events []Event
	for {
		var ev Event
		if err := d.Decode(&ev); err != nil {
			return events, err
		}
		events = append(events, ev)
	}
}

func TestDecoderFixtures(t *testing.T) {
	t.Parallel()
	type want struct{ Type, Text, ToolName, ToolCallID, Args, Result, Error string }
	tests := []struct {
		file   string
		events []want
		err    string // substring of the final error; "" for io.EOF
		is     error
	}{
		{file: "basic.ndjson", events: []want{
			{Type: "step-start"},
			{Type: "text-delta", Text: "Hello"},
			{Type: "text-delta", Text: ", world"},
			{Type: "tool-call", ToolCallID: "call_1", ToolName: "web_search", Args: `{"query":"toolhouse"}`},
			{Type: "tool-result", ToolCallID: "call_1", ToolName: "web_search", Result: `{"hits":2}`},
			{Type: "text-delta", Text: "Done.\n"},
			{Type: "finish"},
		}},
		{file: "blank-lines.ndjson", events: []want{
			{Type: "text-delta", Text: "a"},
			{Type: "text-delta", Text: "b"},
			{Type: "finish"},
		}},
		{file: "no-trailing-newline.ndjson", events: []want{
			{Type: "text-delta", Text: "first"},
			{Type: "finish"},
		}},
		{file: "crlf.ndjson", events: []want{
			{Type: "text-delta", Text: "windows"},
			{Type: "finish"},
		}},
		{file: "truncated.ndjson", events: []want{
			{Type: "text-delta", Text: "first"},
		}, err: "line 2", is: io.ErrUnexpectedEOF},
		{file: "malformed-line3.ndjson", events: []want{
			{Type: "text-delta", Text: "one"},
			{Type: "text-delta", Text: "two"},
		}, err: "line 3"},
		{file: "unknown-types.ndjson", events: []want{
			{Type: "reasoning", Text: "thinking"},
			{Type: "source"},
			{Type: "some-future-part"},
			{},
			{Type: "error", Error: "model overloaded"},
			{Type: "error", Error: "rate limited"},
		}},
		{file: "vercel-v4.ndjson", events: []want{
			{Type: "text-delta", Text: "v4 text"},
			{Type: "tool-call", ToolCallID: "call_4", ToolName: "code_interpreter", Args: `{"code":"print(1)"}`},
			{Type: "tool-result", ToolCallID: "call_4", ToolName: "code_interpreter", Result: `"1\n"`},
		}},
		{file: "vercel-v5.ndjson", events: []want{
			{Type: "text", Text: "v5 text"},
			{Type: "text-delta", Text: "v5 delta"},
			{Type: "tool-call", ToolCallID: "call_5", ToolName: "code_interpreter", Args: `{"code":"print(2)"}`},
			{Type: "tool-result", ToolCallID: "call_5", ToolName: "code_interpreter", Result: `{"type":"text","value":"2\n"}`},
		}},
		{file: "escapes.ndjson", events: []want{
			{Type: "text-delta", Text: "quote \" backslash \\ slash / tab \t newline \n"},
			{Type: "text-delta", Text: "café 😀 lone \uFFFD end"},
			{Type: "text-delta", Text: "héllo wörld 😀"},
			{Type: "text-delta", Text: "case folded keys"},
			{Type: "text-delta", Text: "last wins"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			events, err := readEvents(openFixture(t, tt.file))
			got := make([]want, len(events))
			for i, ev := range events {
				got[i] = want{ev.Type, ev.Text, ev.ToolName, ev.ToolCallID, string(ev.Args), string(ev.Result), ev.Error}
				require.True(t, json.Valid(ev.Raw), "event %d Raw %q", i, ev.Raw)
				requireSameEvent(t, ev.Raw)
			}
			assert.Equal(t, tt.events, got)
			if tt.err == "" {
				require.Equal(t, io.EOF, err)
				return
			}
			require.ErrorContains(t, err, tt.err)
			require.NotEqual(t, io.EOF, err)
			if tt.is != nil {
				require.ErrorIs(t, err, tt.is)
			}
		})
	}
}

func TestDecoderDecodeAnyValue(t *testing.T) {
	t.Parallel()
	d := NewDecoder(strings.NewReader("{\"a\":1}\n\n[1,2]\n\"s\"\n  null  \n"))
	var m map[string]int
	require.NoError(t, d.Decode(&m))
	assert.Equal(t, map[string]int{"a": 1}, m)
	var list []int
	require.NoError(t, d.Decode(&list))
	assert.Equal(t, []int{1, 2}, list)
	var s string
	require.NoError(t, d.Decode(&s))
	assert.Equal(t, "s", s)
	var v any = "untouched"
	require.NoError(t, d.Decode(&v))
	assert.Nil(t, v)
	require.Equal(t, io.EOF, d.Decode(&v))
	require.Equal(t, io.EOF, d.Decode(&v), "io.EOF is stable")

	var nilEvent *Event
	d = NewDecoder(strings.NewReader("{\"type\":\"a\"}\n"))
	var invalid *json.InvalidUnmarshalError
	require.ErrorAs(t, d.Decode(nilEvent), &invalid, "a nil *Event is refused as json.Unmarshal refuses it")
}

// TestDecoderLinesAroundChunkSizes decodes lines whose lengths sit on
// either side of every size the decoder switches at (slab pieces, chunks,
// the long-line threshold, long reads), in any order and through reads of
// any size, and keeps every event to the end: each must equal the
// reference and must not have changed while the decoder read on.
func TestDecoderLinesAroundChunkSizes(t *testing.T) {
	t.Parallel()
	var lines [][]byte
	for i, n := range []int{40, slabMaxPiece, slabMaxPiece + 1, 60, firstChunkSize - 30, chunkSize/8 + 3,
		longLine - 1, longLine, longLine + 1, 50, chunkSize - 1, chunkSize, chunkSize + 1, 70,
		longSegment + 5, 3*chunkSize + 7, 30, 2*chunkSize - 100, 45, 200_000, 35, 9000, 55} {
		head := fmt.Sprintf(`{"type":"tool-result","toolCallId":"c%d","result":"`, i)
		body := strings.Repeat("é\\n", n/8) // 4 bytes each
		body += strings.Repeat("r", max(0, n-len(head)-len(body)-2))
		lines = append(lines, []byte(head+body+`"}`))
		require.Equal(t, max(n, len(head)+len(body)+2), len(lines[i]))
	}
	stream := append(bytes.Join(lines, []byte("\n")), '\n')
	for _, read := range []int{7, 1000, 4096, 70_000, len(stream)} {
		for _, trailingNewline := range []bool{true, false} {
			input := stream
			if !trailingNewline {
				input = stream[:len(stream)-1]
			}
			events, err := readEvents(chunked(input, read))
			require.Equal(t, io.EOF, err, "reads of %d", read)
			require.Len(t, events, len(lines))
			for i, ev := range events {
				want, err := referenceEvent(lines[i])
				require.NoError(t, err)
				if !reflect.DeepEqual(want, ev) {
					require.Equal(t, want, ev, "line %d (%d bytes), reads of %d", i, len(lines[i]), read)
				}
				require.Equal(t, len(ev.Raw), cap(ev.Raw), "Raw must not be able to grow into the next line")
			}
			// The same lines through Decode into another type.
			d := NewDecoder(chunked(input, read))
			for i := range lines {
				var v struct{ ToolCallID string }
				require.NoError(t, d.Decode(&v))
				require.Equal(t, fmt.Sprintf("c%d", i), v.ToolCallID)
			}
			require.Equal(t, io.EOF, d.Decode(&struct{}{}))
		}
	}
}

// TestDecoderRandomLinesAndReads decodes streams of lines of random
// lengths, blank and space-padded ones among them, through reads of random
// sizes, and holds every event, kept to the end, to the reference.
func TestDecoderRandomLinesAndReads(t *testing.T) {
	t.Parallel()
	for seed := range uint64(3) {
		rng := rand.New(rand.NewPCG(seed, 11))
		var stream bytes.Buffer
		var lines [][]byte
		for i := range 300 {
			n := rng.IntN(200)
			switch rng.IntN(10) {
			case 0:
				n = 20_000 + rng.IntN(60_000)
			case 1:
				n = rng.IntN(300_000)
			case 2:
				stream.WriteString(" \t\r\n") // a blank line
			}
			line := fmt.Sprintf(`{"type":"t%d","text":"%s","args":{"a":"\u00e9%s"}}`,
				i, strings.Repeat("x", n/2), strings.Repeat("\\n", n/4))
			lines = append(lines, []byte(line))
			stream.WriteString(strings.Repeat(" ", rng.IntN(3)) + line + strings.Repeat("\t", rng.IntN(2)) + "\n")
		}
		data := stream.Bytes()
		r := readerFunc(func(p []byte) (int, error) {
			if len(data) == 0 {
				return 0, io.EOF
			}
			n := copy(p[:min(len(p), 1+rng.IntN(100_000))], data)
			data = data[n:]
			return n, nil
		})
		events, err := readEvents(r)
		require.Equal(t, io.EOF, err)
		require.Len(t, events, len(lines))
		for i, ev := range events {
			want, err := referenceEvent(lines[i])
			require.NoError(t, err)
			if !reflect.DeepEqual(want, ev) {
				require.Equal(t, want, ev, "seed %d, line %d (%d bytes)", seed, i, len(lines[i]))
			}
		}
	}
}

func TestDecoderErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, input string
		msg         string // substring of the error
		is          error
	}{
		{"cut inside a string", "{\"a\":1}\n{\"a\":\"x", "line 2", io.ErrUnexpectedEOF},
		{"cut inside a number", "{\"a\":1}\n\n{\"a\":12", "line 3", io.ErrUnexpectedEOF},
		{"cut after a key", `{"a"`, "line 1", io.ErrUnexpectedEOF},
		{"cut inside an array", `[1,[2`, "line 1", io.ErrUnexpectedEOF},
		{"cut inside a literal", `{"a":tr`, "line 1", io.ErrUnexpectedEOF},
		{"cut in an escape", `{"a":"\u12`, "line 1", io.ErrUnexpectedEOF},
		{"malformed then cut", "{\"a\":}\n{\"b\":2}", "line 1", nil},
		{"trailing garbage", `{"a":1}}`, "line 1", nil},
		{"two values on a line", `{"a":1} {"b":2}`, "line 1", nil},
		{"unicode space is not JSON space", "{\"a\":1}\u0085\n", "line 1", nil},
		{"nbsp line is not blank", "\u00a0\n", "line 1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, target := range []string{"event", "any"} {
				d := NewDecoder(strings.NewReader(tt.input))
				var err error
				for err == nil {
					if target == "event" {
						var ev Event
						err = d.Decode(&ev)
					} else {
						var v any
						err = d.Decode(&v)
					}
				}
				if target == "any" && !strings.HasPrefix(strings.TrimSpace(tt.input), "{") {
					continue
				}
				require.NotEqual(t, io.EOF, err, target)
				require.ErrorContains(t, err, tt.msg, target)
				if tt.is != nil {
					require.ErrorIs(t, err, tt.is, target)
				} else {
					require.NotErrorIs(t, err, io.ErrUnexpectedEOF, target)
				}
			}
		})
	}
}

func TestDecoderNotAnObject(t *testing.T) {
	t.Parallel()
	d := NewDecoder(strings.NewReader("{\"type\":\"a\"}\n[1,2]\n{\"type\":\"b\"}\n"))
	var ev Event
	require.NoError(t, d.Decode(&ev))
	err := d.Decode(&ev)
	require.ErrorContains(t, err, "line 2 is not a JSON object")
	require.NoError(t, d.Decode(&ev), "a bad line does not end the decoder")
	assert.Equal(t, "b", ev.Type)
}

func TestDecoderContinuesAfterMalformedLine(t *testing.T) {
	t.Parallel()
	d := NewDecoder(openFixture(t, "malformed-line3.ndjson"))
	var types []string
	for {
		var ev Event
		err := d.Decode(&ev)
		if err == io.EOF {
			break
		}
		if err != nil {
			require.ErrorContains(t, err, "line 3")
			var syn *json.SyntaxError
			require.ErrorAs(t, err, &syn, "the cause is encoding/json's own error")
			continue
		}
		types = append(types, ev.Text)
	}
	assert.Equal(t, []string{"one", "two", "four"}, types)
}

func TestDecoderLineLimit(t *testing.T) {
	t.Parallel()
	line := func(n int) string { // a JSON line of exactly n bytes
		return `{"t":"` + strings.Repeat("x", n-8) + `"}`
	}
	d := NewDecoder(strings.NewReader(line(5000) + "\n" + line(5001) + "\n" + line(10)))
	d.SetMaxLineSize(5000)
	var ev Event
	require.NoError(t, d.Decode(&ev))
	assert.Len(t, ev.Raw, 5000)
	err := d.Decode(&ev)
	require.ErrorIs(t, err, ErrLineTooLong)
	require.ErrorContains(t, err, "line 2")
	require.ErrorIs(t, d.Decode(&ev), ErrLineTooLong, "the error is sticky: the stream is out of step")
	assert.LessOrEqual(t, cap(d.buf), 5001)

	d = NewDecoder(strings.NewReader(line(5001)))
	d.SetMaxLineSize(5000)
	require.ErrorIs(t, d.Decode(&ev), ErrLineTooLong, "an unterminated last line too")

	d = NewDecoder(strings.NewReader(line(100) + "\n" + line(100)))
	d.SetMaxLineSize(math.MaxInt)
	require.NoError(t, d.Decode(&ev), "a limit too large to mean anything is no limit")
	d.SetMaxLineSize(0)
	require.NoError(t, d.Decode(&ev), "zero restores the default")
	assert.Equal(t, DefaultMaxLineSize, d.max)
}

func TestDecoderNoScannerTrap(t *testing.T) {
	t.Parallel()
	// bufio.Scanner's default stops at 64 KiB; a 1 MiB line is ordinary.
	big := `{"type":"tool-result","result":"` + strings.Repeat("y", 1<<20) + `"}`
	events, err := readEvents(strings.NewReader(big + "\n" + big))
	require.Equal(t, io.EOF, err)
	require.Len(t, events, 2)
	assert.Len(t, events[1].Result, 1<<20+2)
}

// chanReader hands out the chunks sent on it, one per Read, and counts the
// Reads; it blocks while no chunk is there, as a network body does.
type chanReader struct {
	chunks chan []byte
	reads  atomic.Int32
	rest   []byte
}

func (r *chanReader) Read(p []byte) (int, error) {
	r.reads.Add(1)
	if len(r.rest) == 0 {
		chunk, ok := <-r.chunks
		if !ok {
			return 0, io.EOF
		}
		r.rest = chunk
	}
	n := copy(p, r.rest)
	r.rest = r.rest[n:]
	return n, nil
}

func TestDecoderHandsOverBufferedLinesWithoutReading(t *testing.T) {
	t.Parallel()
	r := &chanReader{chunks: make(chan []byte, 4)}
	d := NewDecoder(r)
	r.chunks <- []byte("{\"type\":\"a\"}\n{\"type\":\"b\"}\n{\"type\":")
	var ev Event
	require.NoError(t, d.Decode(&ev))
	assert.Equal(t, "a", ev.Type)
	require.NoError(t, d.Decode(&ev))
	assert.Equal(t, "b", ev.Type)
	assert.EqualValues(t, 1, r.reads.Load(), "both lines came from one read; no read waits for more")

	r.chunks <- []byte("\"c\"}\n")
	require.NoError(t, d.Decode(&ev))
	assert.Equal(t, "c", ev.Type)
	close(r.chunks)
	require.Equal(t, io.EOF, d.Decode(&ev))
}

// errAfterReader returns data, then err with the last bytes.
type errAfterReader struct {
	data []byte
	err  error
}

func (r *errAfterReader) Read(p []byte) (int, error) {
	n := copy(p, r.data)
	r.data = r.data[n:]
	if len(r.data) == 0 {
		return n, r.err
	}
	return n, nil
}

func TestDecoderReadErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection reset")
	r := &errAfterReader{data: []byte("{\"type\":\"a\"}\n{\"type\":\"b\"}\n{\"type\":\"c"), err: boom}
	events, err := readEvents(r)
	require.Len(t, events, 2, "complete lines before the error are delivered")
	require.ErrorIs(t, err, boom)
	require.ErrorContains(t, err, "line 3")

	r = &errAfterReader{data: []byte("{\"type\":\"a\"}\n"), err: boom}
	events, err = readEvents(r)
	require.Len(t, events, 1)
	require.ErrorIs(t, err, boom, "an error returned with data is not lost")

	_, err = readEvents(readerFunc(func([]byte) (int, error) { return 0, nil }))
	require.ErrorIs(t, err, io.ErrNoProgress)
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// referenceLines are the differential test's table, and fuzz seeds: every
// shape of line the parser must agree with encoding/json on.
var referenceLines = []string{
	`{}`,
	`{"type":"text-delta","textDelta":"Hi"}`,
	`{"type":"text-delta","text":"v5"}`,
	`{"type":"text-delta","delta":"v5 delta"}`,
	`{"textDelta":"a","text":"b","delta":"c"}`,
	`{"delta":"c","text":"b","textDelta":"a"}`,
	`{"textDelta":5,"text":"b"}`,
	`{"textDelta":null,"text":null,"delta":"c"}`,
	`{"textDelta":"","text":"b"}`,
	`{"textDelta":{"nested":"x"},"delta":["y"]}`,
	`{"type":"a","type":"b"}`,
	`{"type":"a","type":null}`,
	`{"type":null}`,
	`{"type":5}`,
	`{"type":true}`,
	`{"type":{"a":1}}`,
	`{"type":["a"]}`,
	`{"TYPE":"upper","Type":"mixed"}`,
	`{"TextDelta":"x","TEXTDELTA":"y"}`,
	`{"ToolName":"n","TOOLCALLID":"i","ARGS":{"a":1},"Result":[1]}`,
	`{"toolName":1,"toolCallId":null}`,
	`{"args":{"a":1},"input":{"b":2}}`,
	`{"input":{"b":2}}`,
	`{"args":null,"input":{"b":2}}`,
	`{"result":"r","output":"o"}`,
	`{"output":"o"}`,
	`{"args":1,"args":[2]}`,
	`{"args" : { "a" : [ 1 , 2 ] } , "result" : "x" }`,
	` { "type" : "spaced" , "textDelta" : "t" } `,
	"{\t\"type\"\t:\t\"tabs\"\r}",
	`{"error":"boom"}`,
	`{"error":""}`,
	`{"error":null}`,
	`{"error":{"message":"m"}}`,
	`{"error":{"msg":"m2"}}`,
	`{"error":[{"loc":["body","x"],"msg":"bad"}]}`,
	`{"error":42}`,
	`{"error":{"code":1}}`,
	`{"error":"a\nb"}`,
	`{"textDelta":"esc \" \\ \/ \b \f \n \r \t"}`,
	`{"textDelta":"\u0041\u00e9\u4e2d\uD83D\uDE00"}`,
	`{"textDelta":"lone high \ud800 x"}`,
	`{"textDelta":"lone low \udc00 x"}`,
	`{"textDelta":"high then high \ud800\ud800"}`,
	`{"textDelta":"high then letter \ud800\u0041"}`,
	`{"textDelta":"high at end \ud83d"}`,
	`{"textDelta":"reversed \ude00\ud83d"}`,
	`{"textDelta":"nul \u0000 end"}`,
	"{\"textDelta\":\"invalid \xff\xfe utf8\"}",
	"{\"textDelta\":\"truncated \xe2\x82 rune\"}",
	"{\"textDelta\":\"surrogate in utf8 \xed\xa0\x80\"}",
	"{\"textDelta\":\"valid U+FFFD \xef\xbf\xbd\"}",
	"{\"type\":\"caf\xc3\xa9\"}",
	"{\"te\\u0078t\":\"escaped key\"}",
	"{\"\\u0074ype\":\"escaped key type\"}",
	"{\"arg\xc5\xbf\":{\"long s\":1}}",
	"{\"result\xc5\xbf\":1}",
	"{\"\xe2\x84\xaaey\":1,\"type\":\"kelvin\"}",
	"{\"typ\xc3\xa9\":1}",
	"{\"\xff\":1,\"type\":\"bad key utf8\"}",
	`{"unknown":{"deep":[[[[{"a":[1,2,{"b":null}]}]]]]},"type":"x"}`,
	`{"n":-0,"m":1.5e+10,"o":-2E-3,"p":0.0,"q":123456789012345678901234567890}`,
	`{"b":true,"c":false,"d":null}`,
	`{"a":[]}`, `{"a":{}}`, `{"a":[{}]}`, `{"a":[[],[]]}`,
	`{"type":"x",}`,
	`{"type":"x" "y":1}`,
	`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":-}`, `{"a":1e}`, `{"a":+1}`,
	`{"a":tru}`, `{"a":nul}`, `{"a":True}`,
	`{"a":"ctl ` + "\x01" + `"}`,
	`{"a":"tab ` + "\t" + `"}`,
	`{"a":"\x"}`, `{"a":"\u12G4"}`, `{"a":"\'"}`,
	`{"a":[1,]}`, `{"a":[,1]}`, `{"a":{"b"}}`, `{"a":{"b":}}`, `{"a":{,}}`,
	`{'a':1}`, `{a:1}`, `{"a":1]`, `{"a":[1}`,
	`{"a":1}x`, `{"a":1} `, `{`, `{"`, `{"a`, `{"a"`, `{"a":`, `{"a":1`, `{"a":1,`,
	`[1,2]`, `"str"`, `null`, `12`, ``, ` `,
}

// TestParseEventMatchesReference holds the single-pass parser to
// encoding/json, line by line.
func TestParseEventMatchesReference(t *testing.T) {
	t.Parallel()
	for _, line := range referenceLines {
		requireSameEvent(t, []byte(line))
	}
}

func TestParseEventNestingLimit(t *testing.T) {
	t.Parallel()
	nest := func(depth int) []byte { // an object holding depth-1 nested arrays
		return []byte(`{"a":` + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + `}`)
	}
	for _, depth := range []int{2, 3, 9999, 10000, 10001, 10002} {
		line := nest(depth)
		require.Equal(t, json.Valid(line), depth <= jsonscan.MaxDepth, "depth %d", depth)
		requireSameEvent(t, line)
	}
}

// TestDecoderUnquote covers the decoder's side of unquoting (jsonscan
// holds the decoding itself to encoding/json): a plain string of a short
// line is used in place, one of a long line is copied out so it does not
// keep the line alive, and an escaped or invalid one is decoded into
// memory of its own.
func TestDecoderUnquote(t *testing.T) {
	t.Parallel()
	d := NewDecoder(nil)
	for _, s := range []string{``, `plain`, `caf\u00e9 \n`, "\xff", "caf\xc3\xa9", "a\xc3", strings.Repeat(`\n`, 50)} {
		in := []byte(s)
		var want string
		require.NoError(t, json.Unmarshal([]byte(`"`+s+`"`), &want), "%q", s)
		assert.Equal(t, want, d.strs.unquote(in, false), "%q", s)
		assert.Equal(t, want, d.strs.unquote(in, true), "%q copied out", s)
		if got := d.strs.unquote(in, false); got == s && s != "" {
			assert.Same(t, unsafe.SliceData(in), unsafe.StringData(got), "%q is used in place", s)
		}
		if got := d.strs.unquote(in, true); s != "" {
			assert.NotSame(t, unsafe.SliceData(in), unsafe.StringData(got), "%q is copied out of a long line", s)
		}
	}
}

// TestEventStaysValid keeps every event of a long stream, delivered in
// small reads so that lines are cut by the ends of the decoder's chunks
// many times, and checks them all against the reference at the end.
func TestEventStaysValid(t *testing.T) {
	t.Parallel()
	var stream bytes.Buffer
	for i := range 3000 {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&stream, `{"type":"text-delta","textDelta":"line %d é \n \ud83d\ude00"}`+"\n", i)
		case 1:
			fmt.Fprintf(&stream, `{"type":"tool-call","toolCallId":"c%d","toolName":"t","args":{"q":"%s"}}`+"\n", i, strings.Repeat("a", i))
		default:
			fmt.Fprintf(&stream, `{"type":"error","error":"e%d"}`+"\n", i)
		}
	}
	want := bytes.Split(bytes.TrimSuffix(stream.Bytes(), []byte("\n")), []byte("\n"))
	chunk := 0
	r := readerFunc(func(p []byte) (int, error) {
		if stream.Len() == 0 {
			return 0, io.EOF
		}
		chunk = chunk%97 + 1
		return stream.Read(p[:min(len(p), chunk)])
	})
	d := NewDecoder(r)
	var events []Event
	for {
		ev, err := d.nextEvent()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		events = append(events, ev)
	}
	require.Len(t, events, len(want))
	for i, ev := range events {
		ref, err := referenceEvent(want[i])
		require.NoError(t, err)
		require.Equal(t, ref, ev, "event %d changed after the decoder read on", i)
	}
}

// TestEventStreamEventsStayValid keeps every event Next delivers while
// the stream reads on over HTTP, flushed in pieces that split lines, and
// checks them all at the end.
func TestEventStreamEventsStayValid(t *testing.T) {
	t.Parallel()
	var lines [][]byte
	for i := range 2000 {
		lines = append(lines, []byte(fmt.Sprintf(`{"type":"text-delta","textDelta":"delta %d \n caf\u00e9","args":{"i":%d}}`, i, i)))
	}
	body := append(bytes.Join(lines, []byte("\n")), '\n')
	resp := ndjsonServer(t, context.Background(), func(w http.ResponseWriter, r *http.Request) {
		for rest := body; len(rest) > 0; {
			n := min(len(rest), 777)
			w.Write(rest[:n])
			w.(http.Flusher).Flush()
			rest = rest[n:]
		}
	})
	s := newEventStream(resp, DefaultMaxLineSize)
	defer s.Close()
	var events []Event
	for s.Next() {
		events = append(events, s.Current())
	}
	require.NoError(t, s.Err())
	require.Len(t, events, len(lines))
	for i, ev := range events {
		want, err := referenceEvent(lines[i])
		require.NoError(t, err)
		require.Equal(t, want, ev, "event %d", i)
	}
}

func TestEventRawCannotGrowIntoNeighbour(t *testing.T) {
	t.Parallel()
	d := NewDecoder(strings.NewReader("{\"type\":\"a\",\"args\":[1]}\n{\"type\":\"b\"}\n"))
	first, err := d.nextEvent()
	require.NoError(t, err)
	second, err := d.nextEvent()
	require.NoError(t, err)
	_ = append(first.Raw, "garbage"...)
	_ = append(first.Args, "garbage"...)
	assert.Equal(t, `{"type":"b"}`, string(second.Raw))
	assert.Equal(t, "b", second.Type)
}

// ndjsonServer serves handler over loopback and returns its response to a
// request made with ctx.
func ndjsonServer(t *testing.T, ctx context.Context, handler http.HandlerFunc) *http.Response {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, nil)
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestEventStreamDeliversEachLineAsItIsFlushed(t *testing.T) {
	t.Parallel()
	next := make(chan struct{})
	resp := ndjsonServer(t, context.Background(), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Header().Set(headerRunID, "run-1")
		w.WriteHeader(http.StatusOK)
		for i := range 3 {
			fmt.Fprintf(w, `{"type":"text-delta","textDelta":"part %d"}`+"\n", i)
			w.(http.Flusher).Flush()
			select {
			case <-next: // the client has seen this event
			case <-r.Context().Done():
				return
			}
		}
	})
	s := newEventStream(resp, DefaultMaxLineSize)
	defer s.Close()
	assert.Equal(t, "run-1", s.RunID())
	for i := range 3 {
		// The server writes event i+1 only after this receive, so Next
		// cannot be waiting for more than the line already flushed.
		require.True(t, s.Next(), "event %d", i)
		assert.Equal(t, fmt.Sprintf("part %d", i), s.Current().Text)
		next <- struct{}{}
	}
	require.False(t, s.Next())
	require.NoError(t, s.Err())
}

func TestEventStreamCloseIsIdempotent(t *testing.T) {
	t.Parallel()
	resp := ndjsonServer(t, context.Background(), func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "{\"type\":\"a\"}\n{\"type\":\"b\"}\n")
	})
	s := newEventStream(resp, DefaultMaxLineSize)
	require.True(t, s.Next())
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	require.False(t, s.Next(), "no event after Close, even one already buffered")
	require.NoError(t, s.Err())
}

func TestEventStreamErrorIsStableAndCloseIsSafe(t *testing.T) {
	t.Parallel()
	resp := ndjsonServer(t, context.Background(), func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "{\"type\":\"a\"}\n{\"type\":\"b\"}\n{\"type\":\n")
	})
	s := newEventStream(resp, DefaultMaxLineSize)
	require.True(t, s.Next())
	require.True(t, s.Next())
	require.False(t, s.Next())
	err := s.Err()
	require.ErrorContains(t, err, "line 3")
	require.False(t, s.Next())
	require.Same(t, err, s.Err(), "Err does not change after the end")
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	require.Same(t, err, s.Err())
}

func TestEventStreamCleanEnd(t *testing.T) {
	t.Parallel()
	resp := ndjsonServer(t, context.Background(), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(headerJobID, "job-9")
		io.WriteString(w, "{\"type\":\"a\"}")
	})
	s := newEventStream(resp, DefaultMaxLineSize)
	assert.Equal(t, "job-9", s.JobID())
	require.True(t, s.Next())
	require.False(t, s.Next())
	require.False(t, s.Next())
	require.NoError(t, s.Err())
	require.NoError(t, s.Close())
}

func TestEventStreamCutOffBody(t *testing.T) {
	t.Parallel()
	resp := ndjsonServer(t, context.Background(), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		io.WriteString(w, "{\"type\":\"a\"}\n{\"type\":\"b")
	})
	s := newEventStream(resp, DefaultMaxLineSize)
	require.True(t, s.Next())
	require.False(t, s.Next())
	require.ErrorIs(t, s.Err(), io.ErrUnexpectedEOF)
}

// watchedBody records whether it was closed.
type watchedBody struct {
	io.ReadCloser
	closed atomic.Bool
}

func (b *watchedBody) Close() error {
	b.closed.Store(true)
	return b.ReadCloser.Close()
}

func TestEventStreamAllBreakCloses(t *testing.T) {
	t.Parallel()
	gone := make(chan struct{})
	resp := ndjsonServer(t, context.Background(), func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "{\"type\":\"a\"}\n{\"type\":\"b\"}\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // the client hung up
		close(gone)
	})
	body := &watchedBody{ReadCloser: resp.Body}
	resp.Body = body
	s := newEventStream(resp, DefaultMaxLineSize)
	var types []string
	for ev, err := range s.All() {
		require.NoError(t, err)
		types = append(types, ev.Type)
		break
	}
	assert.Equal(t, []string{"a"}, types)
	assert.True(t, body.closed.Load(), "breaking out of All closes the body")
	select {
	case <-gone:
	case <-time.After(hangGuard):
		t.Fatal("the server never saw the connection go")
	}
	require.False(t, s.Next())
}

func TestEventStreamAllEndsWithError(t *testing.T) {
	t.Parallel()
	resp := ndjsonServer(t, context.Background(), func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "{\"type\":\"a\"}\nnot json\n")
	})
	s := newEventStream(resp, DefaultMaxLineSize)
	var got []string
	var final error
	for ev, err := range s.All() {
		if err != nil {
			final = err
			continue
		}
		got = append(got, ev.Type)
	}
	assert.Equal(t, []string{"a"}, got)
	require.ErrorContains(t, final, "line 2")
	require.Same(t, final, s.Err())
}

func TestEventStreamContextCancelEndsBlockedNext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp := ndjsonServer(t, ctx, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "{\"type\":\"a\"}\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	s := newEventStream(resp, DefaultMaxLineSize)
	defer s.Close()
	require.True(t, s.Next())
	next := inBackground(t, "the Next before the cancel", s.Next)
	cancel()
	require.False(t, next())
	require.ErrorIs(t, s.Err(), context.Canceled)
}

func TestEventStreamCloseEndsBlockedNext(t *testing.T) {
	t.Parallel()
	resp := ndjsonServer(t, context.Background(), func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "{\"type\":\"a\"}\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	s := newEventStream(resp, DefaultMaxLineSize)
	require.True(t, s.Next())
	next := inBackground(t, "the Next before Close", s.Next)
	require.NoError(t, s.Close())
	require.False(t, next())
	require.NoError(t, s.Err(), "the caller's own Close is not an error")
}

func TestEventStreamLineLimit(t *testing.T) {
	t.Parallel()
	resp := ndjsonServer(t, context.Background(), func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "{\"type\":\"a\"}\n{\"type\":\"%s\"}\n", strings.Repeat("b", 200))
	})
	s := newEventStream(resp, 100)
	require.True(t, s.Next())
	require.False(t, s.Next())
	require.ErrorIs(t, s.Err(), ErrLineTooLong)
}

// TestEventStreamOnEnd pins the contract Conversation builds on: onEnd is
// asked only after a body ends cleanly, and may deliver an event, switch
// to the next response, or end the stream.
func TestEventStreamOnEnd(t *testing.T) {
	t.Parallel()
	serve := func(runID, jobID, body string) *http.Response {
		return ndjsonServer(t, context.Background(), func(w http.ResponseWriter, r *http.Request) {
			if runID != "" {
				w.Header().Set(headerRunID, runID)
			}
			if jobID != "" {
				w.Header().Set(headerJobID, jobID)
			}
			io.WriteString(w, body)
		})
	}
	first := serve("run-1", "job-1", "{\"type\":\"a\"}\n")
	second := serve("", "", "{\"type\":\"b\"}\n")
	firstBody := &watchedBody{ReadCloser: first.Body}
	first.Body = firstBody

	s := newEventStream(first, DefaultMaxLineSize)
	step := 0
	s.onEnd = func() (*Event, *http.Response, error) {
		step++
		assert.True(t, firstBody.closed.Load(), "the ended body is closed before onEnd runs")
		switch step {
		case 1:
			return &Event{Type: EventJobStarted, JobID: "job-1"}, nil, nil
		case 2:
			return nil, second, nil
		}
		return nil, nil, nil
	}
	var types []string
	for s.Next() {
		types = append(types, s.Current().Type)
		if s.Current().Type == "b" {
			assert.Equal(t, "run-1", s.RunID(), "a response without a run ID keeps the known one")
			assert.Equal(t, "", s.JobID(), "the job ID is the current response's")
		}
	}
	require.NoError(t, s.Err())
	assert.Equal(t, []string{"a", EventJobStarted, "b"}, types)
	assert.Equal(t, 3, step)

	boom := errors.New("job failed")
	s = newEventStream(serve("", "", "{\"type\":\"a\"}\n"), DefaultMaxLineSize)
	s.onEnd = func() (*Event, *http.Response, error) { return nil, nil, boom }
	require.True(t, s.Next())
	require.False(t, s.Next())
	require.ErrorIs(t, s.Err(), boom)

	s = newEventStream(serve("", "", "{\"type\":\n"), DefaultMaxLineSize)
	s.onEnd = func() (*Event, *http.Response, error) {
		t.Error("onEnd must not run after a failed body")
		return nil, nil, nil
	}
	require.False(t, s.Next())
	require.Error(t, s.Err())
}

// lineStream is an io.Reader producing size bytes of NDJSON by cycling
// through lines, without holding more than those lines in memory. It ends
// after the line that reaches size.
type lineStream struct {
	lines [][]byte
	size  int64
	read  int64
	i     int    // next line
	rest  []byte // unread part of the current line
}

func (g *lineStream) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(g.rest) == 0 {
			if g.read >= g.size {
				break
			}
			g.rest = g.lines[g.i%len(g.lines)]
			g.i++
		}
		c := copy(p[n:], g.rest)
		g.rest = g.rest[c:]
		n += c
		g.read += int64(c)
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

func heapInUse() (alloc, inuse uint64) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, m.HeapInuse
}

func TestDecoderMemoryStaysBounded(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("streams 512 MiB: too slow under -race; .ci/run runs it without")
	}
	lines := [][]byte{
		[]byte(`{"type":"tool-result","toolCallId":"c1","toolName":"fetch","result":"` + strings.Repeat("r", 1<<20-80) + `"}` + "\n"),
		[]byte(`{"type":"tool-call","toolCallId":"c2","toolName":"search","args":{"q":"` + strings.Repeat("q", 50<<10) + `"}}` + "\n"),
	}
	for i := range 2000 {
		lines = append(lines, []byte(fmt.Sprintf(`{"type":"text-delta","textDelta":"token %d\n"}`+"\n", i)))
	}
	longest := 0
	for _, l := range lines {
		longest = max(longest, len(l)-1)
	}
	require.LessOrEqual(t, longest, 1<<20)

	src := &lineStream{lines: lines, size: 512 << 20}
	baseAlloc, baseInuse := heapInUse()
	d := NewDecoder(src)
	var peakAlloc, peakInuse uint64
	next := int64(0)
	events := 0
	for {
		ev, err := d.nextEvent()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		require.NotEmpty(t, ev.Type)
		events++
		if src.read >= next {
			next += 16 << 20
			alloc, inuse := heapInUse()
			peakAlloc = max(peakAlloc, alloc-min(alloc, baseAlloc))
			peakInuse = max(peakInuse, inuse-min(inuse, baseInuse))
		}
	}
	t.Logf("%d events, %d MiB; heap kept alive above the start: peak HeapAlloc %.2f MiB, HeapInuse %.2f MiB",
		events, src.read>>20, float64(peakAlloc)/(1<<20), float64(peakInuse)/(1<<20))
	assert.GreaterOrEqual(t, src.read, int64(512<<20))
	assert.LessOrEqual(t, peakAlloc, uint64(8<<20))
	assert.LessOrEqual(t, peakInuse, uint64(8<<20))
}

// TestDecoderLongLinesPinNothing keeps only the Type and ToolCallID of 50
// events whose lines carry 2 MiB results, as a caller listing the tool
// calls of a long answer would. Those strings must not keep their lines
// alive: pointing into them would hold about 100 MiB.
func TestDecoderLongLinesPinNothing(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("decodes 100 MiB, too slow under -race; .ci/run runs it without")
	}
	const resultSize = 2 << 20
	var parts []io.Reader // the lines, generated as they are read
	for i := range 50 {
		parts = append(parts,
			strings.NewReader(fmt.Sprintf(`{"type":"tool-result","toolCallId":"call_%d","toolName":"fetch","result":"`, i)),
			io.LimitReader(repeatByte('r'), resultSize),
			strings.NewReader(`"}`+"\n"))
	}
	type kept struct{ typ, id string }
	var keep []kept
	baseAlloc, _ := heapInUse()
	d := NewDecoder(io.MultiReader(parts...))
	for {
		ev, err := d.nextEvent()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		require.Len(t, ev.Result, resultSize+2)
		keep = append(keep, kept{ev.Type, ev.ToolCallID})
	}
	d = nil
	alloc, _ := heapInUse()
	held := alloc - min(alloc, baseAlloc)
	t.Logf("heap kept alive by 50 (Type, ToolCallID) pairs: %.2f MiB", float64(held)/(1<<20))
	require.Len(t, keep, 50)
	for i, k := range keep {
		assert.Equal(t, kept{"tool-result", fmt.Sprintf("call_%d", i)}, k)
	}
	assert.LessOrEqual(t, held, uint64(4<<20), "the kept strings hold their lines alive")
	runtime.KeepAlive(keep)
}

// hugeLine returns a reader of one tool-result line of exactly n bytes,
// plus a newline, generated as it is read.
func hugeLine(n int) io.Reader {
	head := `{"type":"tool-result","result":"`
	tail := `"}` + "\n"
	return io.MultiReader(strings.NewReader(head),
		io.LimitReader(repeatByte('z'), int64(n-len(head)-len(tail)+1)),
		strings.NewReader(tail))
}

// repeatByte is a reader that never ends, of one byte over and over.
type repeatByte byte

func (b repeatByte) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

func TestDecoderLineAtTheLimit(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("decodes a 32 MiB line")
	}
	d := NewDecoder(hugeLine(DefaultMaxLineSize))
	ev, err := d.nextEvent()
	require.NoError(t, err)
	assert.Len(t, ev.Raw, DefaultMaxLineSize)
	assert.Equal(t, "tool-result", ev.Type)
	assert.Len(t, ev.Result, DefaultMaxLineSize-len(`{"type":"tool-result","result":}`))
	assert.LessOrEqual(t, cap(d.buf), DefaultMaxLineSize+1)
	assert.LessOrEqual(t, len(d.long), keepSegments, "the segments the huge line needed are not all kept")
	_, err = d.nextEvent()
	require.Equal(t, io.EOF, err)
}

func TestDecoderLineOverTheLimit(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("reads a 33 MiB line")
	}
	d := NewDecoder(hugeLine(33 << 20))
	_, err := d.nextEvent()
	require.ErrorIs(t, err, ErrLineTooLong)
	assert.LessOrEqual(t, len(d.long)*longSegment, DefaultMaxLineSize+longSegment, "the decoder stopped at the limit")
	assert.LessOrEqual(t, cap(d.buf), DefaultMaxLineSize+1)
}
