// Command agentrun starts an agent from a Prompt Studio chat, follows the
// run to the end, shows the tools the agent called and its answer, then
// adds a message to the finished run and reads the reply.
//
//	go run ./examples/agentrun                                  # the built-in fake Toolhouse
//	TOOLHOUSE_API_KEY=th-... go run ./examples/agentrun -chat <chat ID>
package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/toolhouseai/toolhouse-go"
	"github.com/toolhouseai/toolhouse-go/examples/internal/demo"
)

func main() { demo.Main(demo.Chat, 15*time.Minute, agentRun) }

func agentRun(ctx context.Context, ids demo.IDs) error {
	client, err := toolhouse.NewClient() // key from TOOLHOUSE_API_KEY or ~/.toolhouse
	if err != nil {
		return err
	}
	chatID := ids.ChatID

	run, err := client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{
		ChatID: chatID,
		Vars:   map[string]string{"city": "Rome"},
	})
	if err != nil {
		return err
	}
	fmt.Printf("run %s is %s\n", run.ID, run.Status)
	run, err = client.AgentRuns.Wait(ctx, run.ID, &toolhouse.PollOptions{MaxWait: 5 * time.Minute})
	if errors.Is(err, toolhouse.ErrRunFailed) {
		return fmt.Errorf("the agent could not finish: %w", err) // carries the run's error text
	}
	if err != nil {
		return err
	}
	for _, m := range run.Results {
		for _, p := range m.Content {
			if p.Type == toolhouse.PartToolCall {
				fmt.Printf("%s called %s(%s)\n", m.Role, p.ToolName, p.Args)
			}
		}
	}
	fmt.Printf("run %s is %s: %s\n", run.ID, run.Status, run.LastAgentMessage)
	// Add a message to a completed run; it is queued again with its history.
	_, err = client.AgentRuns.Continue(ctx, run.ID, "Perfect, thank you!")
	if err != nil {
		return err
	}

	run, err = client.AgentRuns.Wait(ctx, run.ID, &toolhouse.PollOptions{MaxWait: 5 * time.Minute})
	if err != nil {
		return err
	}
	fmt.Printf("reply after %d messages: %s\n", len(run.Results), run.LastAgentMessage)
	return nil
}
