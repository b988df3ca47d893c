package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/toolhouseai/toolhouse-go"
)

// runWorker streams a worker's answer: the text to stdout as it arrives
// (or every event as NDJSON with -json), and what happens around it to
// stderr: the run ID, tool calls, background jobs. Jobs are followed to
// the final answer.
func runWorker(ctx context.Context, c *toolhouse.Client, args []string, t *terminal) error {
	fs, asJSON := flags("run", t)
	runID := fs.String("run", "", "continue this run instead of starting a new one")
	v := vars{}
	fs.Var(v, "var", "NAME=VALUE for the agent's prompt (repeatable; new runs only)")
	bundle := fs.String("bundle", "", "the bundle of tools for a new run")
	pos, err := parse(fs, args, 1, -1, "AGENT [MESSAGE...]")
	if err != nil {
		return err
	}
	agentID, message := pos[0], strings.Join(pos[1:], " ")
	params := *bundle != "" || len(v) > 0 // what only Stream can send
	if *runID != "" && params {
		return usagef("-var and -bundle apply to a new run, not to -run %s", *runID)
	}
	if message == "-" {
		b, err := io.ReadAll(io.LimitReader(t.in, 1<<20))
		if err != nil {
			return fmt.Errorf("toolhouse: reading the message from stdin: %w", err)
		}
		message = strings.TrimRight(string(b), "\r\n")
	}

	p := &printer{t: t, asJSON: *asJSON}
	var stream *toolhouse.EventStream
	switch {
	case *runID != "":
		stream, err = c.Workers.ResumeConversation(agentID, *runID).Send(ctx, message)
	case params:
		// Conversation.Send carries a message only: variables and a bundle
		// go with Stream, and the run is followed from its ID once the
		// answer ends.
		stream, err = c.Workers.Stream(ctx, agentID, toolhouse.WorkerRunParams{Message: message, Vars: v.orNil(), Bundle: *bundle})
	default:
		stream, err = c.Workers.Conversation(agentID).Send(ctx, message)
	}
	if err != nil {
		return err
	}
	run := stream.RunID()
	fmt.Fprintf(t.err, "toolhouse: run %s\n", sanitize(run))
	job := stream.JobID()
	if err := p.answer(stream); err != nil {
		return err
	}
	if params && job != "" {
		if err := p.followJob(ctx, c, agentID, run, job); err != nil {
			return err
		}
	}
	if !p.asJSON && p.wrote && p.newlines == 0 && t.tty {
		fmt.Fprintln(t.out)
	}
	if run != "" {
		fmt.Fprintf(t.err, "toolhouse: continue with: toolhouse run -run %s %s MESSAGE\n", sanitize(run), sanitize(agentID))
	}
	return nil
}

// printer writes a worker's events.
type printer struct {
	t        *terminal
	asJSON   bool
	wrote    bool // some text is on stdout
	newlines int  // how many line breaks end the text so far
	afterJob bool // a job ended: the next text starts a paragraph
}

// followJob waits for the background job of a Stream's answer and resumes
// the run through a conversation, which follows any later job itself:
// what Conversation.Send does for a first message without variables.
func (p *printer) followJob(ctx context.Context, c *toolhouse.Client, agentID, runID, jobID string) error {
	if err := p.event(toolhouse.Event{Type: toolhouse.EventJobStarted, JobID: jobID}); err != nil {
		return err
	}
	if _, err := c.Workers.WaitForJob(ctx, agentID, runID, nil); err != nil {
		return err
	}
	if err := p.event(toolhouse.Event{Type: toolhouse.EventJobFinished, JobID: jobID}); err != nil {
		return err
	}
	next, err := c.Workers.ResumeConversation(agentID, runID).Send(ctx, "")
	if err != nil {
		return err
	}
	return p.answer(next)
}

// answer writes one stream to its end and closes it. An error event ends
// it with that error.
func (p *printer) answer(stream *toolhouse.EventStream) error {
	defer stream.Close()
	for stream.Next() {
		ev := stream.Current()
		if err := p.event(ev); err != nil {
			return err
		}
		if ev.Type == toolhouse.EventError {
			return fmt.Errorf("toolhouse: the agent reported an error: %s", sanitize(ev.Error))
		}
	}
	return stream.Err()
}

// event writes one event: the line itself with -json; otherwise the
// answer's text to stdout and a word on the rest to stderr.
func (p *printer) event(ev toolhouse.Event) error {
	if p.asJSON {
		line := []byte(ev.Raw)
		if len(line) == 0 { // an event of the SDK's own, such as a job's start
			line, _ = json.Marshal(struct {
				Type  string `json:"type"`
				JobID string `json:"jobId,omitempty"`
			}{ev.Type, ev.JobID})
		}
		_, err := p.t.out.Write(p.t.json(append(line[:len(line):len(line)], '\n')))
		return err
	}
	switch ev.Type {
	case toolhouse.EventTextDelta:
		if ev.Text == "" {
			return nil
		}
		text := ev.Text
		if p.t.tty {
			text = sanitizeText(text)
		}
		if p.afterJob && p.wrote {
			// As Collect does: a blank line between the answer before the
			// job and the one after, counting the breaks already there.
			breaks := p.newlines + len(text) - len(strings.TrimLeft(text, "\n"))
			text = strings.Repeat("\n", max(0, 2-breaks)) + text
		}
		p.afterJob = false
		if trimmed := strings.TrimRight(text, "\n"); trimmed == "" {
			p.newlines += len(text)
		} else {
			p.newlines = len(text) - len(trimmed)
		}
		p.wrote = true
		_, err := io.WriteString(p.t.out, text)
		return err
	case toolhouse.EventToolCall:
		fmt.Fprintf(p.t.err, "toolhouse: calling %s\n", sanitize(ev.ToolName))
	case toolhouse.EventJobStarted:
		fmt.Fprintf(p.t.err, "toolhouse: background job %s is running; waiting for it...\n", sanitize(ev.JobID))
	case toolhouse.EventJobFinished:
		p.afterJob = true
		fmt.Fprintf(p.t.err, "toolhouse: background job %s finished; the answer goes on\n", sanitize(ev.JobID))
	}
	return nil
}
