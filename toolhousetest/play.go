package toolhousetest

import (
	"encoding/json"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// wireMessage is a history or results entry as the servers send it.
type wireMessage struct {
	Role    string `json:"role,omitempty"`
	Content any    `json:"content,omitempty"` // a string (user) or []wirePart
	Error   string `json:"error,omitempty"`
}

// wirePart is a message part in the Vercel AI SDK shape.
type wirePart struct {
	Type       string          `json:"type"`
	Text       string          `json:"text,omitempty"`
	ToolName   string          `json:"toolName,omitempty"`
	ToolCallID string          `json:"toolCallId,omitempty"`
	Args       json.RawMessage `json:"args,omitempty"`
	Result     json.RawMessage `json:"result,omitempty"`
}

// event is one piece of a streamed answer.
type event struct {
	kind       stepKind // stepSay (one chunk), stepTool (call, then result), stepFail
	text       string
	tool, id   string
	args, res  json.RawMessage
	isToolCall bool // for stepTool: the call line (else the result line)
}

// answer is a Turn played out: what to stream and what to record.
type answer struct {
	events     []event
	messages   []wireMessage // the history entries, user message first
	lastText   string        // the last assistant text, for last_agent_message
	tail       string        // the last text streamed, which a resumed answer joins
	failure    string        // set by Fail or OutOfExecs
	outOfExecs bool
	startsJob  bool
	jobTime    time.Duration // for startsJob: a duration, jobServerTime or jobUntilDone
}

// play runs a turn. user is the message it answers (not recorded when
// empty, like the resume PUT of a job); prev is the text the answer goes
// on from (the text before a job, for the resume), so that its first text
// is joined to it as a writer would.
func play(t Turn, user, prev string, newID func() string) answer {
	var a answer
	if user != "" {
		a.messages = append(a.messages, wireMessage{Role: "user", Content: user})
	}
	var parts []wirePart
	flush := func() {
		if len(parts) > 0 {
			a.messages = append(a.messages, wireMessage{Role: "assistant", Content: parts})
			parts = nil
		}
	}
	streamed := prev
loop:
	for _, st := range t {
		switch st.kind {
		case stepSay:
			if st.text == "" {
				continue
			}
			pieces := chunks(st.text)
			pieces[0] = separator(streamed, st.text) + pieces[0]
			for _, c := range pieces {
				a.events = append(a.events, event{kind: stepSay, text: c})
			}
			streamed, a.tail = st.text, st.text
			// Text after text is one part, as a model writes one text
			// block until it calls a tool.
			if n := len(parts); n > 0 && parts[n-1].Type == "text" {
				parts[n-1].Text += separator(parts[n-1].Text, st.text) + st.text
			} else {
				parts = append(parts, wirePart{Type: "text", Text: st.text})
			}
			a.lastText = parts[len(parts)-1].Text
		case stepTool:
			id := newID()
			parts = append(parts, wirePart{Type: "tool-call", ToolName: st.tool, ToolCallID: id, Args: st.args})
			flush()
			a.messages = append(a.messages, wireMessage{Role: "tool", Content: []wirePart{
				{Type: "tool-result", ToolName: st.tool, ToolCallID: id, Result: st.result},
			}})
			a.events = append(a.events,
				event{kind: stepTool, tool: st.tool, id: id, args: st.args, isToolCall: true},
				event{kind: stepTool, tool: st.tool, id: id, res: st.result})
		case stepJob:
			a.startsJob, a.jobTime = true, st.jobTime
		case stepFail, stepOutOfExecs:
			a.failure, a.outOfExecs = st.text, st.kind == stepOutOfExecs
			a.events = append(a.events, event{kind: stepFail, text: st.text})
			break loop
		}
	}
	flush()
	return a
}

// separator is what goes between text already written and the text that
// follows it: a space, unless one side has white space at the seam or the
// new text opens with punctuation that hugs the word before it.
func separator(prev, next string) string {
	if prev == "" || next == "" {
		return ""
	}
	last, _ := utf8.DecodeLastRuneInString(prev)
	first, _ := utf8.DecodeRuneInString(next)
	if unicode.IsSpace(last) || unicode.IsSpace(first) ||
		strings.ContainsRune("([{“‘", last) || strings.ContainsRune(".,;:!?)]}…”’", first) {
		return ""
	}
	return " "
}

// endsSentence reports whether text stops at the end of a sentence or a
// line, after which a resumed answer starts afresh, as a model writes a new
// message.
func endsSentence(text string) bool {
	last, _ := utf8.DecodeLastRuneInString(text)
	return strings.ContainsRune(".!?…:\n", last)
}

// chunks splits text into word-sized pieces, each keeping the spaces that
// follow it, so that joined they give the text back.
func chunks(text string) []string {
	var out []string
	for len(text) > 0 {
		i := strings.IndexByte(text, ' ')
		if i < 0 {
			out = append(out, text)
			break
		}
		j := i
		for j < len(text) && text[j] == ' ' {
			j++
		}
		out = append(out, text[:j])
		text = text[j:]
	}
	return out
}
