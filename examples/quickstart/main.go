// Command quickstart is the tour of the SDK: an agent run followed to its
// answer, a schedule created, paused and deleted, and a conversation with a
// deployed agent whose answer is streamed while a background job runs.
//
//	go run ./examples/quickstart                               # the built-in fake Toolhouse, offline
//	TOOLHOUSE_API_KEY=th-... go run ./examples/quickstart -chat <chat ID> -agent <agent ID>
//
// The other examples show each part at length.
package main

import (
	"context"
	"fmt"
	"time"

	"github.com/toolhouseai/toolhouse-go"
	"github.com/toolhouseai/toolhouse-go/examples/internal/demo"
)

func main() { demo.Main(demo.Chat|demo.Agent, 20*time.Minute, tour) }

func tour(ctx context.Context, ids demo.IDs) error {
	chatID, agentID := ids.ChatID, ids.AgentID

	fmt.Println("\n== Agent run: chat", chatID)
	client, err := toolhouse.NewClient( // key from TOOLHOUSE_API_KEY or ~/.toolhouse
		// Look at runs and jobs after 0.2 s at first, not 1 s: this tour's are short.
		toolhouse.WithPollOptions(toolhouse.PollOptions{Interval: 200 * time.Millisecond}),
	)
	if err != nil {
		return err
	}
	run, err := client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{ChatID: chatID})
	if err != nil {
		return err
	}
	run, err = client.AgentRuns.Wait(ctx, run.ID, nil)
	if err != nil {
		return err
	}
	fmt.Println(run.Status, run.LastAgentMessage)

	runs, err := client.AgentRuns.List(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("your account has %d agent run(s)\n", len(runs))

	fmt.Println("\n== Schedule")
	if err := schedule(ctx, client, chatID); err != nil {
		return err
	}

	fmt.Println("\n== Conversation with agent", agentID)
	return conversation(ctx, client, agentID)
}

// schedule creates a schedule from plain text, pauses it and deletes it, so
// that it never fires.
func schedule(ctx context.Context, client *toolhouse.Client, chatID string) error {
	cron, err := client.Schedules.TextToCron(ctx, "weekdays at 9am")
	if err != nil {
		return err
	}
	sched, err := client.Schedules.Create(ctx, toolhouse.ScheduleCreateParams{ChatID: chatID, Cadence: cron})
	if err != nil {
		return err
	}
	fmt.Printf("\"weekdays at 9am\" is %q: schedule %s created\n", cron, sched.ID)
	if _, err := client.Schedules.Pause(ctx, sched.ID); err != nil {
		return err
	}
	fmt.Println("paused")
	if err := client.Schedules.Delete(ctx, sched.ID); err != nil {
		return err
	}
	fmt.Println("deleted")
	return nil
}

// conversation sends two messages to an agent and prints its answers as they
// arrive; the stream follows the agent's background jobs by itself.
func conversation(ctx context.Context, client *toolhouse.Client, agentID string) error {
	conv := client.Workers.Conversation(agentID)
	for _, msg := range []string{"Chart the heart rates of three birds", "Which one is the fastest?"} {
		fmt.Println(">", msg)
		stream, err := conv.Send(ctx, msg)
		if err != nil {
			return err
		}
		for ev, err := range stream.All() {
			if err != nil {
				return err
			}
			switch ev.Type {
			case toolhouse.EventTextDelta:
				fmt.Print(ev.Text)
			case toolhouse.EventToolCall:
				fmt.Printf("\n[%s]\n", ev.ToolName)
			case toolhouse.EventJobStarted:
				fmt.Printf("\n(job %s running…)\n", ev.JobID)
			case toolhouse.EventJobFinished:
				fmt.Println("(job done)")
			}
		}
		fmt.Println()
	}
	return nil
}
