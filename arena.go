package toolhouse

import (
	"bytes"
	"unicode/utf8"
	"unsafe"

	"github.com/toolhouseai/toolhouse-go/internal/jsonscan"
)

// arena holds the strings a one-pass decoder takes from the JSON it reads:
// the Decoder's events and the decoded agent runs. Pieces carved from it
// are written once and never again, so strings can point into them, and
// many short ones share one allocation. Its zero value is ready to use.
type arena struct {
	slab     []byte // the free tail of the current slab
	slabNext int    // size of the next slab: small for short streams, then up to slabSize
	scratch  []byte // workspace for unquoting escaped strings
}

const (
	// slabSize and slabMaxPiece: strings up to slabMaxPiece share slabs of
	// slabSize bytes (at most one allocation per slab); longer ones get
	// their own allocation, so a slab wastes at most slabMaxPiece bytes.
	// The first slab is firstSlabSize, and each next one twice the last.
	// JSON longer than slabMaxPiece is "long" for the strings taken from
	// it: short ones are copied out of it, so that they do not keep it
	// alive.
	slabSize      = 32 << 10
	slabMaxPiece  = 4 << 10
	firstSlabSize = 4 << 10
)

// carve returns n bytes of memory that nothing else will ever write: a
// piece of the current slab for short strings, a fresh allocation for long
// ones.
func (a *arena) carve(n int) []byte {
	if n > slabMaxPiece {
		return make([]byte, n)
	}
	if n > len(a.slab) {
		size := max(a.slabNext, firstSlabSize)
		a.slabNext = min(2*size, slabSize)
		a.slab = make([]byte, size)
	}
	p := a.slab[:n:n]
	a.slab = a.slab[n:]
	return p
}

// clone copies b into carved memory. Long pieces skip carve's zeroing.
func (a *arena) clone(b []byte) []byte {
	if len(b) > slabMaxPiece {
		c := append([]byte(nil), b...)
		return c[:len(b):len(b)]
	}
	c := a.carve(len(b))
	copy(c, b)
	return c
}

// unquote returns the text of a JSON string's contents s (without its
// quotes), already validated. A string with no escapes that is valid UTF-8
// reads as it is, sharing s's memory unless copyOut is set; otherwise it is
// decoded as encoding/json decodes it into carved memory.
func (a *arena) unquote(s []byte, copyOut bool) string {
	for i, c := range s {
		if c == '\\' || c >= utf8.RuneSelf {
			if bytes.IndexByte(s[i:], '\\') < 0 && utf8.Valid(s[i:]) {
				break
			}
			out := jsonscan.AppendUnquoted(a.scratch[:0], s)
			if cap(out) <= slabSize {
				a.scratch = out[:0]
			}
			s, copyOut = a.clone(out), false
			break
		}
	}
	if len(s) == 0 {
		return ""
	}
	if copyOut {
		s = a.clone(s)
	}
	return unsafe.String(unsafe.SliceData(s), len(s))
}
