package toolhousetest

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
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

// jobTime values of a job Step that are not a duration.
const (
	jobServerTime time.Duration = -1 // StartJob: the server's WithJobTime
	jobUntilDone  time.Duration = 0  // StartJobFor(<= 0): until FinishJob
)

// Step is one piece of a scripted answer. Build steps with Say, CallTool,
// StartJob, StartJobFor, Fail and OutOfExecs.
type Step struct {
	kind    stepKind
	text    string
	tool    string
	args    json.RawMessage
	result  json.RawMessage
	jobTime time.Duration
	err     error // a CallTool whose args or result cannot be encoded
}

// Turn is the whole answer to one message: the steps run in order.
type Turn []Step

// Say is text the agent writes. Streams deliver it in word-sized pieces.
//
// Text that follows other text of the same answer, next to it or across a
// tool call or a StartJob step, is joined to it with a space where neither
// side has one, as a writer would: Say("Done") then Say("and done again")
// streams "Done and done again" (text opening with punctuation such as ","
// or "." gets no space), and consecutive Say steps are one text part in
// the history. The answer resumed after a background job continues the
// text before the job the same way when that text stopped mid-sentence;
// after a full stop, a question or exclamation mark, a colon or a line
// break it starts as written, as a new message of the model would.
func Say(text string) Step { return Step{kind: stepSay, text: text} }

// CallTool is a tool call and its result: a "tool-call" part with args and
// a "tool-result" part with result, both JSON-encoded without escaping
// "&", "<" and ">" (as the real services send them). A json.RawMessage is
// sent as it is, compacted. The server numbers the calls it plays, so the toolCallIds
// of a server are "toolu_0001", "toolu_0002" and so on. Arguments or a
// result that cannot be encoded are a mistake in the script, which Start
// reports.
func CallTool(name string, args, result any) Step {
	st := Step{kind: stepTool, tool: name}
	var err error
	if st.args, err = scriptJSON(args, `{}`); err != nil {
		st.err = fmt.Errorf("CallTool %q args: %w", name, err)
	} else if st.result, err = scriptJSON(result, `null`); err != nil {
		st.err = fmt.Errorf("CallTool %q result: %w", name, err)
	}
	return st
}

func scriptJSON(v any, ifNil string) (json.RawMessage, error) {
	if v == nil {
		return json.RawMessage(ifNil), nil
	}
	return encodeJSON(v)
}

// StartJob makes the answer start a background job, as the Virtual Computer
// tool does: the response carries x-toolhouse-job-id, the run's GET carries
// it while the job runs, and a PUT on the run answers 409 until it ends.
// The job runs for the server's job time (WithJobTime, DefaultJobTime
// unless set) on the server's clock (WithClock), and ends by itself: no
// one needs to poll for it. A Turn starts at most one job. On agent runs
// (the platform API) the step does nothing.
func StartJob() Step { return Step{kind: stepJob, jobTime: jobServerTime} }

// StartJobFor is StartJob with a duration of its own: the job runs for d on
// the server's clock. With d <= 0 it runs until Server.FinishJob ends it,
// for a test that decides the moment itself.
func StartJobFor(d time.Duration) Step {
	return Step{kind: stepJob, jobTime: max(d, jobUntilDone)}
}

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

// Agent is a worker on the Workers API, answering at /{ID}.
type Agent struct {
	// ID is the agent's path segment; real agents have UUIDs. An agent
	// whose ID is a UUID is also a chat for agent runs and schedules, and
	// a deployed agent on v1/agents.
	ID string
	// Title is the agent's title on v1/agents.
	Title string
	// Private agents need the server's API key as a Bearer token (401
	// otherwise); public ones need none and ignore any key sent.
	Private bool
	// DefaultMessage is the user message recorded when a POST carries no
	// message (or an empty one), the prompt of agent runs on the agent,
	// and its "prompt" on v1/agents.
	DefaultMessage string
	// Turns answers the messages of each run in order: Turns[0] the POST,
	// Turns[1] the first PUT (including the empty resume PUT after a job),
	// and so on. After the last one the agent echoes: "You said: <message>"
	// ("OK." for an empty message).
	Turns []Turn

	reply replyFunc // answers past Turns; the echo when nil
}

// Chat is a Prompt Studio chat that agent runs and schedules refer to by
// ID. Only registered chats (and agents) are accepted: others get 403, as
// on the real platform.
type Chat struct {
	// ID must be a UUID, as the platform requires.
	ID string
	// Prompt is the user message that opens every run's results.
	Prompt string
	// Turns answers the run's messages in order: Turns[0] the prompt,
	// Turns[1] the first AgentRuns.Continue message, and so on. After the
	// last one the agent echoes: "You said: <message>".
	Turns []Turn

	reply replyFunc
}

// replyFunc answers a message from the conversation so far (the messages
// before it, oldest first).
type replyFunc func(history []wireMessage, message string) Turn

// asChat is the chat an agent is to agent runs and schedules.
func (a Agent) asChat() Chat {
	return Chat{ID: a.ID, Prompt: a.DefaultMessage, Turns: a.Turns, reply: a.reply}
}

// checkTurns lists what makes a script impossible to serve; Start reports
// it, so a broken test fails at once with a clear message.
func checkTurns(owner string, turns []Turn) []error {
	var errs []error
	for i, t := range turns {
		jobs := 0
		for _, st := range t {
			switch {
			case st.kind == 0:
				errs = append(errs, fmt.Errorf("toolhousetest: %s turn %d has a zero Step; build steps with Say, CallTool, StartJob, Fail or OutOfExecs", owner, i))
			case st.err != nil:
				errs = append(errs, fmt.Errorf("toolhousetest: %s turn %d: %w", owner, i, st.err))
			case st.kind == stepJob:
				jobs++
			}
		}
		if jobs > 1 {
			errs = append(errs, fmt.Errorf("toolhousetest: %s turn %d starts %d jobs; a turn starts at most one", owner, i, jobs))
		}
	}
	return errs
}

// turnFor returns the answer number i to message: the scripted one, or
// past the script the reply (an echo when there is none).
func turnFor(turns []Turn, reply replyFunc, i int, history []wireMessage, message string) Turn {
	if i < len(turns) {
		return turns[i]
	}
	if reply != nil {
		return reply(history, message)
	}
	if strings.TrimSpace(message) == "" {
		return Turn{Say("OK.")}
	}
	return Turn{Say("You said: " + message)}
}
