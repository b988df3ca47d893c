package toolhouse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Timestamp is a time from a Toolhouse response. It decodes RFC 3339 and
// the zone-less form the API sends ("2025-01-15T01:46:23.568338", read as
// UTC); null and "" decode as the zero time.
type Timestamp struct{ time.Time }

// zonelessLayout is what the platform API sends: microseconds, no zone.
const zonelessLayout = "2006-01-02T15:04:05.999999999"

// UnmarshalJSON implements json.Unmarshaler.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("toolhouse: timestamp %s is not a string", cleanText(truncate(string(b), 40)))
	}
	parsed, err := parseTimestamp(s)
	if err != nil {
		return err
	}
	t.Time = parsed
	return nil
}

// MarshalJSON writes RFC 3339 with nanoseconds, or null for the zero time.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(time.RFC3339Nano))
}

func parseTimestamp(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	// The space separator shows up in some Python serialisations.
	normal := strings.Replace(s, " ", "T", 1)
	if t, err := time.ParseInLocation(zonelessLayout, normal, time.UTC); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02T15:04:05.999999999Z07:00", normal); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("toolhouse: cannot parse timestamp %q", truncate(s, 40))
}

// The roles of a Message, for comparing with Message.Role without string
// literals.
const (
	RoleUser      = "user"      // what the user sent
	RoleAssistant = "assistant" // the agent's text and tool calls
	RoleTool      = "tool"      // the results of the agent's tool calls
)

// The types of a Part, for comparing with Part.Type without string
// literals. A server may send others (reasoning, files, ...); they are kept
// with their Type.
const (
	PartText       = "text"        // Part.Text
	PartToolCall   = "tool-call"   // Part.ToolName, ToolCallID and Args
	PartToolResult = "tool-result" // Part.ToolName, ToolCallID and Result
)

// Message is one entry of an agent run's results or of a worker's history.
type Message struct {
	Role string // RoleUser, RoleAssistant or RoleTool
	// Content holds the message's parts; a bare string content decodes to
	// one PartText part.
	Content []Part
	// Error is set for a results entry of the form {"error": "..."}, which
	// the platform records when a run could not proceed.
	Error string
	// Raw is the entry as received.
	Raw json.RawMessage
}

// Part is one piece of a message: text, a tool call, a tool result, or a
// type this SDK does not know yet (kept with its Type, and in Message.Raw).
type Part struct {
	Type       string // PartText, PartToolCall, PartToolResult, or anything else
	Text       string
	ToolName   string
	ToolCallID string
	Args       json.RawMessage // tool-call arguments ("args", or "input" in newer servers)
	Result     json.RawMessage // tool-result value ("result", or "output" in newer servers)
}

// Text returns the message's text parts, concatenated. Other parts (tool
// calls, reasoning, ...) are left out even when they carry text.
func (m Message) Text() string {
	var b strings.Builder
	for _, p := range m.Content {
		if p.Type == PartText {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// UnmarshalJSON implements json.Unmarshaler.
func (m *Message) UnmarshalJSON(b []byte) error {
	var wire struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
		Error   json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(b, &wire); err != nil {
		return err
	}
	*m = Message{Role: wire.Role, Raw: append(json.RawMessage(nil), b...)}
	m.Error = errorText(wire.Error)
	content := bytes.TrimSpace(wire.Content)
	if len(content) == 0 || string(content) == "null" {
		return nil
	}
	switch content[0] {
	case '"':
		var s string
		if err := json.Unmarshal(content, &s); err != nil {
			return err
		}
		m.Content = []Part{{Type: PartText, Text: s}}
		return nil
	case '[':
		// Decoded as partWire, not []Part: Part's own UnmarshalJSON would
		// scan each part's bytes once more, and results can be megabytes.
		var parts []partWire
		if err := json.Unmarshal(content, &parts); err != nil {
			return fmt.Errorf("toolhouse: message content: %w", err)
		}
		m.Content = make([]Part, len(parts))
		for i, w := range parts {
			m.Content[i] = w.part()
		}
		return nil
	case '{':
		// A lone part where a list was expected: keep it rather than fail
		// the whole run.
		var w partWire
		if err := json.Unmarshal(content, &w); err != nil {
			return fmt.Errorf("toolhouse: message content: %w", err)
		}
		m.Content = []Part{w.part()}
		return nil
	}
	return fmt.Errorf("toolhouse: message content is neither a string nor a list of parts: %s", cleanText(truncate(string(content), 40)))
}

// MarshalJSON writes the message back as received, or in the wire shape
// when it was built in code.
func (m Message) MarshalJSON() ([]byte, error) {
	if len(m.Raw) > 0 {
		return m.Raw, nil
	}
	type wire struct {
		Role    string `json:"role,omitempty"`
		Content []Part `json:"content,omitempty"`
		Error   string `json:"error,omitempty"`
	}
	return json.Marshal(wire{Role: m.Role, Content: m.Content, Error: m.Error})
}

// errorText reads an "error" value that is normally a string but may be an
// object with a message.
func errorText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if msg := messageFrom(raw); msg != "" {
		return msg
	}
	return string(raw)
}

// partWire holds both spellings of the Vercel AI SDK part fields.
type partWire struct {
	Type       string          `json:"type,omitempty"`
	Text       string          `json:"text,omitempty"`
	ToolName   string          `json:"toolName,omitempty"`
	ToolCallID string          `json:"toolCallId,omitempty"`
	Args       json.RawMessage `json:"args,omitempty"`
	Input      json.RawMessage `json:"input,omitempty"`
	Result     json.RawMessage `json:"result,omitempty"`
	Output     json.RawMessage `json:"output,omitempty"`
}

// part converts the wire shape, taking the newer spellings (input,
// output) when the older ones are absent.
func (w partWire) part() Part {
	p := Part{Type: w.Type, Text: w.Text, ToolName: w.ToolName, ToolCallID: w.ToolCallID, Args: w.Args, Result: w.Result}
	if p.Args == nil {
		p.Args = w.Input
	}
	if p.Result == nil {
		p.Result = w.Output
	}
	return p
}

// UnmarshalJSON implements json.Unmarshaler.
func (p *Part) UnmarshalJSON(b []byte) error {
	var w partWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*p = w.part()
	return nil
}

// MarshalJSON writes the part in the wire shape (Vercel AI SDK names).
func (p Part) MarshalJSON() ([]byte, error) {
	return json.Marshal(partWire{Type: p.Type, Text: p.Text, ToolName: p.ToolName, ToolCallID: p.ToolCallID, Args: p.Args, Result: p.Result})
}
