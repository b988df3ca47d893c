package jsonscan

// Object walks the object at data[i] (which must be '{'): for each member
// it calls member with the key (the raw bytes between its quotes, escapes
// and all) and the offset of the value, which member reads, returning the
// offset just past it. It returns the offset just past the object, and
// false as soon as member does or the object's own syntax is wrong; the
// values are member's to validate.
func Object(data []byte, i int, member func(key []byte, i int) (int, bool)) (int, bool) {
	if i >= len(data) || data[i] != '{' {
		return i, false
	}
	i = SkipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return i, false
		}
		end, st := String(data, i+1)
		if st != OK {
			return end, false
		}
		key := data[i+1 : end-1]
		if i = SkipSpace(data, end); i >= len(data) || data[i] != ':' {
			return i, false
		}
		if i = SkipSpace(data, i+1); i >= len(data) {
			return i, false
		}
		var ok bool
		if i, ok = member(key, i); !ok {
			return i, false
		}
		if i = SkipSpace(data, i); i >= len(data) {
			return i, false
		}
		switch data[i] {
		case ',':
			i = SkipSpace(data, i+1)
		case '}':
			return i + 1, true
		default:
			return i, false
		}
	}
}

// Array walks the array at data[i] (which must be '['), calling elem with
// the offset of each element, which elem reads as Object's member reads a
// value.
func Array(data []byte, i int, elem func(i int) (int, bool)) (int, bool) {
	if i >= len(data) || data[i] != '[' {
		return i, false
	}
	i = SkipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return i + 1, true
	}
	for {
		if i >= len(data) {
			return i, false
		}
		var ok bool
		if i, ok = elem(i); !ok {
			return i, false
		}
		if i = SkipSpace(data, i); i >= len(data) {
			return i, false
		}
		switch data[i] {
		case ',':
			i = SkipSpace(data, i+1)
		case ']':
			return i + 1, true
		default:
			return i, false
		}
	}
}
