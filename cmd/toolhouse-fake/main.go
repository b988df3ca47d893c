// Command toolhouse-fake serves the fake Toolhouse of package toolhousetest
// as a program of its own, so that clients in any language, browser code
// and the official Toolhouse clients can be tested against it without the
// network or an account:
//
//	go run github.com/toolhouseai/toolhouse-go/cmd/toolhouse-fake@latest [flags]
//
// On start it prints three lines on stdout, before anything else:
//
//	TOOLHOUSE_API_URL=http://127.0.0.1:41123
//	TOOLHOUSE_AGENTS_URL=http://127.0.0.1:41124
//	TOOLHOUSE_API_KEY=th-test-key
//
// the variables the Go SDK and the th CLI read (the CLI takes the key
// from ~/.toolhouse only). Then it serves until it gets SIGINT or SIGTERM,
// and exits 0. Both APIs behave as the toolhousetest documentation says:
// the demo chat (toolhousetest.DemoChatID) and the public demo agent
// (toolhousetest.DemoAgentID), whose first answer starts a background job
// that runs for -job-time on the wall clock; the Workers API answers CORS,
// so a page on any origin can call it.
//
// The platform API serves agent runs and schedules (v1/agent-runs,
// v1/schedules), agents (v1/agents: list, get, create or replace, patch,
// delete, feedback, as th deploy calls them) and secrets (v1/kv: list, set,
// delete, as th secrets calls them). An agent deployed through v1/agents
// is at once a worker on the Workers API, answering from its prompt, and a
// chat ID for agent runs and schedules. The values of secrets are never
// printed.
//
// Flags:
//
//	-addr HOST:PORT         where the platform API listens (default 127.0.0.1:0; port 0 picks a free port)
//	-agents-addr HOST:PORT  where the Workers API listens (default 127.0.0.1:0)
//	-job-time DURATION      how long a background job runs (default 3s)
//	-key KEY                the API key the platform API accepts (default th-test-key)
//	-stream-delay DURATION  pause between the pieces of a streamed answer (default 0)
//	-config FILE            a JSON file of agents, chats and secrets to serve besides the demo ones
//
// The -config file holds "agents" and "chats", each with the turns of its
// script, and "secrets", the values GET v1/kv lists from the start. A step
// is one of {"say": text}, {"tool": name, "args": JSON, "result": JSON},
// {"job": ""} (a job of -job-time) or {"job": "10s"}, {"fail": message}
// and {"out_of_execs": true}. An agent whose ID is a UUID is listed on
// v1/agents, with its "title" and its "default_message" as its prompt:
//
//	{
//	  "agents": [{
//	    "id": "0b8e1c7e-5d2a-4f8e-9c3b-7a1d2e3f4a5b",
//	    "title": "Weather",
//	    "default_message": "What's the weather in Rome?",
//	    "turns": [[
//	      {"say": "Checking."},
//	      {"tool": "get_weather", "args": {"city": "Rome"}, "result": "sunny"},
//	      {"say": "It is sunny in Rome."}
//	    ]]
//	  }],
//	  "chats": [{"id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "prompt": "Hello", "turns": [[{"say": "Hi!"}]]}],
//	  "secrets": {"OPENWEATHER_API_KEY": "test-value"}
//	}
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/toolhouseai/toolhouse-go/toolhousetest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run serves until ctx ends and returns the exit code: 0 after serving, 2
// for bad flags, 1 when the fake cannot start.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("toolhouse-fake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "`HOST:PORT` where the platform API (agent runs, schedules, agents, secrets) listens; port 0 picks a free port")
	agentsAddr := fs.String("agents-addr", "127.0.0.1:0", "`HOST:PORT` where the Workers API (agents) listens; port 0 picks a free port")
	jobTime := fs.Duration("job-time", 3*time.Second, "how long a background job runs on the wall clock")
	key := fs.String("key", toolhousetest.DefaultAPIKey, "the API `key` the platform API accepts")
	streamDelay := fs.Duration("stream-delay", 0, "pause between the pieces of a streamed answer, to watch it arrive")
	configFile := fs.String("config", "", "JSON `file` of agents, chats and secrets to serve besides the demo ones")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: toolhouse-fake [flags]\n\n"+
			"Serves a fake Toolhouse (platform API and Workers API) until interrupted. It first prints\n"+
			"TOOLHOUSE_API_URL=, TOOLHOUSE_AGENTS_URL= and TOOLHOUSE_API_KEY= lines on stdout.\n\n"+
			"Platform API: v1/agent-runs, v1/schedules, v1/agents (what th deploy calls; an agent\n"+
			"deployed there is a worker at once) and v1/kv (the secrets of th secrets).\n"+
			"Workers API: the demo agent, the agents of -config and those deployed.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "toolhouse-fake: unexpected arguments %q; it takes flags only\n", fs.Args())
		return 2
	case *jobTime < 0:
		fmt.Fprintf(stderr, "toolhouse-fake: -job-time %s: a job cannot run for a negative time\n", *jobTime)
		return 2
	case *streamDelay < 0:
		fmt.Fprintf(stderr, "toolhouse-fake: -stream-delay %s: the delay cannot be negative\n", *streamDelay)
		return 2
	case *key == "":
		fmt.Fprintln(stderr, "toolhouse-fake: -key cannot be empty")
		return 2
	}

	opts := []toolhousetest.Option{
		toolhousetest.WithListenAddr(toolhousetest.PlatformAPI, *addr),
		toolhousetest.WithListenAddr(toolhousetest.WorkersAPI, *agentsAddr),
		toolhousetest.WithJobTime(*jobTime),
		toolhousetest.WithAPIKey(*key),
		toolhousetest.WithStreamDelay(*streamDelay),
		// Nothing here reads Server.Requests: keeping every request (and
		// its body) would grow the memory of a fake left running for days.
		toolhousetest.WithMaxRequests(0),
	}
	if *configFile != "" {
		more, err := loadConfig(*configFile)
		if err != nil {
			fmt.Fprintf(stderr, "toolhouse-fake: %v\n", err)
			return 1
		}
		opts = append(opts, more...)
	}
	srv, err := toolhousetest.Start(opts...)
	if err != nil {
		fmt.Fprintf(stderr, "toolhouse-fake: %v\n", err)
		return 1
	}
	defer srv.Close()

	// The three lines come first and alone, for scripts that read them.
	if _, err := fmt.Fprintf(stdout, "TOOLHOUSE_API_URL=%s\nTOOLHOUSE_AGENTS_URL=%s\nTOOLHOUSE_API_KEY=%s\n",
		srv.BaseURL(), srv.AgentsURL(), srv.APIKey()); err != nil {
		fmt.Fprintf(stderr, "toolhouse-fake: writing to stdout: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "toolhouse-fake: serving the demo chat %s and the demo agent %s (jobs run %s); "+
		"interrupt to stop\n", toolhousetest.DemoChatID, toolhousetest.DemoAgentID, *jobTime)
	<-ctx.Done()
	fmt.Fprintln(stderr, "toolhouse-fake: stopping")
	return 0
}
