// Package demo is what the example programs share: where they run.
//
// With TOOLHOUSE_API_KEY set, an example talks to Toolhouse itself and takes
// the IDs of your chat and agent from its -chat and -agent flags. Without
// it, the example starts the fake Toolhouse of package toolhousetest in its
// own process and uses the fake's demo chat and agent, so that it runs on
// any machine, offline, and says so in its first line of output.
//
// The fake is reached the way the th CLI is pointed at another server:
// through TOOLHOUSE_API_KEY, TOOLHOUSE_API_URL and TOOLHOUSE_AGENTS_URL,
// set for the example's process only. That keeps the examples' own code
// exactly what yours would be: a plain toolhouse.NewClient().
package demo

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/toolhouseai/toolhouse-go/toolhousetest"
)

// Needs says which IDs an example runs against.
type Needs int

// What an example may need.
const (
	Chat  Needs = 1 << iota // a Prompt Studio chat (-chat): agent runs and schedules
	Agent                   // a deployed agent (-agent): workers
)

// IDs are the chat and the agent an example runs against.
type IDs struct {
	ChatID  string
	AgentID string
}

// Main is an example program's main function. It registers -chat and
// -agent as needs says, parses the command line, chooses the real or the
// fake Toolhouse, and calls run with a context that ends after timeout or
// at Ctrl-C. When run fails, Main prints the error and exits with status 1;
// a missing flag exits with status 2.
func Main(needs Needs, timeout time.Duration, run func(ctx context.Context, ids IDs) error) {
	os.Exit(mainCode(needs, timeout, run))
}

// mainCode is Main up to the exit, so that deferred cleanups run first.
func mainCode(needs Needs, timeout time.Duration, run func(ctx context.Context, ids IDs) error) int {
	var ids IDs
	if needs&Chat != 0 {
		flag.StringVar(&ids.ChatID, "chat", "", "ID of the Prompt Studio chat to run (required with TOOLHOUSE_API_KEY)")
	}
	if needs&Agent != 0 {
		flag.StringVar(&ids.AgentID, "agent", "", "ID of the deployed agent to call (required with TOOLHOUSE_API_KEY)")
	}
	flag.Parse()

	if strings.TrimSpace(os.Getenv("TOOLHOUSE_API_KEY")) != "" {
		if err := ids.check(needs); err != nil {
			fmt.Fprintln(os.Stderr, err)
			flag.Usage()
			return 2
		}
	} else {
		stop, err := startFake(&ids)
		if err != nil {
			fmt.Fprintln(os.Stderr, "starting the fake Toolhouse:", err)
			return 1
		}
		defer stop()
	}

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ctx, stopSignals := signal.NotifyContext(ctx, os.Interrupt)
	defer stopSignals()
	if err := run(ctx, ids); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 1
	}
	return 0
}

// check reports the IDs a run against the real Toolhouse lacks.
func (ids IDs) check(needs Needs) error {
	var missing []string
	if needs&Chat != 0 && ids.ChatID == "" {
		missing = append(missing, "-chat (a chat ID from Prompt Studio: Share, then API)")
	}
	if needs&Agent != 0 && ids.AgentID == "" {
		missing = append(missing, "-agent (the ID in your deployed agent's URL, https://agents.toolhouse.ai/<ID>)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("TOOLHOUSE_API_KEY is set, so this example runs against Toolhouse and needs %s",
			strings.Join(missing, " and "))
	}
	return nil
}

// startFake starts the fake Toolhouse, points the environment at it, and
// fills in the demo IDs where no flag gave one.
func startFake(ids *IDs) (stop func(), err error) {
	fmt.Println("No TOOLHOUSE_API_KEY set: using the built-in fake Toolhouse server (toolhousetest).")
	srv := toolhousetest.NewServer(
		// Make the fake look alive: a run is seen in progress once before
		// it completes, and streams arrive word by word.
		toolhousetest.WithRunReads(0, 1),
		toolhousetest.WithStreamDelay(10*time.Millisecond),
	)
	for name, value := range map[string]string{
		"TOOLHOUSE_API_KEY":    srv.APIKey(),
		"TOOLHOUSE_API_URL":    srv.BaseURL(),
		"TOOLHOUSE_AGENTS_URL": srv.AgentsURL(),
	} {
		if err := os.Setenv(name, value); err != nil {
			srv.Close()
			return nil, fmt.Errorf("setting %s: %w", name, err)
		}
	}
	if ids.ChatID == "" {
		ids.ChatID = toolhousetest.DemoChatID
	}
	if ids.AgentID == "" {
		ids.AgentID = toolhousetest.DemoAgentID
	}
	return srv.Close, nil
}
