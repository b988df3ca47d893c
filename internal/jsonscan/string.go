package jsonscan

import (
	"encoding/binary"
	"math/bits"
)

// String validates a string whose opening quote is just before data[i] and
// returns the offset past its closing quote.
//
// The work is skipString's: it runs over ordinary bytes and well-formed
// escapes many bytes at a time (with SIMD instructions where the machine
// has them) and stops only at the closing quote or at what is wrong.
func String(data []byte, i int) (int, Status) {
	// Most keys and many values end within their first 16 bytes: a quote
	// found there with no backslash before it ends the string without
	// skipString's setup.
	if i+16 <= len(data) {
		m := special(binary.LittleEndian.Uint64(data[i:]))
		j := i
		if m == 0 {
			m = special(binary.LittleEndian.Uint64(data[i+8:]))
			j += 8
		}
		if m != 0 {
			if j += bits.TrailingZeros64(m) >> 3; data[j] == '"' {
				return j + 1, OK
			}
		}
	}
	for {
		i = skipString(data, i)
		if i >= len(data) {
			return i, Short
		}
		switch c := data[i]; {
		case c == '"':
			return i + 1, OK
		case c == '\\':
			n, st := escape(data, i)
			if st != OK {
				return n, st
			}
			i += n
		default: // a control character
			return i, Invalid
		}
	}
}

// escape checks the escape sequence whose backslash is data[i]. It returns
// the sequence's length when it is well formed; otherwise where and how it
// goes wrong: Short when data ends inside it, Invalid at a byte that cannot
// be there.
func escape(data []byte, i int) (int, Status) {
	if i+1 >= len(data) {
		return i, Short
	}
	switch escapeClass[data[i+1]] & (simpleEscape | unicodeEscape) {
	case simpleEscape:
		return 2, OK
	case unicodeEscape:
		for k := i + 2; k < i+6; k++ {
			if k >= len(data) {
				return k, Short
			}
			if escapeClass[data[k]]&hexDigit == 0 {
				return k, Invalid
			}
		}
		return 6, OK
	}
	return i + 1, Invalid
}

// escapeClass says what a byte can be in an escape sequence; the assembly
// scanners read it too.
var escapeClass = func() (t [256]uint8) {
	for _, c := range `"\/bfnrt` {
		t[c] |= simpleEscape
	}
	t['u'] |= unicodeEscape
	for _, c := range "0123456789abcdefABCDEF" {
		t[c] |= hexDigit
	}
	return t
}()

// The bits of escapeClass.
const (
	simpleEscape  = 1 << iota // follows a backslash: \" \\ \/ \b \f \n \r \t
	unicodeEscape             // 'u', which four hex digits follow
	hexDigit
)

// Word-at-a-time constants: a byte of ones in each lane, and each lane's
// top bit.
const (
	lanes   = 0x0101010101010101
	topBits = 0x8080808080808080
)

// skipStringGeneric is skipString in portable Go: from data[i], inside a
// string, it skips ordinary bytes and well-formed escape sequences, and
// returns the offset of the first byte that is a quote, a control
// character, or a backslash that does not start a complete, well-formed
// escape; len(data) if there is none. It looks at sixteen bytes at a time
// for the only bytes that need attention.
//
// Every skipString must return exactly what this one does: the tests hold
// the assembly versions to it.
func skipStringGeneric(data []byte, i int) int {
	for {
		for i+16 <= len(data) {
			m := special(binary.LittleEndian.Uint64(data[i:]))
			if m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto found
			}
			m = special(binary.LittleEndian.Uint64(data[i+8:]))
			if m != 0 {
				i += 8 + bits.TrailingZeros64(m)>>3
				goto found
			}
			i += 16
		}
		if i+8 <= len(data) {
			if m := special(binary.LittleEndian.Uint64(data[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto found
			}
			i += 8
		}
		for i < len(data) && !isSpecial(data[i]) {
			i++
		}
		if i >= len(data) {
			return i
		}
	found:
		if data[i] != '\\' {
			return i
		}
		n, st := escape(data, i)
		if st != OK {
			return i
		}
		i += n
	}
}

// special marks, with its top bit, the lane of w that holds a quote, a
// backslash or a control character; lanes above the lowest mark may be
// marked wrongly (borrows run upward), so only the lowest is exact.
func special(w uint64) uint64 {
	q := w ^ (lanes * '"')
	b := w ^ (lanes * '\\')
	return (((q - lanes) &^ q) | ((b - lanes) &^ b) | ((w - lanes*0x20) &^ w)) & topBits
}

func isSpecial(c byte) bool { return c == '"' || c == '\\' || c < 0x20 }
