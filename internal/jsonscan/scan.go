// Package jsonscan validates JSON exactly as strictly as encoding/json,
// without reflection and without allocating: the RFC 8259 grammar, control
// characters rejected in strings, invalid UTF-8 accepted (decoding replaces
// it), nesting at most MaxDepth deep. The NDJSON event parser builds on it;
// so does the repair of bodies with trailing commas.
//
// The scanning functions take the input and an offset and return the
// offset just past what they scanned, with a Status that says whether it
// was valid. The tests hold every function to encoding/json.
package jsonscan

// Status is the outcome of a scan.
type Status uint8

const (
	// OK: the input holds a valid value where one was expected.
	OK Status = iota
	// Invalid: a byte that cannot appear where it is.
	Invalid
	// Short: the input ends inside the value; more input might complete it.
	Short
)

// MaxDepth is encoding/json's limit on nested arrays and objects: json.Valid
// rejects deeper input, so the scanner does too.
const MaxDepth = 10000

// Scanner validates values. Its zero value is ready to use; it keeps the
// memory of its container stack from one value to the next, so reuse one
// Scanner for many values. A Scanner is not safe for concurrent use.
type Scanner struct {
	stack []byte // open containers, '{' or '['
}

// Valid reports whether data holds exactly one JSON value with only
// whitespace around it: OK, Invalid, or Short when data ends inside the
// value.
func (s *Scanner) Valid(data []byte) Status {
	end, st := s.Value(data, SkipSpace(data, 0), 0)
	if st != OK {
		return st
	}
	if SkipSpace(data, end) != len(data) {
		return Invalid
	}
	return OK
}

// Value validates the JSON value that starts at data[i] and returns the
// offset just past it. depth is how many containers enclose the value, for
// the MaxDepth limit. Nested containers are tracked on the Scanner's
// stack, not by recursion.
func (s *Scanner) Value(data []byte, i, depth int) (end int, st Status) {
	end, st, stack := value(data, i, depth, s.stack[:0])
	s.stack = stack[:0]
	return end, st
}

// value is Value with the stack passed in and handed back, so that its
// memory is kept for the next value.
func value(data []byte, i, depth int, stack []byte) (int, Status, []byte) {
	var st Status
	for {
		// A value starts at data[i].
		if i >= len(data) {
			return i, Short, stack
		}
		switch c := data[i]; c {
		case '"':
			if i, st = String(data, i+1); st != OK {
				return i, st, stack
			}
		case '{', '[':
			if depth+len(stack)+1 > MaxDepth {
				return i, Invalid, stack
			}
			if i = SkipSpace(data, i+1); i >= len(data) {
				return i, Short, stack
			}
			if data[i] == c+2 { // "{}" or "[]"
				i++
				break
			}
			stack = append(stack, c)
			if c == '{' {
				if i, st = member(data, i); st != OK {
					return i, st, stack
				}
			}
			continue
		case 't':
			if i, st = literal(data, i, "true"); st != OK {
				return i, st, stack
			}
		case 'f':
			if i, st = literal(data, i, "false"); st != OK {
				return i, st, stack
			}
		case 'n':
			if i, st = literal(data, i, "null"); st != OK {
				return i, st, stack
			}
		default:
			if i, st = number(data, i); st != OK {
				return i, st, stack
			}
		}
		// After a value: close containers until one continues.
		for {
			if len(stack) == 0 {
				return i, OK, stack
			}
			if i = SkipSpace(data, i); i >= len(data) {
				return i, Short, stack
			}
			open := stack[len(stack)-1]
			c := data[i]
			if c == ',' {
				i = SkipSpace(data, i+1)
				if open == '{' {
					if i, st = member(data, i); st != OK {
						return i, st, stack
					}
				}
				break
			}
			if c != open+2 {
				return i, Invalid, stack
			}
			stack = stack[:len(stack)-1]
			i++
		}
	}
}

// member validates an object's `"key":` at data[i] and returns the offset
// of its value, past any whitespace.
func member(data []byte, i int) (int, Status) {
	if i >= len(data) {
		return i, Short
	}
	if data[i] != '"' {
		return i, Invalid
	}
	i, st := String(data, i+1)
	if st != OK {
		return i, st
	}
	if i = SkipSpace(data, i); i >= len(data) {
		return i, Short
	}
	if data[i] != ':' {
		return i, Invalid
	}
	return SkipSpace(data, i+1), OK
}

// isSpace reports whether c is one of the four bytes JSON calls
// whitespace.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n'
}

// SkipSpace returns the offset of the first byte at or after data[i] that
// is not JSON whitespace.
func SkipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

// TrimSpace trims JSON whitespace, and only it: bytes.TrimSpace would also
// drop Unicode spaces such as U+0085 and let an invalid line pass as valid
// or blank.
func TrimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// literal validates true, false or null at data[i].
func literal(data []byte, i int, word string) (int, Status) {
	for k := 1; k < len(word); k++ {
		if i+k >= len(data) {
			return i + k, Short
		}
		if data[i+k] != word[k] {
			return i + k, Invalid
		}
	}
	return i + len(word), OK
}

// number validates -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at data[i]
// and returns the offset past it.
func number(data []byte, i int) (int, Status) {
	if i < len(data) && data[i] == '-' {
		i++
	}
	if i >= len(data) {
		return i, Short
	}
	switch c := data[i]; {
	case c == '0':
		i++
	case '1' <= c && c <= '9':
		i = digits(data, i+1)
	default:
		return i, Invalid
	}
	if i < len(data) && data[i] == '.' {
		if i++; i >= len(data) {
			return i, Short
		}
		if !isDigit(data[i]) {
			return i, Invalid
		}
		i = digits(data, i+1)
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		if i++; i >= len(data) {
			return i, Short
		}
		if data[i] == '+' || data[i] == '-' {
			if i++; i >= len(data) {
				return i, Short
			}
		}
		if !isDigit(data[i]) {
			return i, Invalid
		}
		i = digits(data, i+1)
	}
	return i, OK
}

func digits(data []byte, i int) int {
	for i < len(data) && isDigit(data[i]) {
		i++
	}
	return i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
