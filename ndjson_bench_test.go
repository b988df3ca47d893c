package toolhouse

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The benchmarks compare the decoder with what a careful caller would
// write with the standard library alone (the baseline): bufio.Scanner with
// its buffer raised to 32 MiB, json.Unmarshal into an equivalent struct,
// and a copy of the line for Raw. Both run on the same bytes in the same
// run, so their ratio is what BENCHMARKS.md reports.

// baselineEvent is the event struct a caller would write for
// json.Unmarshal.
type baselineEvent struct {
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
	Error      json.RawMessage `json:"error"`
	Raw        []byte          `json:"-"`
}

// benchTally sums what a decoder saw, so the two sides can be checked to
// have done the same work.
type benchTally struct{ events, text, args, result, raw int }

func (t *benchTally) addEvent(ev *Event) {
	t.events++
	t.text += len(ev.Text)
	t.args += len(ev.Args)
	t.result += len(ev.Result)
	t.raw += len(ev.Raw)
}

func (t *benchTally) addBaseline(ev *baselineEvent) {
	t.events++
	t.text += len(ev.TextDelta) + len(ev.Text) + len(ev.Delta)
	t.args += len(ev.Args) + len(ev.Input)
	t.result += len(ev.Result) + len(ev.Output)
	t.raw += len(ev.Raw)
}

func baselineDecode(r io.Reader) (benchTally, error) {
	var tally benchTally
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), DefaultMaxLineSize)
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var ev baselineEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			return tally, err
		}
		ev.Raw = bytes.Clone(line)
		tally.addBaseline(&ev)
	}
	return tally, sc.Err()
}

func toolhouseDecode(r io.Reader) (benchTally, error) {
	var tally benchTally
	d := NewDecoder(r)
	var ev Event // reused: each Decode overwrites it, earlier events stay valid
	for {
		err := d.Decode(&ev)
		if err == io.EOF {
			return tally, nil
		}
		if err != nil {
			return tally, err
		}
		tally.addEvent(&ev)
	}
}

func toolhouseStream(s *EventStream) (benchTally, error) {
	var tally benchTally
	for s.Next() {
		ev := s.Current()
		tally.addEvent(&ev)
	}
	return tally, s.Err()
}

var benchWords = strings.Fields(`the agent searched three sources and found that latency
matters more than throughput for streaming answers; résumé naïve café 東京 データ
"quoted" tab	separated <html> & ampersands 😀 emoji`)

// benchText returns n words of prose, with the newlines and quotes that
// model output is full of.
func benchText(rng *rand.Rand, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			if rng.IntN(12) == 0 {
				b.WriteString("\n")
			} else {
				b.WriteString(" ")
			}
		}
		b.WriteString(benchWords[rng.IntN(len(benchWords))])
	}
	return b.String()
}

func benchLine(b *bytes.Buffer, v any) {
	line, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	b.Write(line)
	b.WriteByte('\n')
}

// benchArgs returns tool-call arguments of about size bytes: a search
// request carrying retrieved documents.
func benchArgs(rng *rand.Rand, size int) map[string]any {
	var docs []map[string]any
	for n := 0; n < size; {
		doc := map[string]any{
			"id":        rng.IntN(1 << 30),
			"title":     benchText(rng, 6),
			"url":       "https://example.com/articles/" + strconv.Itoa(rng.IntN(1e6)),
			"score":     rng.Float64(),
			"published": rng.IntN(2) == 0,
			"tags":      []string{"news", "tech", strconv.Itoa(rng.IntN(100))},
			"snippet":   benchText(rng, 40+rng.IntN(160)),
			"meta":      map[string]any{"lang": "en", "words": rng.IntN(5000), "rank": []int{rng.IntN(10), rng.IntN(10)}},
		}
		enc, _ := json.Marshal(doc)
		n += len(enc)
		docs = append(docs, doc)
	}
	return map[string]any{"query": benchText(rng, 8), "max_results": 10, "documents": docs}
}

// realisticStream is a worker's answer: mostly text deltas, tool calls
// with 10–100 KB arguments, results of a few KB and a few of 1 MB, in the
// Vercel AI SDK v4 spelling with some v5 lines. It is the same on every
// run (fixed seed) and built once.
var realisticStream = sync.OnceValue(func() []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	for turn := range 8 {
		benchLine(&b, map[string]any{"type": "step-start", "messageId": fmt.Sprintf("msg-%d", turn), "request": map[string]any{}})
		for i := range 2500 {
			text := benchText(rng, 1+rng.IntN(5))
			switch {
			case i%10 == 9:
				benchLine(&b, map[string]any{"type": "text-delta", "id": "t1", "delta": text})
			default:
				benchLine(&b, map[string]any{"type": "text-delta", "textDelta": text})
			}
			if i%500 != 499 {
				continue
			}
			id := fmt.Sprintf("call_%d_%d", turn, i)
			args := benchArgs(rng, 10<<10+rng.IntN(90<<10))
			result := map[string]any{"status": 200, "content": benchText(rng, 300+rng.IntN(1500))}
			if i == 999 && turn%2 == 0 {
				result["content"] = benchText(rng, 170_000) // about 1 MB
			}
			if turn%4 == 3 {
				benchLine(&b, map[string]any{"type": "tool-call", "toolCallId": id, "toolName": "web_search", "input": args})
				benchLine(&b, map[string]any{"type": "tool-result", "toolCallId": id, "toolName": "web_search", "output": result})
			} else {
				benchLine(&b, map[string]any{"type": "tool-call", "toolCallId": id, "toolName": "web_search", "args": args})
				benchLine(&b, map[string]any{"type": "tool-result", "toolCallId": id, "toolName": "web_search", "result": result})
			}
		}
		benchLine(&b, map[string]any{"type": "finish-step", "finishReason": "tool-calls", "usage": map[string]int{"promptTokens": 1200, "completionTokens": 800}})
	}
	benchLine(&b, map[string]any{"type": "finish", "finishReason": "stop"})
	return b.Bytes()
})

// checkSameWork fails the benchmark if the two decoders disagree on what
// the stream holds.
func checkSameWork(b *testing.B, data []byte) {
	b.Helper()
	want, err := baselineDecode(bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	got, err := toolhouseDecode(bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	if got != want {
		b.Fatalf("decoders disagree: toolhouse %+v, baseline %+v", got, want)
	}
}

// BenchmarkDecode decodes the realistic stream from memory.
func BenchmarkDecode(b *testing.B) {
	data := realisticStream()
	checkSameWork(b, data)
	for _, side := range []struct {
		name   string
		decode func(io.Reader) (benchTally, error)
	}{{"baseline", baselineDecode}, {"toolhouse", toolhouseDecode}} {
		b.Run(side.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for range b.N {
				if _, err := side.decode(bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTextDeltaLine decodes one text-delta line per op from an
// endless stream of them, so allocs/op is allocations per line.
func BenchmarkTextDeltaLine(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	var lines [][]byte
	for range 1000 {
		var buf bytes.Buffer
		benchLine(&buf, map[string]any{"type": "text-delta", "textDelta": benchText(rng, 1+rng.IntN(5))})
		lines = append(lines, buf.Bytes())
	}
	endless := func() io.Reader { return &lineStream{lines: lines, size: math.MaxInt64} }
	b.Run("baseline", func(b *testing.B) {
		sc := bufio.NewScanner(endless())
		sc.Buffer(make([]byte, 0, 64<<10), DefaultMaxLineSize)
		b.ReportAllocs()
		for range b.N {
			sc.Scan()
			var ev baselineEvent
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				b.Fatal(err)
			}
			ev.Raw = bytes.Clone(sc.Bytes())
		}
	})
	b.Run("toolhouse", func(b *testing.B) {
		d := NewDecoder(endless())
		var ev Event
		b.ReportAllocs()
		for range b.N {
			if err := d.Decode(&ev); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// ndjsonBenchServer serves data as one NDJSON response over loopback.
func ndjsonBenchServer(b *testing.B, data []byte) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 32<<10)
			if _, err := w.Write(rest[:n]); err != nil {
				return
			}
			rest = rest[n:]
		}
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkEventStream reads the realistic stream end to end from a
// loopback HTTP server: the request, the transport, the decoding.
func BenchmarkEventStream(b *testing.B) {
	data := realisticStream()
	checkSameWork(b, data)
	srv := ndjsonBenchServer(b, data)
	get := func(b *testing.B) *http.Response {
		resp, err := srv.Client().Get(srv.URL)
		if err != nil {
			b.Fatal(err)
		}
		return resp
	}
	b.Run("baseline", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for range b.N {
			resp := get(b)
			_, err := baselineDecode(resp.Body)
			resp.Body.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("toolhouse", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for range b.N {
			s := newEventStream(get(b), DefaultMaxLineSize)
			_, err := toolhouseStream(s)
			s.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEventLatency measures how long an event takes to reach Next
// after the server flushed its line, over loopback. The server stamps each
// line with the time just before its write and flush.
func BenchmarkEventLatency(b *testing.B) {
	start := time.Now()
	trigger := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		for {
			select {
			case <-trigger:
			case <-r.Context().Done():
				return
			}
			fmt.Fprintf(w, `{"type":"text-delta","textDelta":"%d"}`+"\n", time.Since(start).Nanoseconds())
			w.(http.Flusher).Flush()
		}
	}))
	b.Cleanup(srv.Close)
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	s := newEventStream(resp, DefaultMaxLineSize)
	defer s.Close()
	var lat []time.Duration
	b.ReportAllocs()
	for range b.N {
		trigger <- struct{}{}
		if !s.Next() {
			b.Fatal(s.Err())
		}
		arrived := time.Since(start)
		sent, err := strconv.ParseInt(s.Current().Text, 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, arrived-time.Duration(sent))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	b.ReportMetric(float64(sum.Microseconds())/float64(len(lat)), "µs/event")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
}
