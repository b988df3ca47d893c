// Package benchstream generates the worker answer the NDJSON benchmarks
// decode: the root package's benchmarks against the standard library and
// the peer decoders in bench/peers read the very same bytes. Nothing
// outside benchmarks and their tests imports it.
package benchstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
)

var words = strings.Fields(`the agent searched three sources and found that latency
matters more than throughput for streaming answers; résumé naïve café 東京 データ
"quoted" tab	separated <html> & ampersands 😀 emoji`)

// Text returns n words of prose, with the newlines, quotes, tabs and
// HTML characters that model output is full of; encoded by encoding/json
// it has an escape about every 16 bytes.
func Text(rng *rand.Rand, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			if rng.IntN(12) == 0 {
				b.WriteString("\n")
			} else {
				b.WriteString(" ")
			}
		}
		b.WriteString(words[rng.IntN(len(words))])
	}
	return b.String()
}

// Line appends v to b as one NDJSON line, encoded by encoding/json.
func Line(b *bytes.Buffer, v any) {
	line, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps of strings, numbers and slices are passed
	}
	b.Write(line)
	b.WriteByte('\n')
}

// args returns tool-call arguments of about size bytes: a search request
// carrying retrieved documents.
func args(rng *rand.Rand, size int) map[string]any {
	var docs []map[string]any
	for n := 0; n < size; {
		doc := map[string]any{
			"id":        rng.IntN(1 << 30),
			"title":     Text(rng, 6),
			"url":       "https://example.com/articles/" + strconv.Itoa(rng.IntN(1e6)),
			"score":     rng.Float64(),
			"published": rng.IntN(2) == 0,
			"tags":      []string{"news", "tech", strconv.Itoa(rng.IntN(100))},
			"snippet":   Text(rng, 40+rng.IntN(160)),
			"meta":      map[string]any{"lang": "en", "words": rng.IntN(5000), "rank": []int{rng.IntN(10), rng.IntN(10)}},
		}
		enc, _ := json.Marshal(doc)
		n += len(enc)
		docs = append(docs, doc)
	}
	return map[string]any{"query": Text(rng, 8), "max_results": 10, "documents": docs}
}

// Worker is a worker's answer of about 16.7 MB: 20,000 text-delta lines
// of 1–5 words (one in ten in the v5 "delta" spelling), 40 tool calls
// whose arguments are 10–100 KB of search results, 40 tool results of a
// few KB of which 12 are about 1 MB of prose, step and finish lines. A
// quarter of the tool lines use the v5 input/output spelling. It is the
// same on every run (fixed seed), built once, and must not be modified.
var Worker = sync.OnceValue(func() []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	for turn := range 8 {
		Line(&b, map[string]any{"type": "step-start", "messageId": fmt.Sprintf("msg-%d", turn), "request": map[string]any{}})
		for i := range 2500 {
			text := Text(rng, 1+rng.IntN(5))
			if i%10 == 9 {
				Line(&b, map[string]any{"type": "text-delta", "id": "t1", "delta": text})
			} else {
				Line(&b, map[string]any{"type": "text-delta", "textDelta": text})
			}
			if i%500 != 499 {
				continue
			}
			id := fmt.Sprintf("call_%d_%d", turn, i)
			a := args(rng, 10<<10+rng.IntN(90<<10))
			result := map[string]any{"status": 200, "content": Text(rng, 300+rng.IntN(1500))}
			if i == 999 || (i == 1999 && turn%4 == 0) {
				result["content"] = Text(rng, 170_000) // about 1 MB
			}
			if turn%4 == 3 {
				Line(&b, map[string]any{"type": "tool-call", "toolCallId": id, "toolName": "web_search", "input": a})
				Line(&b, map[string]any{"type": "tool-result", "toolCallId": id, "toolName": "web_search", "output": result})
			} else {
				Line(&b, map[string]any{"type": "tool-call", "toolCallId": id, "toolName": "web_search", "args": a})
				Line(&b, map[string]any{"type": "tool-result", "toolCallId": id, "toolName": "web_search", "result": result})
			}
		}
		Line(&b, map[string]any{"type": "finish-step", "finishReason": "tool-calls", "usage": map[string]int{"promptTokens": 1200, "completionTokens": 800}})
	}
	Line(&b, map[string]any{"type": "finish", "finishReason": "stop"})
	return b.Bytes()
})
