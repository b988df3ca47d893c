package jsonscan

import (
	"bytes"
	"testing"

	"github.com/toolhouseai/toolhouse-go/internal/benchstream"
)

// BenchmarkValid validates the lines of the benchmark worker stream, by
// kind: short text deltas, tool calls (objects of many short strings) and
// tool results (long prose strings with an escape about every 16 bytes).
func BenchmarkValid(b *testing.B) {
	kinds := map[string][][]byte{}
	for _, line := range bytes.Split(bytes.TrimSpace(benchstream.Worker()), []byte("\n")) {
		switch {
		case bytes.Contains(line, []byte(`"type":"text-delta"`)):
			kinds["text-delta"] = append(kinds["text-delta"], line)
		case bytes.Contains(line, []byte(`"type":"tool-call"`)):
			kinds["tool-call"] = append(kinds["tool-call"], line)
		case bytes.Contains(line, []byte(`"type":"tool-result"`)):
			kinds["tool-result"] = append(kinds["tool-result"], line)
		}
	}
	for _, kind := range []string{"text-delta", "tool-call", "tool-result"} {
		lines := kinds[kind]
		size := 0
		for _, l := range lines {
			size += len(l)
		}
		b.Run(kind, func(b *testing.B) {
			var s Scanner
			b.SetBytes(int64(size))
			for range b.N {
				for _, l := range lines {
					if s.Valid(l) != OK {
						b.Fatalf("invalid: %.80q", l)
					}
				}
			}
		})
	}
}
