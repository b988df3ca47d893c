// Command worker-stream calls a deployed agent (a worker) and prints its
// answer: by default as it arrives, the text and each tool call with its
// arguments and result; with -text as plain text, which has no tool calls;
// with -collect all at once, when it is complete.
//
//	go run ./examples/worker-stream                            # the built-in fake Toolhouse
//	TOOLHOUSE_API_KEY=th-... go run ./examples/worker-stream -agent <agent ID>
//
// An answer may hand work to a background job (Virtual Computer, code
// interpreter) and go on once the job is done. Every mode here reads the
// answer to its end: -collect through a Conversation, which follows jobs by
// itself, the other two by waiting for the job and resuming the run.
// examples/background-job shows that wait at length.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/toolhouseai/toolhouse-go"
	"github.com/toolhouseai/toolhouse-go/examples/internal/demo"
)

var (
	textOnly = flag.Bool("text", false, "read the plain text stream (Workers.Run) instead of the events")
	collect  = flag.Bool("collect", false, "read the whole answer at once (Conversation.Send, then Collect)")
)

func main() { demo.Main(demo.Agent, 5*time.Minute, workerStream) }

func workerStream(ctx context.Context, ids demo.IDs) error {
	client, err := toolhouse.NewClient() // key from TOOLHOUSE_API_KEY or ~/.toolhouse
	if err != nil {
		return err
	}
	switch {
	case *textOnly:
		return text(ctx, client, ids.AgentID)
	case *collect:
		return whole(ctx, client, ids.AgentID)
	}
	return events(ctx, client, ids.AgentID)
}

// whole prints the answer once it is complete, background jobs included.
func whole(ctx context.Context, client *toolhouse.Client, agentID string) error {
	conv := client.Workers.Conversation(agentID)
	stream, err := conv.Send(ctx, "Chart the heart rates of three birds")
	if err != nil {
		return err
	}
	answer, err := stream.Collect() // reads to the end, following background jobs, and closes the stream
	if err != nil {
		return err
	}
	fmt.Println(answer.Text)
	for _, call := range answer.ToolCalls {
		fmt.Printf("[%s(%s) returned %s]\n", call.Name, call.Args, call.Result)
	}
	return nil
}

// events prints the NDJSON events of an answer as they arrive.
func events(ctx context.Context, client *toolhouse.Client, agentID string) error {
	stream, err := client.Workers.Stream(ctx, agentID, toolhouse.WorkerRunParams{Message: "Chart the heart rates of three birds"})
	if err != nil {
		return err
	}
	for {
		for ev, err := range stream.All() { // All closes the stream when the loop ends
			if err != nil {
				return err
			}
			switch ev.Type {
			case toolhouse.EventTextDelta:
				fmt.Print(ev.Text)
			case toolhouse.EventToolCall:
				fmt.Printf("\n[%s %s]\n", ev.ToolName, ev.Args)
			case toolhouse.EventToolResult:
				fmt.Printf("[%s returned %s]\n", ev.ToolName, ev.Result)
			case toolhouse.EventError:
				return errors.New(ev.Error)
			}
		}
		if stream.JobID() == "" {
			break // the answer is complete
		}
		// A background job has the rest of the answer: wait for it, then
		// resume the run with an empty message.
		fmt.Printf("\n(background job %s running…)\n", stream.JobID())
		if _, err := client.Workers.WaitForJob(ctx, agentID, stream.RunID(), nil); err != nil {
			return err
		}
		if stream, err = client.Workers.ContinueStream(ctx, agentID, stream.RunID(), ""); err != nil {
			return err
		}
	}
	fmt.Println()
	return nil
}

// text prints an answer as plain text, as it arrives.
func text(ctx context.Context, client *toolhouse.Client, agentID string) error {
	text, err := client.Workers.Run(ctx, agentID, toolhouse.WorkerRunParams{Message: "Chart the heart rates of three birds"})
	if err != nil {
		return err
	}
	fmt.Println("run:", text.RunID()) // known before the body is read
	for {
		_, err := io.Copy(os.Stdout, text)
		text.Close()
		if err != nil {
			return err
		}
		if text.JobID() == "" {
			break // the answer is complete
		}
		// A background job has the rest of the answer: wait for it, then
		// resume the run with an empty message.
		fmt.Printf("\n(background job %s running…)\n", text.JobID())
		if _, err := client.Workers.WaitForJob(ctx, agentID, text.RunID(), nil); err != nil {
			return err
		}
		if text, err = client.Workers.Continue(ctx, agentID, text.RunID(), ""); err != nil {
			return err
		}
	}
	fmt.Println()
	return nil
}
