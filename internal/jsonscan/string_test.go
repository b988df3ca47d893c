package jsonscan

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// skipStringByByte is the definition every skipString is held to, written
// for obviousness: one byte at a time.
func skipStringByByte(data []byte, i int) int {
	for i < len(data) {
		switch c := data[i]; {
		case c == '"' || c < 0x20:
			return i
		case c == '\\':
			if i+1 >= len(data) {
				return i
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(data) {
					return i
				}
				for _, h := range data[i+2 : i+6] {
					if !strings.ContainsRune("0123456789abcdefABCDEF", rune(h)) {
						return i
					}
				}
				i += 6
			default:
				return i
			}
		default:
			i++
		}
	}
	return i
}

// checkSkipString compares skipString (the assembly, where there is one)
// and skipStringGeneric with the definition at every offset of data.
func checkSkipString(t testing.TB, data []byte) {
	t.Helper()
	for i := 0; i <= len(data); i++ {
		want := skipStringByByte(data, i)
		if got := skipString(data, i); got != want {
			t.Fatalf("skipString(%q, %d) = %d, want %d", data, i, got, want)
		}
		if got := skipStringGeneric(data, i); got != want {
			t.Fatalf("skipStringGeneric(%q, %d) = %d, want %d", data, i, got, want)
		}
	}
}

// stringPieces are what string contents are made of, the awkward ones
// included; randomStrings glues them into strings long enough to cross the
// scanners' 8-, 16-, 32- and 64-byte blocks at every alignment.
var stringPieces = []string{
	"a", "plain text ", "é", "東京", "😀", "\xff", "\x7f", "\x00", "\x1f", " ", `"`,
	`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`, `\u00e9`, `\uD83D\uDE00`, `\uABCD`,
	`\x`, `\u12`, `\u12G4`, `\`, `\\\`, `\u`, `\U0041`, strings.Repeat("x", 31), strings.Repeat("y", 63),
}

func randomStrings(rng *rand.Rand, n int) [][]byte {
	var out [][]byte
	for range n {
		var b bytes.Buffer
		for range rng.IntN(40) {
			p := stringPieces[rng.IntN(len(stringPieces))]
			if rng.IntN(4) > 0 && (strings.ContainsAny(p, "\"\x00\x1f") || p == `\` || p == `\\\`) {
				continue // keep most strings going past their first blocks
			}
			b.WriteString(p)
		}
		out = append(out, b.Bytes())
	}
	return out
}

func TestSkipStringMatchesDefinition(t *testing.T) {
	t.Parallel()
	for _, p := range stringPieces {
		checkSkipString(t, []byte(p))
		checkSkipString(t, []byte(strings.Repeat("z", 60)+p+strings.Repeat("z", 70)))
	}
	for _, s := range randomStrings(rand.New(rand.NewPCG(5, 6)), 3000) {
		checkSkipString(t, s)
	}
}

// TestSkipStringBackslashRuns puts runs of backslashes, and what may
// follow them, across every position of a 64-byte block: which bytes a
// run escapes depends on its length, and an escape may cross the block's
// end.
func TestSkipStringBackslashRuns(t *testing.T) {
	t.Parallel()
	for _, after := range []string{"n", `"`, "u00e9", "u00G9", "x", "\x01", "uD83D", "u12"} {
		for run := 1; run <= 9; run++ {
			for pad := 0; pad < 70; pad++ {
				s := strings.Repeat("p", pad) + strings.Repeat(`\`, run) + after + strings.Repeat("q", 70) + `"`
				checkSkipString(t, []byte(s))
			}
		}
	}
}

// TestSkipStringAtPageEdges puts strings right after the start and right
// before the end of an allocation, so that the last bytes of a string sit
// at every offset before a page boundary, the case where the assembly
// loads its last 32 bytes backwards.
func TestSkipStringAtPageEdges(t *testing.T) {
	t.Parallel()
	mem := make([]byte, 64<<10) // large allocations start on a page
	for _, s := range randomStrings(rand.New(rand.NewPCG(7, 8)), 300) {
		for _, end := range []int{4096, 8192 - 1, 8192 - 17} {
			if len(s) > end {
				continue
			}
			placed := mem[end-len(s) : end : end]
			copy(placed, s)
			checkSkipString(t, placed)
		}
		checkSkipString(t, mem[:copy(mem, s):len(s)])
	}
}

// TestStringMatchesEncodingJSON holds String, escapes and all, to
// json.Valid on quoted strings, and checks where it stops.
func TestStringMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range randomStrings(rand.New(rand.NewPCG(9, 10)), 2000) {
		quoted := append(append([]byte{'"'}, s...), '"')
		end, st := String(quoted, 1)
		switch {
		case json.Valid(quoted):
			require.Equal(t, OK, st, "%q", quoted)
			require.Equal(t, len(quoted), end, "%q", quoted)
		case st == OK: // it stopped at a quote inside
			require.Less(t, end, len(quoted), "%q", quoted)
			assert.True(t, json.Valid(quoted[:end]), "%q ends at %d", quoted, end)
		case st == Short: // the last quote is escaped
			require.Equal(t, len(quoted), end, "%q", quoted)
		}
	}
}

// FuzzSkipString holds every skipString to the byte-at-a-time definition
// at every offset of the input.
func FuzzSkipString(f *testing.F) {
	for _, p := range stringPieces {
		f.Add([]byte(strings.Repeat("z", 50) + p + strings.Repeat("z", 50)))
	}
	for _, s := range randomStrings(rand.New(rand.NewPCG(11, 12)), 20) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkSkipString(t, data)
	})
}
