package jsonscan

import (
	"unicode/utf16"
	"unicode/utf8"
)

// AppendUnquoted appends the decoded contents s of a valid JSON string
// (without its quotes, as String validated it) to dst, following
// encoding/json: escapes are resolved, a \u surrogate that is not half of a
// valid pair becomes U+FFFD, and so does each byte of invalid UTF-8.
func AppendUnquoted(dst, s []byte) []byte {
	for r := 0; r < len(s); {
		// A run of plain ASCII goes over as it is.
		k := r
		for k < len(s) && s[k] != '\\' && s[k] < utf8.RuneSelf {
			k++
		}
		dst = append(dst, s[r:k]...)
		if r = k; r >= len(s) {
			break
		}
		c := s[r]
		switch {
		case c == '\\' && r+1 < len(s):
			switch e := s[r+1]; e {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				rr := hex4(s[r+2:])
				r += 6
				if utf16.IsSurrogate(rr) {
					if dec := utf16.DecodeRune(rr, EscapedRune(s[r:])); dec != utf8.RuneError {
						dst = utf8.AppendRune(dst, dec)
						r += 6
						continue
					}
					rr = utf8.RuneError
				}
				dst = utf8.AppendRune(dst, rr)
				continue
			default: // '"', '\\', '/'
				dst = append(dst, e)
			}
			r += 2
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			r++
		default:
			// A valid sequence is copied; each byte of an invalid one
			// becomes U+FFFD.
			rr, size := utf8.DecodeRune(s[r:])
			if rr == utf8.RuneError && size == 1 {
				dst = utf8.AppendRune(dst, rr)
			} else {
				dst = append(dst, s[r:r+size]...)
			}
			r += size
		}
	}
	return dst
}

// EscapedRune reads a \uXXXX escape at the start of s, or returns -1. It
// reads one escape: half of a surrogate pair comes back as it is.
func EscapedRune(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	return hex4(s[2:])
}

// hex4 reads the four hex digits of a \u escape at the start of s, or
// returns -1.
func hex4(s []byte) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}
