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
	"testing"
	"time"

	"github.com/toolhouseai/toolhouse-go/internal/benchstream"
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

// BenchmarkDecode decodes the benchmark worker stream (benchstream.Worker)
// from memory.
func BenchmarkDecode(b *testing.B) {
	data := benchstream.Worker()
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
		benchstream.Line(&buf, map[string]any{"type": "text-delta", "textDelta": benchstream.Text(rng, 1+rng.IntN(5))})
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

// BenchmarkEventStream reads the benchmark worker stream end to end from a
// loopback HTTP server: the request, the transport, the decoding.
func BenchmarkEventStream(b *testing.B) {
	data := benchstream.Worker()
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
