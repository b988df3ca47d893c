package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// validInputs is the table the scanner is held to json.Valid on, and the
// fuzz target's seeds.
var validInputs = []string{
	`0`, `-0`, `1`, `-1`, `10`, `01`, `-01`, `1.0`, `1.`, `.1`, `1e5`, `1E+5`, `1e-5`, `1e`, `1e+`, `-`, `--1`, `+1`,
	`1.5e3.2`, `0x10`, `Infinity`, `NaN`,
	`true`, `false`, `null`, `tru`, `nulll`, `truefalse`,
	`""`, `"a"`, `"\""`, `"\\"`, `"\/"`, `"\b\f\n\r\t"`, `"\u0000"`, `"\uABCD"`, `"\uabcd"`, `"\u12"`, `"\x"`, `"`,
	"\"\x00\"", "\"\x1f\"", "\"\x7f\"", "\"\xff\"", "\"\t\"",
	`[]`, `[1]`, `[1,2]`, `[1,]`, `[,]`, `[`, `]`, `[[]]`, `[[],[]]`, `[1 2]`,
	`{}`, `{"a":1}`, `{"a":1,}`, `{"a"}`, `{"a":}`, `{1:1}`, `{"a":1 "b":2}`, `{"a":{"b":{"c":[]}}}`,
	` 1 `, "\t\r\n1\n", ` `, ``, `1 2`, `{}{}`, `[]]`, "\u00851", "1\u00a0",
	`"abcdefghijklmnopqrstuvwxyz\"0123456789"`, `"01234567\\"`, `"0123456\u0041bcdefghij"`,
	`{"n":-0,"m":1.5e+10,"o":-2E-3,"p":0.0,"q":123456789012345678901234567890}`,
	`{"unknown":{"deep":[[[[{"a":[1,2,{"b":null}]}]]]]},"type":"x"}`,
}

func TestValidMatchesJSONValid(t *testing.T) {
	t.Parallel()
	var s Scanner
	for _, in := range validInputs {
		assert.Equal(t, json.Valid([]byte(in)), s.Valid([]byte(in)) == OK, "%q", in)
	}
}

// TestShortAndInvalid tells the two failures apart: a cut-off value is
// Short (the NDJSON decoder reports a truncated stream for it), a wrong
// byte is Invalid.
func TestShortAndInvalid(t *testing.T) {
	t.Parallel()
	var s Scanner
	for in, want := range map[string]Status{
		`{"a":[1,2`: Short, `"abc`: Short, `"\u00`: Short, `tr`: Short, `-`: Short, `1.`: Short, `1e+`: Short,
		`{"a"`: Short, `[`: Short, `"\`: Short,
		`{"a":[1,2}`: Invalid, `"\x"`: Invalid, `"\u00G0"`: Invalid, `tx`: Invalid, `-a`: Invalid, `{1:2}`: Invalid,
		"\"a\x01\"": Invalid, `[1]x`: Invalid, `01`: Invalid,
	} {
		assert.Equal(t, want, s.Valid([]byte(in)), "%q", in)
	}
}

// TestEveryPrefixIsShort: a cut anywhere inside a valid document never
// reads as a syntax error, whatever the value's shape.
func TestEveryPrefixIsShort(t *testing.T) {
	t.Parallel()
	doc := []byte(`{"a":[1,-2.5e+3,true,false,null,"s\"\u00e9\n"],"b":{"c":{}},"d":[]}`)
	require.True(t, json.Valid(doc))
	var s Scanner
	for n := range len(doc) {
		assert.Equal(t, Short, s.Valid(doc[:n]), "prefix %q", doc[:n])
	}
}

func TestNestingLimit(t *testing.T) {
	t.Parallel()
	var s Scanner
	for _, depth := range []int{1, 2, MaxDepth - 1, MaxDepth, MaxDepth + 1} {
		in := []byte(strings.Repeat("[", depth) + strings.Repeat("]", depth))
		assert.Equal(t, json.Valid(in), s.Valid(in) == OK, "depth %d", depth)
		assert.Equal(t, depth <= MaxDepth, s.Valid(in) == OK, "depth %d", depth)
	}
	// Value's depth argument counts the containers around it.
	in := []byte(strings.Repeat("[", 10) + strings.Repeat("]", 10))
	_, st := s.Value(in, 0, MaxDepth-10)
	assert.Equal(t, OK, st)
	_, st = s.Value(in, 0, MaxDepth-9)
	assert.Equal(t, Invalid, st)
}

func TestValueReturnsTheEnd(t *testing.T) {
	t.Parallel()
	var s Scanner
	data := []byte(`{"k": [1, {"x": "y"}] , "z": 2}`)
	end, st := s.Value(data, 6, 1)
	require.Equal(t, OK, st)
	assert.Equal(t, `[1, {"x": "y"}]`, string(data[6:end]))
}

func TestTrimSpaceKeepsUnicodeSpaces(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "1", string(TrimSpace([]byte(" \t\r\n1\n "))))
	assert.Equal(t, "\u00851\u00a0", string(TrimSpace([]byte(" \u00851\u00a0 "))))
	assert.Empty(t, TrimSpace([]byte(" \n")))
}

func TestAppendUnquotedMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	strs := []string{
		``, `plain`, `caf\u00e9`, `\ud83d\ude00`, `\ud83d`, `\ud83dx`, `\ude00\ud83d`, `\ud83d\ud83d\ude00`,
		`\uD800\uDBFF`, `\uDBFF\uDFFF`, `\u0000`, `\/\\\"`, "\xff", "a\xc3", "\xc3\xa9\xff\xe2\x82\xac",
		"\xed\xa0\x80", "\xf4\x90\x80\x80", `\u00e9` + "\xff" + `\n`, strings.Repeat(`\n`, 50) + strings.Repeat("\xff", 50),
		`esc \" \\ \/ \b \f \n \r \t`,
	}
	for _, s := range strs {
		var want string
		require.NoError(t, json.Unmarshal([]byte(`"`+s+`"`), &want), "%q", s)
		assert.Equal(t, want, string(AppendUnquoted(nil, []byte(s))), "%q", s)
	}
	assert.Equal(t, "keep:x", string(AppendUnquoted([]byte("keep:"), []byte("x"))), "appends to dst")
}

func TestDropTrailingCommas(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`{"A": [1, 2,],}`:        `{"A": [1, 2]}`,
		"[1,\n\t]":               "[1\n\t]",
		`{"S": "a,]",}`:          `{"S": "a,]"}`,
		`{"S": "q\",]", "T":1,}`: `{"S": "q\",]", "T":1}`,
		`[[1,],[2,],]`:           `[[1],[2]]`,
	} {
		out, ok := DropTrailingCommas([]byte(in))
		require.True(t, ok, "%q", in)
		assert.Equal(t, want, string(out), "%q", in)
		assert.True(t, json.Valid(out), "%q", out)
	}
	for _, in := range []string{`{"A": [1, 2]}`, `{"S": "a,]"}`, `{"S": "\\,]"}`, `[1,2, 3]`} {
		out, ok := DropTrailingCommas([]byte(in))
		assert.False(t, ok, "%q has no trailing comma", in)
		assert.Nil(t, out)
	}
}

// FuzzScan holds the package to encoding/json on every input: Valid agrees
// with json.Valid, a valid string unquotes as json.Unmarshal decodes it, a
// prefix of a valid document is never Invalid, and a valid document has no
// trailing comma to drop.
func FuzzScan(f *testing.F) {
	for _, in := range validInputs {
		f.Add([]byte(in))
	}
	f.Add([]byte(`{"A": [1, 2,],}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Scanner
		valid := json.Valid(data)
		st := s.Valid(data)
		if valid != (st == OK) {
			t.Fatalf("json.Valid says %v, Valid says %d for %q", valid, st, data)
		}
		if !valid {
			if fixed, ok := DropTrailingCommas(data); ok && json.Valid(fixed) {
				// What the repair accepts must still read as encoding/json
				// reads the repaired bytes.
				var v any
				require.NoError(t, json.Unmarshal(fixed, &v))
			}
			return
		}
		if _, ok := DropTrailingCommas(data); ok {
			t.Fatalf("a valid document has a trailing comma to drop: %q", data)
		}
		trimmed := TrimSpace(data)
		if trimmed[0] == '"' {
			var want string
			require.NoError(t, json.Unmarshal(data, &want))
			if got := AppendUnquoted(nil, trimmed[1:len(trimmed)-1]); string(got) != want {
				t.Fatalf("AppendUnquoted(%q) = %q, encoding/json says %q", trimmed, got, want)
			}
		}
		for _, n := range []int{1, len(trimmed) / 2, len(trimmed) - 1} {
			if n <= 0 || n >= len(trimmed) {
				continue
			}
			if s.Valid(trimmed[:n]) == Invalid {
				t.Fatalf("the prefix %q of a valid document is Invalid", trimmed[:n])
			}
		}
	})
}

// TestWalkValidatesStructure: Object and Array agree with json.Valid on
// the structure around values that the callbacks validate with Value.
func TestWalkValidatesStructure(t *testing.T) {
	t.Parallel()
	var s Scanner
	for _, in := range validInputs {
		data := []byte(in)
		i := SkipSpace(data, 0)
		if i >= len(data) || (data[i] != '{' && data[i] != '[') {
			continue
		}
		value := func(i int) (int, bool) {
			end, st := s.Value(data, i, 1)
			return end, st == OK
		}
		var end int
		var ok bool
		var keys []string
		if data[i] == '{' {
			end, ok = Object(data, i, func(key []byte, i int) (int, bool) {
				keys = append(keys, string(key))
				return value(i)
			})
		} else {
			end, ok = Array(data, i, value)
		}
		ok = ok && SkipSpace(data, end) == len(data)
		assert.Equal(t, json.Valid(data), ok, "%q", in)
		if ok && data[i] == '{' {
			var m map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(data, &m))
			assert.Len(t, keys, len(m), "%q", in)
		}
	}
}
