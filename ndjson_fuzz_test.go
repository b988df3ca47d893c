package toolhouse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/toolhouseai/toolhouse-go/internal/jsonscan"
)

// addFixtureSeeds seeds f with every testdata/*.ndjson file.
func addFixtureSeeds(f *testing.F, each func(data []byte)) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.ndjson"))
	require.NoError(f, err)
	require.NotEmpty(f, files)
	for _, name := range files {
		data, err := os.ReadFile(name)
		require.NoError(f, err)
		each(data)
	}
}

// outcome is what the decoder made of one line: an event or an error.
type outcome struct {
	ev  Event
	err error
}

// decodeOutcomes decodes every line of r, going on after malformed lines
// as Decode allows, until io.EOF or a sticky error.
func decodeOutcomes(r io.Reader, maxLine int) []outcome {
	d := NewDecoder(r)
	d.SetMaxLineSize(maxLine)
	var out []outcome
	for {
		var ev Event
		err := d.Decode(&ev)
		if err == io.EOF {
			return out
		}
		out = append(out, outcome{ev, err})
		if errors.Is(err, ErrLineTooLong) || d.err != nil {
			return out
		}
	}
}

// chunked reads data n bytes at a time.
func chunked(data []byte, n int) io.Reader {
	r := bytes.NewReader(data)
	return readerFunc(func(p []byte) (int, error) {
		return r.Read(p[:min(len(p), n)])
	})
}

// FuzzDecoder feeds arbitrary bytes to the decoder: it must never panic,
// never hand over an event from a line that is not valid JSON, agree with
// the reference decoder line by line, and give the same answer however
// the input is split into reads.
func FuzzDecoder(f *testing.F) {
	addFixtureSeeds(f, func(data []byte) { f.Add(data) })
	f.Add([]byte("{\"type\":\"a\"}\n\n{\"type\":\"b\"}"))
	f.Add([]byte("{\"type\":\"a\"}\r\n [1]\n{\"type\":"))
	f.Fuzz(func(t *testing.T, data []byte) {
		whole := decodeOutcomes(bytes.NewReader(data), DefaultMaxLineSize)

		// The model: each non-blank line on its own, through the reference.
		lines := bytes.Split(data, []byte("\n"))
		var want []outcome
		var wantLine []int
		for i, line := range lines {
			line = jsonscan.TrimSpace(line)
			if len(line) == 0 {
				continue
			}
			ev, err := referenceEvent(line)
			want = append(want, outcome{ev, err})
			wantLine = append(wantLine, i+1)
		}
		// Plain comparisons first, testify for the report: the fuzzer
		// runs this body millions of times.
		require.Len(t, whole, len(want))
		for i, got := range whole {
			if want[i].err != nil {
				if got.err == nil || !strings.Contains(got.err.Error(), fmt.Sprintf("line %d", wantLine[i])) {
					require.ErrorContains(t, got.err, fmt.Sprintf("line %d", wantLine[i]), "reference failed with %v", want[i].err)
				}
				continue
			}
			if got.err != nil || !json.Valid(got.ev.Raw) || !reflect.DeepEqual(want[i].ev, got.ev) {
				require.NoError(t, got.err, "line %d", wantLine[i])
				require.True(t, json.Valid(got.ev.Raw), "an event from invalid JSON: %q", got.ev.Raw)
				require.Equal(t, want[i].ev, got.ev, "line %d", wantLine[i])
			}
		}

		// Any split into reads gives the same result.
		for _, n := range []int{1, 3, len(data)%17 + 1} {
			split := decodeOutcomes(chunked(data, n), DefaultMaxLineSize)
			require.Len(t, split, len(whole), "reads of %d bytes", n)
			for i := range split {
				if !reflect.DeepEqual(whole[i].ev, split[i].ev) || (whole[i].err == nil) != (split[i].err == nil) {
					require.Equal(t, whole[i], split[i], "reads of %d bytes", n)
				}
			}
		}

		// Under a small limit, lines up to it decode as before and the
		// first longer one is ErrLineTooLong.
		limit := len(data)/2 + 1
		limited := decodeOutcomes(bytes.NewReader(data), limit)
		for i, got := range limited {
			if errors.Is(got.err, ErrLineTooLong) {
				require.Equal(t, len(limited)-1, i, "ErrLineTooLong ends the stream")
				break
			}
			require.Less(t, i, len(whole))
			if !reflect.DeepEqual(whole[i].ev, got.ev) || len(got.ev.Raw) > limit {
				require.Equal(t, whole[i].ev, got.ev)
				require.LessOrEqual(t, len(got.ev.Raw), limit)
			}
		}
	})
}

// FuzzEventLine compares the single-pass parser with the reference on
// every input line: the same event, or an error from both. It also holds
// the decoder's unquoting to encoding/json.
func FuzzEventLine(f *testing.F) {
	for _, line := range referenceLines {
		f.Add([]byte(line))
	}
	addFixtureSeeds(f, func(data []byte) {
		for _, line := range bytes.Split(data, []byte("\n")) {
			f.Add(line)
		}
	})
	f.Fuzz(func(t *testing.T, line []byte) {
		// The scanner itself is held to json.Valid by jsonscan's FuzzScan;
		// here, the decoder's unquoting into its slabs.
		if json.Valid(line) && len(line) > 0 && line[0] == '"' {
			var want string
			require.NoError(t, json.Unmarshal(line, &want))
			end := bytes.LastIndexByte(line, '"')
			if got := new(arena).unquote(line[1:end], false); got != want {
				t.Fatalf("unquote(%q) = %q, encoding/json says %q", line, got, want)
			}
		}

		if bytes.IndexByte(line, '\n') >= 0 {
			return // not one line
		}
		if line = jsonscan.TrimSpace(line); len(line) == 0 {
			return
		}
		want, wantErr := referenceEvent(line)
		got, gotErr := fastEvent(line)
		if (wantErr == nil) != (gotErr == nil) || !reflect.DeepEqual(want, got) {
			requireSameEvent(t, line)
		}
	})
}
