package jsonscan

// DropTrailingCommas removes the commas that stand right before a closing
// ] or }, outside strings: the one repair a response body needs when it
// was written by hand (the product documents show payloads with a trailing
// comma in a list). ok is false, and out is nil, when there were none.
//
// It does not validate: whether the result is JSON is for the decoder to
// say.
func DropTrailingCommas(b []byte) (out []byte, ok bool) {
	inString, escaped := false, false
	for i := 0; i < len(b); i++ {
		ch := b[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case ch == '\\':
				escaped = true
			case ch == '"':
				inString = false
			}
			if out != nil {
				out = append(out, ch)
			}
			continue
		}
		if ch == ',' {
			if j := SkipSpace(b, i+1); j < len(b) && (b[j] == ']' || b[j] == '}') {
				if out == nil {
					// The first trailing comma: copy what came before it.
					out = append(make([]byte, 0, len(b)), b[:i]...)
				}
				ok = true
				continue
			}
		}
		if ch == '"' {
			inString = true
		}
		if out != nil {
			out = append(out, ch)
		}
	}
	return out, ok
}
