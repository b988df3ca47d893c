package toolhousetest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/toolhouseai/toolhouse-go"
	"github.com/toolhouseai/toolhouse-go/toolhousetest"
)

// A test starts a server, gets an SDK client for it, and runs the code
// under test against it.
func Example() {
	srv := toolhousetest.NewServer()
	defer srv.Close()

	client, err := srv.Client()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	run, err := client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{ChatID: toolhousetest.DemoChatID})
	if err != nil {
		log.Fatal(err)
	}
	run, err = client.AgentRuns.Wait(ctx, run.ID, nil) // polls every few ms
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(run.Status)
	fmt.Println(run.LastAgentMessage)

	cron, err := client.Schedules.TextToCron(ctx, "sundays at 5pm UTC")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cron)
	// Output:
	// completed
	// I've completed all the steps: checked memory, found a new fact about birds' amazing metabolism, emailed it to hello@toolhouse.ai and stored it in memory. 🐦
	// 0 17 * * 0
}

// A scripted agent answers the Workers API; Requests shows what the code
// under test sent.
func ExampleWithAgent() {
	srv := toolhousetest.NewServer(toolhousetest.WithAgent(toolhousetest.Agent{
		ID: "weather",
		Turns: []toolhousetest.Turn{{
			toolhousetest.Say("Checking. "),
			toolhousetest.CallTool("get_weather", map[string]string{"city": "Rome"}, "sunny"),
			toolhousetest.Say("It is sunny in Rome."),
		}},
	}))
	defer srv.Close()

	resp, err := srv.HTTPClient().Post(srv.AgentsURL()+"/ndjson/weather", "application/json",
		strings.NewReader(`{"message": "Weather in Rome?"}`))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(string(body))

	last := srv.Requests()[0]
	fmt.Println(last.Method, last.Path, string(last.Body))
	fmt.Println(resp.StatusCode == http.StatusOK && resp.Header.Get("X-Toolhouse-Run-ID") != "")
	// Output:
	// {"type":"text-delta","textDelta":"Checking. "}
	// {"type":"tool-call","toolCallId":"toolu_0001","toolName":"get_weather","args":{"city":"Rome"}}
	// {"type":"tool-result","toolCallId":"toolu_0001","toolName":"get_weather","result":"sunny"}
	// {"type":"text-delta","textDelta":"It "}
	// {"type":"text-delta","textDelta":"is "}
	// {"type":"text-delta","textDelta":"sunny "}
	// {"type":"text-delta","textDelta":"in "}
	// {"type":"text-delta","textDelta":"Rome."}
	// {"type":"finish","finishReason":"stop"}
	// POST /ndjson/weather {"message": "Weather in Rome?"}
	// true
}

// A background job ends on the server's clock. A test that holds the clock
// ends the job by moving it forward: no sleep, and no poll of the run.
func ExampleWithClock() {
	var mu sync.Mutex
	now := time.Date(2025, 1, 15, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	srv := toolhousetest.NewServer(toolhousetest.WithClock(clock), toolhousetest.WithJobTime(time.Minute))
	defer srv.Close()
	client, err := srv.Client()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	// The demo agent's first answer starts a job.
	first, err := client.Workers.Run(ctx, toolhousetest.DemoAgentID, toolhouse.WorkerRunParams{})
	if err != nil {
		log.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, first)
	first.Close()
	_, err = client.Workers.Continue(ctx, toolhousetest.DemoAgentID, first.RunID(), "")
	fmt.Println("job running:", errors.Is(err, toolhouse.ErrJobInProgress))

	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	rest, err := client.Workers.Continue(ctx, toolhousetest.DemoAgentID, first.RunID(), "")
	if err != nil {
		log.Fatal(err)
	}
	defer rest.Close()
	_, _ = io.Copy(os.Stdout, rest)
	// Output:
	// job running: true
	// The chart is ready: a hummingbird's heart beats about 7 times faster than a pigeon's, and 20 times faster than an ostrich's.
}

// Code that sets secrets is tested by reading them back from the server,
// which stores them in memory only and prints none.
func ExampleServer_Secrets() {
	srv := toolhousetest.NewServer(toolhousetest.WithSecret("SLACK_WEBHOOK_URL", "https://hooks.example.com/T0"))
	defer srv.Close()
	client, err := srv.Client()
	if err != nil {
		log.Fatal(err)
	}

	// The code under test.
	if err := client.Secrets.Set(context.Background(), "OPENWEATHER_API_KEY", "owm-test-key"); err != nil {
		log.Fatal(err)
	}

	secrets := srv.Secrets()
	fmt.Println(len(secrets), secrets["OPENWEATHER_API_KEY"] == "owm-test-key")
	// Output: 2 true
}
