package toolhousetest

import (
	"encoding/json"
	"fmt"
	"strings"
)

// OutOfExecsMessage is the error text of a run whose account has no
// Toolhouse Execs left, verbatim from the platform (typo included).
const OutOfExecsMessage = "You ran out of Toolhouse Execs. Please top up your balance at https://app.toolohuse.ai/billing."

// stepKind says what a Step does.
type stepKind int

const (
	stepSay stepKind = iota + 1
	stepTool
	stepJob
	stepFail
	stepOutOfExecs
)

// Step is one piece of a scripted answer. Build steps with Say, CallTool,
// StartJob, Fail and OutOfExecs.
type Step struct {
	kind   stepKind
	text   string
	tool   string
	args   json.RawMessage
	result json.RawMessage
	polls  int
}

// Turn is the whole answer to one message: the steps run in order.
type Turn []Step

// Say is text the agent writes. Streams deliver it in word-sized pieces.
func Say(text string) Step { return Step{kind: stepSay, text: text} }

// CallTool is a tool call and its result: a "tool-call" part with args and
// a "tool-result" part with result, both JSON-encoded. The server numbers
// the calls it plays, so the toolCallIds of a server are "toolu_0001",
// "toolu_0002" and so on. CallTool panics when args
// or result cannot be encoded, which is a mistake in the test's script.
func CallTool(name string, args, result any) Step {
	return Step{kind: stepTool, tool: name, args: mustJSON("args", args), result: mustJSON("result", result)}
}

// StartJob makes the answer start a background job, as the Virtual Computer
// tool does: the response carries x-toolhouse-job-id, the run's GET carries
// it while the job runs, and a PUT on the run answers 409 until it ends.
//
// With polls > 0 the job ends by itself after that many GETs of the run
// have seen it (no timers involved); with polls <= 0 it runs until
// Server.FinishJob ends it. A Turn starts at most one job. On agent runs
// (the platform API) the step does nothing.
func StartJob(polls int) Step { return Step{kind: stepJob, polls: polls} }

// Fail ends the answer with an error. A worker's NDJSON stream gets an
// {"type":"error","error":message} line instead of its finish line (its
// text stream just ends); an agent run ends with status "failed", its
// error field set and an {"error": message} entry in its results.
func Fail(message string) Step { return Step{kind: stepFail, text: message} }

// OutOfExecs ends the answer the way the platform does when the account has
// no Execs left: an agent run ends "completed" with an
// {"error": OutOfExecsMessage} entry as its only new result, which the SDK
// must treat as a failure. On a worker it acts like Fail(OutOfExecsMessage).
func OutOfExecs() Step { return Step{kind: stepOutOfExecs, text: OutOfExecsMessage} }

func mustJSON(what string, v any) json.RawMessage {
	if v == nil {
		if what == "args" {
			return json.RawMessage(`{}`)
		}
		return json.RawMessage(`null`)
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("toolhousetest: CallTool %s: %v", what, err))
	}
	return b
}

// Agent is a worker on the Workers API, answering at /{ID}.
type Agent struct {
	// ID is the agent's path segment; real agents have UUIDs.
	ID string
	// Private agents need the server's API key as a Bearer token (401
	// otherwise); public ones need none and ignore any key sent.
	Private bool
	// DefaultMessage is the user message recorded when a POST carries no
	// message.
	DefaultMessage string
	// Turns answers the messages of each run in order: Turns[0] the POST,
	// Turns[1] the first PUT (including the empty resume PUT after a job),
	// and so on. After the last one the agent echoes: "You said: <message>"
	// ("OK." for an empty message).
	Turns []Turn
}

// Chat is a Prompt Studio chat that agent runs and schedules refer to by
// ID. Only registered chats are accepted: others get 403, as on the real
// platform.
type Chat struct {
	// ID must be a UUID, as the platform requires.
	ID string
	// Prompt is the user message that opens every run's results.
	Prompt string
	// Turns answers the run's messages in order: Turns[0] the prompt,
	// Turns[1] the first AgentRuns.Continue message, and so on. After the
	// last one the agent echoes: "You said: <message>".
	Turns []Turn
}

// validateTurns panics on a script that could never be served; NewServer
// calls it, so a broken test fails at once with a clear message.
func validateTurns(owner string, turns []Turn) {
	for i, t := range turns {
		jobs := 0
		for _, st := range t {
			if st.kind == 0 {
				panic(fmt.Sprintf("toolhousetest: %s turn %d has a zero Step; build steps with Say, CallTool, StartJob, Fail or OutOfExecs", owner, i))
			}
			if st.kind == stepJob {
				jobs++
			}
		}
		if jobs > 1 {
			panic(fmt.Sprintf("toolhousetest: %s turn %d starts %d jobs; a turn starts at most one", owner, i, jobs))
		}
	}
}

// turnFor returns the scripted answer number i, or the echo answer.
func turnFor(turns []Turn, i int, message string) Turn {
	if i < len(turns) {
		return turns[i]
	}
	if strings.TrimSpace(message) == "" {
		return Turn{Say("OK.")}
	}
	return Turn{Say("You said: " + message)}
}

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
	failure    string        // set by Fail or OutOfExecs
	outOfExecs bool
	jobPolls   int
	startsJob  bool
}

// play runs a turn: user is the message it answers (not recorded when
// empty, like the resume PUT of a job).
func play(t Turn, user string, newID func() string) answer {
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
loop:
	for _, st := range t {
		switch st.kind {
		case stepSay:
			parts = append(parts, wirePart{Type: "text", Text: st.text})
			a.lastText = st.text
			for _, c := range chunks(st.text) {
				a.events = append(a.events, event{kind: stepSay, text: c})
			}
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
			a.startsJob, a.jobPolls = true, st.polls
		case stepFail, stepOutOfExecs:
			a.failure, a.outOfExecs = st.text, st.kind == stepOutOfExecs
			a.events = append(a.events, event{kind: stepFail, text: st.text})
			break loop
		}
	}
	flush()
	return a
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
