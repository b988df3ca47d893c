package toolhouse

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTimestampUnmarshal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Time
	}{
		{`"2025-01-15T01:46:23.568338"`, time.Date(2025, 1, 15, 1, 46, 23, 568338000, time.UTC)},
		{`"2025-01-15T01:46:23"`, time.Date(2025, 1, 15, 1, 46, 23, 0, time.UTC)},
		{`"2025-01-15 01:46:23.5"`, time.Date(2025, 1, 15, 1, 46, 23, 500000000, time.UTC)},
		{`"2025-01-15T01:46:23Z"`, time.Date(2025, 1, 15, 1, 46, 23, 0, time.UTC)},
		{`"2025-01-15T01:46:23.123456789Z"`, time.Date(2025, 1, 15, 1, 46, 23, 123456789, time.UTC)},
		{`"2025-01-15T03:46:23+02:00"`, time.Date(2025, 1, 15, 1, 46, 23, 0, time.UTC)},
		{`"2025-01-15 03:46:23+02:00"`, time.Date(2025, 1, 15, 1, 46, 23, 0, time.UTC)},
		{`null`, time.Time{}},
		{`""`, time.Time{}},
	}
	for _, tt := range tests[:3] {
		var ts Timestamp
		require.NoError(t, json.Unmarshal([]byte(tt.in), &ts))
		assert.Equal(t, time.UTC, ts.Location(), "zone-less %s is read as UTC", tt.in)
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			ts := Timestamp{time.Now()} // decoding overwrites what was there
			require.NoError(t, json.Unmarshal([]byte(tt.in), &ts))
			assert.True(t, tt.want.Equal(ts.Time), "got %s", ts.Time)
		})
	}
}

func TestTimestampUnmarshalErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`"garbage"`, `"2025-13-45T99:00:00"`, `"15/01/2025"`, `12345`, `true`, `{}`} {
		var ts Timestamp
		err := json.Unmarshal([]byte(in), &ts)
		assert.Error(t, err, in)
		if err != nil {
			assert.Contains(t, err.Error(), "timestamp", in)
		}
	}
}

func TestTimestampInAStruct(t *testing.T) {
	t.Parallel()
	var s Schedule
	require.NoError(t, json.Unmarshal([]byte(`{"created_at":"2025-01-15T01:46:23.568338","last_ran_at":null}`), &s))
	assert.Equal(t, time.Date(2025, 1, 15, 1, 46, 23, 568338000, time.UTC), s.CreatedAt.Time)
	assert.True(t, s.LastRanAt.IsZero())
	assert.True(t, s.UpdatedAt.IsZero())
}

func TestTimestampMarshal(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(Timestamp{time.Date(2025, 1, 15, 1, 46, 23, 568338000, time.UTC)})
	require.NoError(t, err)
	assert.Equal(t, `"2025-01-15T01:46:23.568338Z"`, string(b))

	b, err = json.Marshal(Timestamp{})
	require.NoError(t, err)
	assert.Equal(t, `null`, string(b))

	var back Timestamp
	require.NoError(t, json.Unmarshal([]byte(`"2025-01-15T01:46:23.568338Z"`), &back))
	assert.Equal(t, time.Date(2025, 1, 15, 1, 46, 23, 568338000, time.UTC), back.UTC())
}

func TestMessageUnmarshal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want Message
		text string
	}{
		{
			name: "string content",
			in:   `{"role":"user","content":"Hello"}`,
			want: Message{Role: "user", Content: []Part{{Type: "text", Text: "Hello"}}},
			text: "Hello",
		},
		{
			name: "parts",
			in: `{"role":"assistant","content":[{"type":"text","text":"Let me look. "},` +
				`{"type":"tool-call","toolName":"web_search","toolCallId":"c1","args":{"q":"x"}},` +
				`{"type":"text","text":"Done."}]}`,
			want: Message{Role: "assistant", Content: []Part{
				{Type: "text", Text: "Let me look. "},
				{Type: "tool-call", ToolName: "web_search", ToolCallID: "c1", Args: json.RawMessage(`{"q":"x"}`)},
				{Type: "text", Text: "Done."},
			}},
			text: "Let me look. Done.",
		},
		{
			name: "tool result",
			in:   `{"role":"tool","content":[{"type":"tool-result","toolName":"web_search","toolCallId":"c1","result":[1,2]}]}`,
			want: Message{Role: "tool", Content: []Part{{Type: "tool-result", ToolName: "web_search", ToolCallID: "c1", Result: json.RawMessage(`[1,2]`)}}},
		},
		{
			name: "newer spellings input and output",
			in:   `{"role":"assistant","content":[{"type":"tool-call","toolCallId":"c","input":{"a":1}},{"type":"tool-result","toolCallId":"c","output":"ok"}]}`,
			want: Message{Role: "assistant", Content: []Part{
				{Type: "tool-call", ToolCallID: "c", Args: json.RawMessage(`{"a":1}`)},
				{Type: "tool-result", ToolCallID: "c", Result: json.RawMessage(`"ok"`)},
			}},
		},
		{
			name: "error entry",
			in:   `{"error": "You ran out of Toolhouse Execs."}`,
			want: Message{Error: "You ran out of Toolhouse Execs."},
		},
		{
			name: "error object",
			in:   `{"error": {"message": "rate limited"}}`,
			want: Message{Error: "rate limited"},
		},
		{
			name: "unknown part types are kept",
			in:   `{"role":"assistant","content":[{"type":"reasoning","text":"thinking…"},{"type":"file","data":"abc"}]}`,
			want: Message{Role: "assistant", Content: []Part{{Type: "reasoning", Text: "thinking…"}, {Type: "file"}}},
			text: "",
		},
		{
			name: "a lone non-text part gives no text",
			in:   `{"role":"assistant","content":[{"type":"reasoning","text":"hidden"}]}`,
			want: Message{Role: "assistant", Content: []Part{{Type: "reasoning", Text: "hidden"}}},
			text: "",
		},
		{
			name: "a single part object",
			in:   `{"role":"assistant","content":{"type":"text","text":"solo"}}`,
			want: Message{Role: "assistant", Content: []Part{{Type: "text", Text: "solo"}}},
			text: "solo",
		},
		{
			name: "null content",
			in:   `{"role":"assistant","content":null}`,
			want: Message{Role: "assistant"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Message
			require.NoError(t, json.Unmarshal([]byte(tt.in), &m))
			assert.JSONEq(t, tt.in, string(m.Raw), "Raw is the entry as received")
			m.Raw = nil
			assert.Equal(t, tt.want, m)
			assert.Equal(t, tt.text, m.Text())
		})
	}
}

func TestMessageUnmarshalErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`{"content": 42}`, `{"content": [1]}`, `"just a string"`, `{"content": "x`} {
		var m Message
		assert.Error(t, json.Unmarshal([]byte(in), &m), in)
	}
}

func TestMessageMarshal(t *testing.T) {
	t.Parallel()
	in := `{"role": "user", "content": "Hi"}`
	var m Message
	require.NoError(t, json.Unmarshal([]byte(in), &m))
	b, err := json.Marshal(m)
	require.NoError(t, err)
	assert.JSONEq(t, in, string(b), "a received message is written back as received")

	built := Message{Role: "assistant", Content: []Part{{Type: "text", Text: "a"}, {Type: "tool-call", ToolName: "t", ToolCallID: "c", Args: json.RawMessage(`{}`)}}}
	b, err = json.Marshal(built)
	require.NoError(t, err)
	assert.JSONEq(t, `{"role":"assistant","content":[{"type":"text","text":"a"},{"type":"tool-call","toolName":"t","toolCallId":"c","args":{}}]}`, string(b))

	var back Message
	require.NoError(t, json.Unmarshal(b, &back))
	back.Raw = nil
	assert.Equal(t, built, back)
}

func TestMessageTextEmpty(t *testing.T) {
	t.Parallel()
	assert.Empty(t, Message{}.Text())
	assert.Empty(t, Message{Error: "x"}.Text())
}

func TestTimestampErrorShowsServerTextEscaped(t *testing.T) {
	t.Parallel()
	var ts Timestamp
	err := ts.UnmarshalJSON([]byte("{\"at\":\"\u202e\x1b[2J\"}"))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "\u202e", "a bidi override would reorder the log line")
	assert.NotContains(t, err.Error(), "\x1b")
	assert.Contains(t, err.Error(), `\u202e\x1b[2J`)
}
