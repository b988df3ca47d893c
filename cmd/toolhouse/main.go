// Command toolhouse is the Toolhouse SDK for scripts and terminals: it
// streams a deployed agent's answer, starts and reads agent runs, manages
// schedules and lists agents.
//
//	go run github.com/toolhouseai/toolhouse-go/cmd/toolhouse@latest run AGENT "What is new today?"
//
// It is configured like the SDK: the API key from TOOLHOUSE_API_KEY, else
// the TOOLHOUSE_API_KEY= line of ~/.toolhouse (written by `th login`), and
// the servers from TOOLHOUSE_API_URL and TOOLHOUSE_AGENTS_URL.
//
// Output is a table or plain text for people, and JSON with -json for
// scripts (NDJSON events for run). The exit status is 0 on success, 1 when
// Toolhouse or the network failed (the message is on stderr), 2 on bad
// usage, and 130 when interrupted (Ctrl-C ends a stream cleanly).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/toolhouseai/toolhouse-go"
)

// Exit statuses.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitInterrupted = 130 // 128 + SIGINT, as shells report it
)

const usage = `usage: toolhouse [-poll DURATION] <command> [flags] [arguments]

Workers (deployed agents):
  run AGENT [MESSAGE...]          stream the agent's answer; MESSAGE "-" reads stdin
      -run RUN                    continue run RUN instead of starting one
      -var NAME=VALUE             fill a variable of the agent's prompt (repeatable)
      -bundle BUNDLE              the bundle of tools for a new run
      -json                       write the events as NDJSON instead of text

Agent runs:
  runs create CHAT [-wait]        start an agent run from a chat (-var, -bundle, -callback)
  runs get RUN                    show a run and its last message
  runs list                       list your runs

Schedules:
  schedules cron TEXT...          turn plain text into a cron expression
  schedules create CHAT CADENCE   schedule a chat; CADENCE is cron or plain text
  schedules list                  list your schedules
  schedules pause ID | resume ID | delete ID

Agents:
  agents list                     list your agents
  agents get ID                   show an agent

Every command takes -json. -poll sets the first wait between two looks at a
run or a background job (default 1s, doubling up to 10s).
Configuration: TOOLHOUSE_API_KEY (or ~/.toolhouse), TOOLHOUSE_API_URL,
TOOLHOUSE_AGENTS_URL.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &terminal{in: os.Stdin, out: os.Stdout, err: os.Stderr, tty: isTerminal(os.Stdout)})
	stop()
	os.Exit(code)
}

// terminal is where a command reads and writes.
type terminal struct {
	in       io.Reader
	out, err io.Writer
	tty      bool // out is a terminal, where server text must not send control sequences
}

// command is one subcommand: it parses its own flags and arguments.
type command func(ctx context.Context, c *toolhouse.Client, args []string, t *terminal) error

// commands maps "group verb" (or a lone verb) to its command.
var commands = map[string]command{
	"run":              runWorker,
	"runs create":      runsCreate,
	"runs get":         runsGet,
	"runs list":        runsList,
	"schedules cron":   schedulesCron,
	"schedules create": schedulesCreate,
	"schedules list":   schedulesList,
	"schedules pause":  schedulesPause,
	"schedules resume": schedulesResume,
	"schedules delete": schedulesDelete,
	"agents list":      agentsList,
	"agents get":       agentsGet,
}

// run is the program: it returns the exit status.
func run(ctx context.Context, args []string, t *terminal) int {
	global := flag.NewFlagSet("toolhouse", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	poll := global.Duration("poll", 0, "first wait between polls")
	err := global.Parse(args)
	args = global.Args()
	switch {
	case errors.Is(err, flag.ErrHelp) || (len(args) > 0 && args[0] == "help"):
		fmt.Fprint(t.out, usage)
		return exitOK
	case err != nil:
		fmt.Fprintf(t.err, "toolhouse: %v\n\n%s", err, usage)
		return exitUsage
	case len(args) == 0:
		fmt.Fprint(t.err, usage)
		return exitUsage
	case *poll < 0:
		fmt.Fprintf(t.err, "toolhouse: -poll %s is negative\n", *poll)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	cmd, ok := commands[name]
	if !ok && len(rest) > 0 {
		name, rest = name+" "+rest[0], rest[1:]
		cmd, ok = commands[name]
	}
	if verbs := groupVerbs(args[0]); !ok && len(args) == 1 && len(verbs) > 0 {
		fmt.Fprintf(t.err, "toolhouse %s: expects a command: %s\n\n%s", args[0], strings.Join(verbs, ", "), usage)
		return exitUsage
	}
	if !ok {
		fmt.Fprintf(t.err, "toolhouse: unknown command %q\n\n%s", strings.Join(args[:min(2, len(args))], " "), usage)
		return exitUsage
	}
	client, err := toolhouse.NewClient(toolhouse.WithUserAgent("toolhouse-cli"),
		toolhouse.WithPollOptions(toolhouse.PollOptions{Interval: *poll}))
	if err != nil {
		fmt.Fprintln(t.err, err)
		return exitFailed
	}
	err = cmd(ctx, client, rest, t)
	var uerr *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &uerr):
		if uerr.msg != "" {
			fmt.Fprintf(t.err, "toolhouse %s: %s\n", name, uerr.msg)
		}
		return exitUsage
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		fmt.Fprintln(t.err, "toolhouse: interrupted")
		return exitInterrupted
	case errors.Is(err, toolhouse.ErrMissingAPIKey):
		// The SDK's message speaks to Go code (WithAPIKey).
		fmt.Fprintln(t.err, "toolhouse: no API key: set TOOLHOUSE_API_KEY, or run `th login` to write ~/.toolhouse")
		return exitFailed
	}
	fmt.Fprintln(t.err, sanitize(err.Error()))
	return exitFailed
}

// groupVerbs returns the commands of a group ("runs": create, get, list),
// sorted; none for a word that is not a group.
func groupVerbs(group string) []string {
	var verbs []string
	for name := range commands {
		if verb, ok := strings.CutPrefix(name, group+" "); ok {
			verbs = append(verbs, verb)
		}
	}
	slices.Sort(verbs)
	return verbs
}

// usageError is a command line the command cannot run. An empty msg means
// the flag package has already said what is wrong.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// flags is the flag set of one command, with the -json flag every
// command but run has.
func flags(name string, t *terminal) (*flag.FlagSet, *bool) {
	fs := flag.NewFlagSet("toolhouse "+name, flag.ContinueOnError)
	fs.SetOutput(t.err)
	asJSON := fs.Bool("json", false, "write JSON for scripts instead of text for people")
	return fs, asJSON
}

// parse parses args with flags anywhere among the arguments
// (`runs create CHAT -wait` as well as `runs create -wait CHAT`), and
// checks that between least and most arguments remain (most < 0: no limit).
// Everything after "--" is an argument.
func parse(fs *flag.FlagSet, args []string, least, most int, names string) ([]string, error) {
	var tail []string
	for i, a := range args {
		if a == "--" {
			args, tail = args[:i], args[i+1:]
			break
		}
	}
	fs.Usage = func() {
		synopsis := fs.Name() + " [flags]"
		if most != 0 {
			synopsis += " " + names
		}
		fmt.Fprintf(fs.Output(), "usage: %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{} // the flag package printed it

		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	pos = append(pos, tail...)
	if len(pos) < least || (most >= 0 && len(pos) > most) {
		return nil, usagef("expects %s, got %d argument(s)", names, len(pos))
	}
	return pos, nil
}

// vars is a repeatable NAME=VALUE flag.
type vars map[string]string

func (v vars) String() string { return "" }

func (v vars) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("%q is not NAME=VALUE", s)
	}
	v[name] = value
	return nil
}

// orNil returns v, or nil when it is empty, so that no empty "vars" is sent.
func (v vars) orNil() map[string]string {
	if len(v) == 0 {
		return nil
	}
	return v
}
