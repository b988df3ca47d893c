package toolhouse_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/toolhouseai/toolhouse-go"
	"github.com/toolhouseai/toolhouse-go/toolhousetest"
)

// These examples run against the fake Toolhouse of package toolhousetest,
// which knows a demo chat (toolhousetest.DemoChatID) and a demo agent
// (toolhousetest.DemoAgentID). Your own code gets its client from
// toolhouse.NewClient() and uses the IDs of your chats and agents.

// fakeToolhouse starts a fake Toolhouse and returns a client for it, whose
// polling takes milliseconds, and the function that stops the fake.
func fakeToolhouse() (*toolhouse.Client, func()) {
	srv := toolhousetest.NewServer()
	client, err := srv.Client()
	if err != nil {
		srv.Close()
		log.Fatal(err)
	}
	return client, srv.Close
}

func ExampleNewClient() {
	// With no options, the key comes from TOOLHOUSE_API_KEY or ~/.toolhouse
	// (written by `th login`). Here the environment is left out, so the
	// client has no key: public workers still answer it, while platform
	// calls fail before anything is sent.
	client, err := toolhouse.NewClient(
		toolhouse.WithoutEnvironment(),
		toolhouse.WithUserAgent("my-app/1.0"),
		toolhouse.WithMaxRetries(3),
	)
	if err != nil {
		log.Fatal(err)
	}
	_, err = client.AgentRuns.List(context.Background())
	fmt.Println(errors.Is(err, toolhouse.ErrMissingAPIKey))
	// Output: true
}

func ExampleAgentRunsService_Create() {
	client, stop := fakeToolhouse()
	defer stop()
	ctx := context.Background()

	run, err := client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{
		ChatID: toolhousetest.DemoChatID,
		Vars:   map[string]string{"city": "Rome"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(run.Status, run.Vars["city"])
	// Output: queued Rome
}

func ExampleAgentRunsService_Get() {
	client, stop := fakeToolhouse()
	defer stop()
	ctx := context.Background()

	run, err := client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{ChatID: toolhousetest.DemoChatID})
	if err != nil {
		log.Fatal(err)
	}
	// Each look at the run may find it further on.
	for !run.Status.Done() {
		if run, err = client.AgentRuns.Get(ctx, run.ID); err != nil {
			log.Fatal(err)
		}
		fmt.Println(run.Status)
	}
	// Output:
	// queued
	// in_progress
	// completed
}

func ExampleAgentRunsService_Wait() {
	client, stop := fakeToolhouse()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	run, err := client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{ChatID: toolhousetest.DemoChatID})
	if err != nil {
		log.Fatal(err)
	}
	// nil options poll as the client says (WithPollOptions); ctx bounds the wait.
	run, err = client.AgentRuns.Wait(ctx, run.ID, nil)
	if errors.Is(err, toolhouse.ErrRunFailed) {
		log.Fatalf("the agent could not finish: %v", err)
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(run.Status)
	for _, m := range run.Results {
		for _, p := range m.Content {
			if p.Type == "tool-call" {
				fmt.Println("called", p.ToolName)
			}
		}
	}
	// Output:
	// completed
	// called memory_fetch
	// called web_search
	// called send_email
	// called memory_store
}

func ExampleAgentRunsService_Continue() {
	client, stop := fakeToolhouse()
	defer stop()
	ctx := context.Background()

	run, err := client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{ChatID: toolhousetest.DemoChatID})
	if err != nil {
		log.Fatal(err)
	}
	if run, err = client.AgentRuns.Wait(ctx, run.ID, nil); err != nil {
		log.Fatal(err)
	}
	// Only a completed run takes a message; it is queued again, with its
	// history.
	if run, err = client.AgentRuns.Continue(ctx, run.ID, "Thank you!"); err != nil {
		log.Fatal(err)
	}
	fmt.Println(run.Status)
	if run, err = client.AgentRuns.Wait(ctx, run.ID, nil); err != nil {
		log.Fatal(err)
	}
	fmt.Println(run.LastAgentMessage)
	// Output:
	// queued
	// You're welcome! Ask me any time for another pet fact. 🐦
}

func ExampleAgentRunsService_List() {
	client, stop := fakeToolhouse()
	defer stop()
	ctx := context.Background()

	for range 2 {
		if _, err := client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{ChatID: toolhousetest.DemoChatID}); err != nil {
			log.Fatal(err)
		}
	}
	runs, err := client.AgentRuns.List(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, run := range runs {
		fmt.Println(run.ChatID, run.Status)
	}
	// Output:
	// a3a26d33-6f4d-4490-a56f-e17f867ba451 queued
	// a3a26d33-6f4d-4490-a56f-e17f867ba451 queued
}

func ExampleSchedulesService_TextToCron() {
	client, stop := fakeToolhouse()
	defer stop()

	cron, err := client.Schedules.TextToCron(context.Background(), "sundays at 5pm UTC")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cron)
	// Output: 0 17 * * 0
}

func ExampleSchedulesService_Create() {
	client, stop := fakeToolhouse()
	defer stop()
	ctx := context.Background()

	sched, err := client.Schedules.Create(ctx, toolhouse.ScheduleCreateParams{
		ChatID:  toolhousetest.DemoChatID,
		Cadence: "0 9 * * 1-5", // weekdays at 9:00 UTC
		Vars:    map[string]string{"topic": "birds"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sched.Cadence, sched.Active, sched.Vars["topic"])
	// Output: 0 9 * * 1-5 true birds
}

func ExampleSchedulesService_Update() {
	client, stop := fakeToolhouse()
	defer stop()
	ctx := context.Background()

	sched, err := client.Schedules.Create(ctx, toolhouse.ScheduleCreateParams{ChatID: toolhousetest.DemoChatID, Cadence: "0 9 * * *"})
	if err != nil {
		log.Fatal(err)
	}
	// Only the fields that are set are sent.
	updated, err := client.Schedules.Update(ctx, sched.ID, toolhouse.ScheduleUpdateParams{
		Cadence: toolhouse.String("0 */3 * * *"),
		Vars:    map[string]string{"topic": "cats"},
	})
	if err != nil {
		log.Fatal(err)
	}
	// The server may answer without the schedule; then Update returns nil.
	if updated != nil {
		fmt.Println(updated.Cadence, updated.Vars["topic"])
	}
	// Output: 0 */3 * * * cats
}

func ExampleSchedulesService_Pause() {
	client, stop := fakeToolhouse()
	defer stop()
	ctx := context.Background()

	sched, err := client.Schedules.Create(ctx, toolhouse.ScheduleCreateParams{ChatID: toolhousetest.DemoChatID, Cadence: "0 9 * * *"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.Schedules.Pause(ctx, sched.ID); err != nil {
		log.Fatal(err)
	}
	if sched, err = client.Schedules.Get(ctx, sched.ID); err != nil {
		log.Fatal(err)
	}
	fmt.Println("active:", sched.Active)
	if _, err := client.Schedules.Resume(ctx, sched.ID); err != nil {
		log.Fatal(err)
	}
	if sched, err = client.Schedules.Get(ctx, sched.ID); err != nil {
		log.Fatal(err)
	}
	fmt.Println("active:", sched.Active)
	// Output:
	// active: false
	// active: true
}

func ExampleSchedulesService_Delete() {
	client, stop := fakeToolhouse()
	defer stop()
	ctx := context.Background()

	sched, err := client.Schedules.Create(ctx, toolhouse.ScheduleCreateParams{ChatID: toolhousetest.DemoChatID, Cadence: "0 9 * * *"})
	if err != nil {
		log.Fatal(err)
	}
	for range 2 {
		err := client.Schedules.Delete(ctx, sched.ID)
		switch {
		case errors.Is(err, toolhouse.ErrNotFound):
			fmt.Println("already gone")
		case err != nil:
			log.Fatal(err)
		default:
			fmt.Println("deleted")
		}
	}
	// Output:
	// deleted
	// already gone
}

func ExampleWorkersService_Run() {
	client, stop := fakeToolhouse()
	defer stop()
	ctx := context.Background()

	text, err := client.Workers.Run(ctx, toolhousetest.DemoAgentID, toolhouse.WorkerRunParams{Message: "How fast does a bird's heart beat?"})
	if err != nil {
		log.Fatal(err)
	}
	defer text.Close()
	// text.RunID() is known before the answer is read; Continue takes it.
	if _, err := io.Copy(os.Stdout, text); err != nil {
		log.Fatal(err)
	}
	fmt.Println()
	fmt.Println("started a background job:", text.JobID() != "")
	// Output:
	// Let me look that up. A hummingbird's heart can beat more than 1,200 times a minute! I'm charting heart rates by species with the code interpreter; it runs in the background.
	// started a background job: true
}

func ExampleWorkersService_Stream() {
	client, stop := fakeToolhouse()
	defer stop()
	ctx := context.Background()

	stream, err := client.Workers.Stream(ctx, toolhousetest.DemoAgentID, toolhouse.WorkerRunParams{Message: "How fast does a bird's heart beat?"})
	if err != nil {
		log.Fatal(err)
	}
	defer stream.Close()
	for ev, err := range stream.All() {
		if err != nil {
			log.Fatal(err)
		}
		switch ev.Type {
		case toolhouse.EventToolCall:
			fmt.Printf("calling %s\n", ev.ToolName)
		case toolhouse.EventToolResult:
			fmt.Printf("%s answered\n", ev.ToolName)
		case toolhouse.EventFinish:
			fmt.Println("finished")
		}
	}
	// Output:
	// calling web_search
	// web_search answered
	// calling code_interpreter
	// code_interpreter answered
	// finished
}

// A background job by hand: read the answer that starts it, wait for it,
// then resume the run with an empty message. Conversation does all of this
// by itself.
func ExampleWorkersService_WaitForJob() {
	client, stop := fakeToolhouse()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	agentID := toolhousetest.DemoAgentID

	first, err := client.Workers.Run(ctx, agentID, toolhouse.WorkerRunParams{})
	if err != nil {
		log.Fatal(err)
	}
	// The job starts with the answer; read it to its end.
	if _, err := io.Copy(io.Discard, first); err != nil {
		log.Fatal(err)
	}
	first.Close()
	if first.JobID() != "" {
		run, err := client.Workers.WaitForJob(ctx, agentID, first.RunID(), nil)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("job running:", run.JobID != "")
	}
	rest, err := client.Workers.Continue(ctx, agentID, first.RunID(), "")
	if err != nil {
		log.Fatal(err)
	}
	defer rest.Close()
	if _, err := io.Copy(os.Stdout, rest); err != nil {
		log.Fatal(err)
	}
	// Output:
	// job running: false
	// The chart is ready: a hummingbird's heart beats about 7 times faster than a pigeon's, and 20 times faster than an ostrich's.
}

func ExampleWorkersService_Get() {
	client, stop := fakeToolhouse()
	defer stop()
	ctx := context.Background()
	agentID := toolhousetest.DemoAgentID

	text, err := client.Workers.Run(ctx, agentID, toolhouse.WorkerRunParams{Message: "Hi!"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, text); err != nil {
		log.Fatal(err)
	}
	text.Close()

	run, err := client.Workers.Get(ctx, agentID, text.RunID())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("job running:", run.JobID != "")
	for _, m := range run.Messages {
		for _, p := range m.Content {
			switch p.Type {
			case toolhouse.PartText:
				fmt.Printf("%s: %.30s\n", m.Role, strings.TrimSpace(p.Text))
			case toolhouse.PartToolCall, toolhouse.PartToolResult:
				fmt.Printf("%s: %s %s\n", m.Role, p.Type, p.ToolName)
			}
		}
	}
	// Output:
	// job running: true
	// user: Hi!
	// assistant: Let me look that up.
	// assistant: tool-call web_search
	// tool: tool-result web_search
	// assistant: A hummingbird's heart can beat
	// assistant: tool-call code_interpreter
	// tool: tool-result code_interpreter
}

func ExampleConversation_Send() {
	client, stop := fakeToolhouse()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	conv := client.Workers.Conversation(toolhousetest.DemoAgentID)
	for _, msg := range []string{"Chart the heart rates of three birds", "Thanks!"} {
		stream, err := conv.Send(ctx, msg)
		if err != nil {
			log.Fatal(err)
		}
		for ev, err := range stream.All() {
			if err != nil {
				log.Fatal(err)
			}
			switch ev.Type {
			case toolhouse.EventToolCall:
				fmt.Println("[" + ev.ToolName + "]")
			case toolhouse.EventJobStarted:
				fmt.Println("(background job running)")
			case toolhouse.EventJobFinished:
				fmt.Println("(background job done)")
			}
		}
		fmt.Println("answered:", msg)
	}
	// Output:
	// [web_search]
	// [code_interpreter]
	// (background job running)
	// (background job done)
	// answered: Chart the heart rates of three birds
	// answered: Thanks!
}

func ExampleDecoder() {
	const body = `{"type":"text-delta","textDelta":"Hi"}

{"type":"finish"}`
	dec := toolhouse.NewDecoder(strings.NewReader(body))
	for {
		var line struct{ Type string }
		err := dec.Decode(&line)
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(line.Type)
	}
	// Output:
	// text-delta
	// finish
}

// Errors are values: match the common cases with errors.Is, and read the
// server's answer from an *APIError.
func Example_errors() {
	client, stop := fakeToolhouse()
	defer stop()
	ctx := context.Background()
	runID := "00000000-0000-4000-8000-000000000000"

	_, err := client.AgentRuns.Get(ctx, runID)
	var apiErr *toolhouse.APIError
	switch {
	case errors.Is(err, toolhouse.ErrNotFound):
		fmt.Println("no such run")
	case errors.As(err, &apiErr):
		fmt.Println(apiErr.StatusCode, apiErr.Message)
	case err != nil:
		fmt.Println("network or context:", err)
	}
	// Output: no such run
}
