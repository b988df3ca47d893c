// Command worker-stream calls a deployed agent (a worker) and prints its
// answer as it arrives: the text, and each tool call with its arguments and
// result. With -text it reads the plain text stream instead, which has no
// tool calls.
//
//	go run ./examples/worker-stream                            # the built-in fake Toolhouse
//	TOOLHOUSE_API_KEY=th-... go run ./examples/worker-stream -agent <agent ID>
//
// An answer may hand work to a background job; this example only reports
// the job. examples/background-job follows one to the end.
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

var textOnly = flag.Bool("text", false, "read the plain text stream (Workers.Run) instead of the events")

func main() { demo.Main(demo.Agent, 5*time.Minute, workerStream) }

func workerStream(ctx context.Context, ids demo.IDs) error {
	client, err := toolhouse.NewClient() // key from TOOLHOUSE_API_KEY or ~/.toolhouse
	if err != nil {
		return err
	}
	if *textOnly {
		return text(ctx, client, ids.AgentID)
	}
	return events(ctx, client, ids.AgentID)
}

// events prints the NDJSON events of an answer as they arrive.
func events(ctx context.Context, client *toolhouse.Client, agentID string) error {
	stream, err := client.Workers.Stream(ctx, agentID, toolhouse.WorkerRunParams{Message: "Chart the heart rates of three birds"})
	if err != nil {
		return err
	}
	defer stream.Close()
	for ev, err := range stream.All() {
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
	fmt.Printf("\nrun %s", stream.RunID())
	if job := stream.JobID(); job != "" {
		fmt.Printf(", background job %s still running", job)
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
	defer text.Close()
	fmt.Println("run:", text.RunID()) // known before the body is read
	if _, err := io.Copy(os.Stdout, text); err != nil {
		return err
	}
	if job := text.JobID(); job != "" {
		fmt.Printf("\nbackground job %s still running", job)
	}
	fmt.Println()
	return nil
}
