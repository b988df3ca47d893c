package toolhouse

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/toolhouseai/toolhouse-go/internal/jsonscan"
)

// runBodies are the bodies the one-pass run decoder is held to
// encoding/json on (and the fuzz target's seeds): every shape it decodes,
// and the ones it must leave to encoding/json. handled says which: true
// for a body it must decode itself, false for one it must leave.
var runBodies = []struct {
	body    string
	handled bool
}{
	{`{"data":{"id":"r1","status":"completed"}}`, true},
	{` {"data" : {"id" : "r1"} , "extra": [1, {"x": null}]} ` + "\n", true},
	{`{"data":null}`, true},
	{`{}`, true},
	{`{"other":1}`, true},
	{`{"DATA":{"ID":"r1","Chat_Id":"c","STATUS":"queued"}}`, true},
	{`{"data":{"id":null,"status":null,"results":null,"vars":null,"created_at":null}}`, true},
	{`{"data":{"id":"a","id":"b","id":null}}`, true},
	{`{"data":{"created_at":"2025-01-15T01:46:23.568338","updated_at":"2025-01-15T01:46:23Z","created_at":null}}`, true},
	{`{"data":{"created_at":"2025-01-15 01:46:23.5","updated_at":"2025-01-15T01:46:23.5+02:00"}}`, true},
	{`{"data":{"created_at":""}}`, true},
	{`{"data":{"id":"caf\u00e9 \ud83d\ude00 \ud800 \"q\" \\ \/ \n","status":"in\u005fprogress"}}`, true},
	{"{\"data\":{\"id\":\"\xff\xfe invalid utf-8\"}}", true},
	{`{"data":{"vars":{"a":"1","b":null,"a":"2","\u00e9":"x","":""}}}`, true},
	{`{"data":{"vars":{}}}`, true},
	{`{"data":{"results":[]}}`, true},
	{`{"data":{"results":[{}]}}`, true},
	{`{"data":{"results":[{"role":"user","content":"hi \u00e9"}]}}`, true},
	{`{"data":{"results":[{"role":"user","content":""}]}}`, true},
	{`{"data":{"results":[{"role":"assistant","content":[]}]}}`, true},
	{`{"data":{"results":[{"role":"assistant","content":null}]}}`, true},
	{`{"data":{"results":[{"role":"assistant","content":[null,{}]}]}}`, true},
	{`{"data":{"results":[{"role":"assistant","content":{"type":"text","text":"lone"}}]}}`, true},
	{`{"data":{"results":[{"role":"assistant","content":"a","content":[{"type":"text","text":"b"}]}]}}`, true},
	{`{"data":{"results":[{"ROLE":"tool","Content":[{"TYPE":"tool-result","toolcallid":"c","TOOLNAME":"t","result":{"k":[1,2]},"output":null}]}]}}`, true},
	{`{"data":{"results":[{"role":"assistant","content":[{"type":"tool-call","args":null,"input":{"q":1},"result":"r","extra":{"deep":[[[]]]}}]}]}}`, true},
	{`{"data":{"results":[{"role":"assistant","content":[{"type":"tool-call","input":{"q":1},"output":[2]}]}]}}`, true},
	{`{"data":{"results":[{"role":"assistant","content":[{"type":"a","type":null,"text":"x","text":"y"}]}]}}`, true},
	{`{"data":{"results":[{"error":"You ran out of Toolhouse Execs."}]}}`, true},
	{`{"data":{"results":[{"error":{"message":"boom"}}]}}`, true},
	{`{"data":{"results":[{"error":null,"role":"user"}]}}`, true},
	{`{"data":{"results":[{"role":"user","content":"x","unknown":{"a":[true,false,null,-1.5e3]}}]}}`, true},
	{`{"data":[{"id":"r1"},null,{"id":"r2","results":[]}]}`, true},
	{`{"data":[]}`, true},

	// Left to encoding/json: its errors, or rules the decoder does not model.
	{`{"data":{"results":[],"results":[]}}`, false},
	{`{"data":{"vars":{},"vars":{}}}`, false},
	{`{"data":{},"data":{}}`, false},
	{`{"data":{"\u0069d":"r1"}}`, false},
	{`{"data":{"ſtatus":"completed"}}`, false},
	{`{"dat\u0061":{}}`, false},
	{`{"data":{"id":5}}`, false},
	{`{"data":{"status":true}}`, false},
	{`{"data":{"vars":{"a":1}}}`, false},
	{`{"data":{"vars":[]}}`, false},
	{`{"data":{"results":{}}}`, false},
	{`{"data":{"results":[null]}}`, false},
	{`{"data":{"results":["text"]}}`, false},
	{`{"data":{"results":[{"role":1}]}}`, false},
	{`{"data":{"results":[{"content":5}]}}`, false},
	{`{"data":{"results":[{"content":[5]}]}}`, false},
	{`{"data":{"results":[{"content":[{"text":1}]}]}}`, false},
	{`{"data":{"created_at":"yesterday"}}`, false},
	{`{"data":{"created_at":1736905583}}`, false},
	{`{"data":"run"}`, false},
	{`{"data":[1]}`, false},
	{`[]`, false},
	{`null`, false},
	{``, false},
	{`{"data":{"id":"r1"}} {}`, false},
	{`{"data":{"id":"r1",}}`, false},
	{`{"data":{"results":[{"role":"user"},]}}`, false},
	{`{"data":{"id":"r1"}`, false},
	{`{"data":{"id":"a` + "\x01" + `"}}`, false},
	{`<html>502</html>`, false},
}

// runFixtures returns the real agent-run bodies of testdata/platform.
func runFixtures(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "platform", "agent_run_*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	out := map[string][]byte{}
	for _, name := range files {
		body, err := os.ReadFile(name)
		require.NoError(t, err)
		out[filepath.Base(name)] = body
	}
	return out
}

// checkRunBody decodes body both ways, as one run and as a list of runs,
// and fails if the one-pass decoder took it and gave anything but what
// encoding/json gives. It reports whether the decoder took it as a run.
func checkRunBody(t testing.TB, body []byte) (handled bool) {
	t.Helper()
	var wantOne, gotOne envelope[*AgentRun]
	wantErr := json.Unmarshal(body, &wantOne)
	if handled = gotOne.decodeBody(body); handled {
		if wantErr != nil || !reflect.DeepEqual(wantOne, gotOne) {
			require.NoError(t, wantErr, "the decoder took a body encoding/json rejects: %q", body)
			require.Equal(t, wantOne, gotOne, "%q", body)
		}
	} else if gotOne.Data != nil {
		t.Fatalf("the decoder left %q to encoding/json but changed the result", body)
	}

	var wantList, gotList envelope[[]*AgentRun]
	wantErr = json.Unmarshal(body, &wantList)
	if gotList.decodeBody(body) {
		if wantErr != nil || !reflect.DeepEqual(wantList, gotList) {
			require.NoError(t, wantErr, "the decoder took a list body encoding/json rejects: %q", body)
			require.Equal(t, wantList, gotList, "%q", body)
		}
	}
	return handled
}

func TestRunBodiesMatchEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, tt := range runBodies {
		handled := checkRunBody(t, []byte(tt.body))
		if !strings.Contains(tt.body, `"data":[`) {
			assert.Equal(t, tt.handled, handled, "decoded in one pass: %q", tt.body)
		}
	}
	for _, tt := range runBodies {
		if strings.Contains(tt.body, `"data":[`) {
			var list envelope[[]*AgentRun]
			assert.Equal(t, tt.handled, list.decodeBody([]byte(tt.body)), "list decoded in one pass: %q", tt.body)
		}
	}
}

// TestRunBodyNestingLimit nests tool-call arguments to either side of
// encoding/json's depth limit, in a run and in a list of runs.
func TestRunBodyNestingLimit(t *testing.T) {
	t.Parallel()
	for _, list := range []bool{false, true} {
		head, tail := `{"data":{"results":[{"content":[{"args":`, `}]}]}}`
		if list {
			head, tail = `{"data":[{"results":[{"content":[{"args":`, `}]}]}]}`
		}
		outer := strings.Count(head, "{") + strings.Count(head, "[")
		for _, depth := range []int{jsonscan.MaxDepth - 1, jsonscan.MaxDepth, jsonscan.MaxDepth + 1} {
			k := depth - outer
			body := []byte(head + strings.Repeat("[", k) + strings.Repeat("]", k) + tail)
			require.Equal(t, depth <= jsonscan.MaxDepth, json.Valid(body), "depth %d", depth)
			checkRunBody(t, body)
			var one envelope[*AgentRun]
			var many envelope[[]*AgentRun]
			assert.Equal(t, json.Valid(body), one.decodeBody(body) || many.decodeBody(body), "depth %d, list %v", depth, list)
		}
	}
}

// TestRunFixturesDecodeInOnePass: the real runs take the one-pass road
// (the out-of-execs run has a trailing comma, so it is repaired by
// encoding/json's road), as one run and in a list, and get what
// encoding/json gets.
func TestRunFixturesDecodeInOnePass(t *testing.T) {
	t.Parallel()
	var list [][]byte
	for name, body := range runFixtures(t) {
		handled := checkRunBody(t, body)
		if json.Valid(body) {
			assert.True(t, handled, "%s decoded in one pass", name)
			var env struct{ Data json.RawMessage }
			require.NoError(t, json.Unmarshal(body, &env))
			list = append(list, env.Data)
		} else {
			assert.False(t, handled, "%s is not JSON", name)
		}
	}
	body := append(append([]byte(`{"data":[`), bytes.Join(list, []byte(",\n"))...), "]}"...)
	checkRunBody(t, body)
	var runs envelope[[]*AgentRun]
	require.True(t, runs.decodeBody(body), "a list of the runs decodes in one pass")
	require.Len(t, runs.Data, len(list))
}

// TestRunStringsDoNotPinTheBody: keeping a piece of a large run does not
// keep the whole body alive. Its short strings are copies; its raw values
// point into their own message's Raw (a copy, as encoding/json makes), and
// cannot be appended to over the rest of it.
func TestRunStringsDoNotPinTheBody(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("x", 64<<10)
	body := []byte(`{"data":{"id":"r1","status":"completed","results":[` +
		`{"role":"tool","content":[{"type":"tool-result","toolCallId":"c1","result":"` + huge + `"}]},` +
		`{"role":"assistant","content":[{"type":"tool-call","toolCallId":"c2","args":{"q":1},"input":2}]},` +
		`{"role":"assistant","content":{"type":"tool-call","toolCallId":"c3","input":{"q":3},"output":[4]}}]}}`)
	var env envelope[*AgentRun]
	require.True(t, env.decodeBody(body))
	in := func(p *byte, mem []byte) bool {
		return uintptr(unsafe.Pointer(p))-uintptr(unsafe.Pointer(unsafe.SliceData(mem))) < uintptr(len(mem))
	}
	run := env.Data
	assert.Equal(t, "completed", string(run.Status))
	assert.False(t, in(unsafe.StringData(string(run.Status)), body), "a large body's short strings are copies")
	for _, m := range run.Results {
		assert.False(t, in(unsafe.SliceData(m.Raw), body), "Raw is a copy, as encoding/json makes")
		part := m.Content[0]
		assert.False(t, in(unsafe.StringData(part.ToolCallID), body))
		for _, raw := range []json.RawMessage{part.Args, part.Result} {
			if raw == nil {
				continue
			}
			assert.True(t, in(unsafe.SliceData(raw), m.Raw), "%.20s: raw values point into their message's Raw", raw)
			assert.Equal(t, len(raw), cap(raw), "%.20s: appending cannot write over the rest of Raw", raw)
		}
	}
	assert.Equal(t, `{"q":1}`, string(run.Results[1].Content[0].Args))
	assert.Equal(t, `{"q":3}`, string(run.Results[2].Content[0].Args))
	assert.Equal(t, `[4]`, string(run.Results[2].Content[0].Result))
}

// FuzzRunBody holds the one-pass run decoder to encoding/json on any
// body: whatever it decodes, encoding/json decodes the same, and what it
// leaves, it leaves untouched.
func FuzzRunBody(f *testing.F) {
	for _, tt := range runBodies {
		f.Add([]byte(tt.body))
	}
	for _, body := range runFixtures(f) {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkRunBody(t, body)
	})
}
