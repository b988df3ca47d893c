// Command background-job follows a worker's background job to the end by
// hand: it streams the answer that starts the job, shows the job's progress
// while WaitForJob polls the run, resumes the run when the job is done and
// streams the rest of the answer. Conversation does the same by itself (see
// examples/quickstart); this is the control it gives you underneath, for a
// progress display of your own or to pick a wait up in another process: the
// agent and run IDs are all the state there is.
//
//	go run ./examples/background-job                            # the built-in fake Toolhouse
//	TOOLHOUSE_API_KEY=th-... go run ./examples/background-job -agent <agent ID>
package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/toolhouseai/toolhouse-go"
	"github.com/toolhouseai/toolhouse-go/examples/internal/demo"
)

func main() { demo.Main(demo.Agent, 30*time.Minute, backgroundJob) }

func backgroundJob(ctx context.Context, ids demo.IDs) error {
	client, err := toolhouse.NewClient() // key from TOOLHOUSE_API_KEY or ~/.toolhouse
	if err != nil {
		return err
	}
	agentID := ids.AgentID

	// No message: the agent runs on its default one.
	stream, err := client.Workers.Stream(ctx, agentID, toolhouse.WorkerRunParams{})
	if err != nil {
		return err
	}
	runID := stream.RunID()
	fmt.Println("run", runID)
	for {
		if err := printAnswer(stream); err != nil {
			return err
		}
		jobID := stream.JobID()
		if jobID == "" {
			break
		}
		if err := waitShowingProgress(ctx, client, agentID, runID, jobID); err != nil {
			return err
		}
		// An empty message resumes the run: the agent reads the job's
		// outcome and goes on. Its answer may start another job.
		if stream, err = client.Workers.ContinueStream(ctx, agentID, runID, ""); err != nil {
			return err
		}
	}

	run, err := client.Workers.Get(ctx, agentID, runID)
	if err != nil {
		return err
	}
	fmt.Printf("run %s is done: %d messages in its history\n", run.RunID, len(run.Messages))
	return nil
}

// printAnswer prints an answer's text and tool calls as they arrive, and
// closes the stream.
func printAnswer(stream *toolhouse.EventStream) error {
	defer stream.Close()
	for stream.Next() {
		ev := stream.Current()
		switch ev.Type {
		case toolhouse.EventTextDelta:
			fmt.Print(ev.Text)
		case toolhouse.EventToolCall:
			fmt.Printf("\n[calling %s]\n", ev.ToolName)
		case toolhouse.EventError:
			return errors.New(ev.Error)
		}
	}
	fmt.Println()
	return stream.Err()
}

// waitShowingProgress waits for the job with WaitForJob and, meanwhile,
// prints every second how long it has been running.
func waitShowingProgress(ctx context.Context, client *toolhouse.Client, agentID, runID, jobID string) error {
	fmt.Printf("background job %s started\n", jobID)
	start := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				fmt.Printf("  still running after %s\n", now.Sub(start).Round(time.Second))
			}
		}
	}()
	_, err := client.Workers.WaitForJob(ctx, agentID, runID, &toolhouse.PollOptions{
		Interval:    time.Second,
		MaxInterval: 10 * time.Second,
		MaxWait:     20 * time.Minute,
	})
	close(done)
	wg.Wait()
	if err != nil {
		return err
	}
	fmt.Printf("background job %s finished after %s\n", jobID, time.Since(start).Round(100*time.Millisecond))
	return nil
}
