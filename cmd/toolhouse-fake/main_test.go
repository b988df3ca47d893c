package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/toolhouseai/toolhouse-go"
	"github.com/toolhouseai/toolhouse-go/internal/clitest"
	"github.com/toolhouseai/toolhouse-go/toolhousetest"
)

// fakeBinary is the command, built once for the tests that run it as a
// program of its own.
var fakeBinary = &clitest.Binary{Name: "toolhouse-fake"}

// TestMain fails the package when a test leaves goroutines behind, such as
// a fake that run did not close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		fakeBinary.Remove()
		os.Exit(code)
	}))
}

var envLine = regexp.MustCompile(`^(TOOLHOUSE_API_URL|TOOLHOUSE_AGENTS_URL|TOOLHOUSE_API_KEY)=(.+)$`)

// readEnv reads the three lines the fake prints first, checking their
// order and form.
func readEnv(t *testing.T, r *bufio.Reader) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, want := range []string{"TOOLHOUSE_API_URL", "TOOLHOUSE_AGENTS_URL", "TOOLHOUSE_API_KEY"} {
		line, err := r.ReadString('\n')
		require.NoError(t, err, "the fake ended before printing %s (got %q)", want, line)
		m := envLine.FindStringSubmatch(strings.TrimSuffix(line, "\n"))
		require.NotNil(t, m, "line %q", line)
		require.Equal(t, want, m[1], "the lines come in order")
		env[m[1]] = m[2]
	}
	for _, name := range []string{"TOOLHOUSE_API_URL", "TOOLHOUSE_AGENTS_URL"} {
		assert.Regexp(t, `^http://127\.0\.0\.1:[1-9][0-9]*$`, env[name], "port 0 picked a free port")
	}
	return env
}

// clientFor is an SDK client for the fake, polling every few milliseconds.
func clientFor(t *testing.T, env map[string]string) *toolhouse.Client {
	t.Helper()
	client, err := toolhouse.NewClient(
		toolhouse.WithoutEnvironment(),
		toolhouse.WithBaseURL(env["TOOLHOUSE_API_URL"]),
		toolhouse.WithAgentsURL(env["TOOLHOUSE_AGENTS_URL"]),
		toolhouse.WithAPIKey(env["TOOLHOUSE_API_KEY"]),
		toolhouse.WithPollOptions(toolhouse.PollOptions{Interval: 5 * time.Millisecond, MaxInterval: 20 * time.Millisecond}),
	)
	require.NoError(t, err)
	return client
}

// conversation reads a Conversation stream to its end: the text before a
// background job, the text after it, and the jobs it followed.
func conversation(t *testing.T, stream *toolhouse.EventStream) (before, after string, jobs []string) {
	t.Helper()
	var b, a strings.Builder
	text := &b
	for ev, err := range stream.All() {
		require.NoError(t, err)
		switch ev.Type {
		case toolhouse.EventTextDelta:
			text.WriteString(ev.Text)
		case toolhouse.EventJobStarted:
			jobs = append(jobs, ev.JobID)
		case toolhouse.EventJobFinished:
			text = &a
		}
	}
	return b.String(), a.String(), jobs
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestRunServesTheConfig runs the command in this process with the agents
// and chats of testdata/agents.json, until its context ends.
func TestRunServesTheConfig(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	out, outW := io.Pipe()
	var stderr bytes.Buffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"-config", "testdata/agents.json", "-key", "th-mine"}, outW, &stderr)
		outW.Close()
	}()
	stdout := bufio.NewReader(out)
	env := readEnv(t, stdout)
	assert.Equal(t, "th-mine", env["TOOLHOUSE_API_KEY"])
	client := clientFor(t, env)

	// The agent of the file: its tool call, its text, its one-hour job.
	stream, err := client.Workers.Stream(ctx, "0b8e1c7e-5d2a-4f8e-9c3b-7a1d2e3f4a5b", toolhouse.WorkerRunParams{})
	require.NoError(t, err)
	assert.NotEmpty(t, stream.JobID(), `the turn's {"job": "1h"} starts a job`)
	var text strings.Builder
	var call toolhouse.Event
	for ev, err := range stream.All() {
		require.NoError(t, err)
		switch ev.Type {
		case toolhouse.EventTextDelta:
			text.WriteString(ev.Text)
		case toolhouse.EventToolCall:
			call = ev
		}
	}
	assert.Equal(t, "Checking it is sunny in Rome, 24°C.", text.String())
	assert.Equal(t, "get_weather", call.ToolName)
	assert.JSONEq(t, `{"city": "Rome", "units": "°C & wind"}`, string(call.Args))
	_, err = client.Workers.Continue(ctx, "0b8e1c7e-5d2a-4f8e-9c3b-7a1d2e3f4a5b", stream.RunID(), "")
	require.ErrorIs(t, err, toolhouse.ErrJobInProgress)

	// The private agent wants the key; the chat plays its script.
	anonymous, err := toolhouse.NewClient(toolhouse.WithoutEnvironment(), toolhouse.WithAgentsURL(env["TOOLHOUSE_AGENTS_URL"]))
	require.NoError(t, err)
	_, err = anonymous.Workers.Run(ctx, "private-agent", toolhouse.WorkerRunParams{})
	var apiErr *toolhouse.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
	run, err := client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{ChatID: "7c9e6679-7425-40de-944b-e07fc1f90ae7"})
	require.NoError(t, err)
	run, err = client.AgentRuns.Wait(ctx, run.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, "Hello!", run.LastAgentMessage)

	// The agent of the file is listed (the private one's ID is not a UUID:
	// it is a worker only), and so are the secrets of the file.
	agents, err := client.Agents.List(ctx)
	require.NoError(t, err)
	require.Len(t, agents, 2)
	assert.Equal(t, toolhousetest.DemoAgentID, agents[0].ID)
	assert.Equal(t, "0b8e1c7e-5d2a-4f8e-9c3b-7a1d2e3f4a5b", agents[1].ID)
	assert.Equal(t, "Weather", agents[1].Title)
	assert.Equal(t, "What's the weather in Rome?", agents[1].Prompt)
	secrets, err := client.Secrets.List(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"OPENWEATHER_API_KEY": "owm-test-value=1"}, secrets)

	cancel()
	assert.Equal(t, 0, <-code)
	assert.NotContains(t, stderr.String(), "owm-test-value", "a secret's value is never printed")
	rest, err := io.ReadAll(stdout)
	require.NoError(t, err)
	assert.Empty(t, string(rest), "nothing but the three lines on stdout")
	assert.Contains(t, stderr.String(), "toolhouse-fake: stopping")
}

func TestRunRejectsBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := func(name, content string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
		return path
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()

	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"negative job time", []string{"-job-time", "-1s"}, 2, "-job-time -1s: a job cannot run for a negative time"},
		{"unknown flag", []string{"-port", "80"}, 2, "flag provided but not defined: -port"},
		{"arguments", []string{"serve"}, 2, `unexpected arguments ["serve"]`},
		{"empty key", []string{"-key", ""}, 2, "-key cannot be empty"},
		{"port in use", []string{"-agents-addr", taken.Addr().String()}, 1, "listening on " + taken.Addr().String()},
		{"no config file", []string{"-config", filepath.Join(dir, "missing.json")}, 1, "-config: open "},
		{"config not JSON", []string{"-config", file("a.json", `agents: []`)}, 1, "not a configuration: invalid character"},
		{"config typo", []string{"-config", file("b.json", `{"agent": []}`)}, 1, `unknown field "agent"`},
		{"two kinds in a step", []string{"-config", file("c.json", `{"agents": [{"id": "x", "turns": [[{"say": "a"}], [{"say": "b", "fail": "c"}]]}]}`)},
			1, `agents[0].turns[1][0]: a step has exactly one of "say", "tool", "job", "fail" and "out_of_execs"`},
		{"args without a tool", []string{"-config", file("d.json", `{"chats": [{"id": "x", "turns": [[{"say": "a", "args": {}}]]}]}`)},
			1, `chats[0].turns[0][0]: "args" and "result" belong to a "tool" step`},
		{"bad job", []string{"-config", file("e.json", `{"agents": [{"id": "x", "turns": [[{"job": "soon"}]]}]}`)},
			1, `"job": "soon" is not a positive duration`},
		{"chat ID not a UUID", []string{"-config", file("f.json", `{"chats": [{"id": "chat-1"}]}`)},
			1, `chat ID "chat-1" is not a UUID`},
		{"secrets a list", []string{"-config", file("g.json", `{"secrets": ["A=b"]}`)},
			1, `not a configuration: json: cannot unmarshal array`},
		{"secret without a name", []string{"-config", file("h.json", `{"secrets": {"": "th-hidden"}}`)},
			1, `WithSecret: a secret needs a name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			assert.Equal(t, tc.code, code)
			assert.Contains(t, stderr.String(), tc.stderr)
			assert.Empty(t, stdout.String(), "no TOOLHOUSE_ lines unless it serves")
		})
	}

	var stdout, stderr bytes.Buffer
	assert.Equal(t, 0, run(context.Background(), []string{"-h"}, &stdout, &stderr))
	for _, flag := range []string{"-addr", "-agents-addr", "-job-time", "-key", "-stream-delay", "-config"} {
		assert.Contains(t, stderr.String(), flag)
	}
}

// fakeProcess is the command running as a program of its own.
type fakeProcess struct {
	cmd    *exec.Cmd
	env    map[string]string
	stdout *bufio.Reader
	stderr *clitest.Buffer // the process's stderr, while the test reads it
	done   chan struct{}   // closed when the process has exited
}

// buildFake returns the built command, or skips the test where it cannot
// be built or stopped as the tests stop it.
func buildFake(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs cmd/toolhouse-fake; skipped with -short")
	}
	if runtime.GOOS == "windows" {
		t.Skip("stops the fake with SIGTERM and SIGINT, which Windows cannot send")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH to build cmd/toolhouse-fake")
	}
	return fakeBinary.Path(t)
}

// startFake starts the built command and reads its three lines. It is
// killed when the test ends, if it still runs.
func startFake(t *testing.T, bin string, args ...string) *fakeProcess {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	p := &fakeProcess{cmd: exec.CommandContext(ctx, bin, args...), stderr: &clitest.Buffer{}, done: make(chan struct{})}
	p.cmd.Stderr = p.stderr
	out, err := p.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.done
		if t.Failed() {
			t.Logf("toolhouse-fake stderr:\n%s", p.stderr.String())
		}
	})
	p.stdout = bufio.NewReader(out)
	p.env = readEnv(t, p.stdout)
	return p
}

// stop sends sig and returns the exit code, failing the test when the
// process does not exit promptly.
func (p *fakeProcess) stop(t *testing.T, sig os.Signal) int {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(sig))
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("toolhouse-fake still runs 10s after %v", sig)
	}
	return p.cmd.ProcessState.ExitCode()
}

// TestFakeBinary is the command as a user runs it: build it, read its
// lines into the environment, use the SDK against it, stop it.
func TestFakeBinary(t *testing.T) {
	bin := buildFake(t)
	fake := startFake(t, bin, "-job-time", "5ms")
	assert.Equal(t, toolhousetest.DefaultAPIKey, fake.env["TOOLHOUSE_API_KEY"])

	// As after `export $(...)`: the SDK takes everything from the
	// environment.
	for name, value := range fake.env {
		t.Setenv(name, value)
	}
	client, err := toolhouse.NewClient(toolhouse.WithPollOptions(toolhouse.PollOptions{
		Interval: 5 * time.Millisecond, MaxInterval: 20 * time.Millisecond,
	}))
	require.NoError(t, err)
	ctx := testContext(t)

	run, err := client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{ChatID: toolhousetest.DemoChatID})
	require.NoError(t, err)
	run, err = client.AgentRuns.Wait(ctx, run.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, toolhouse.RunCompleted, run.Status)
	assert.Contains(t, run.LastAgentMessage, "stored it in memory")

	// The th CLI schedules an agent by giving its ID as chat_id.
	cron, err := client.Schedules.TextToCron(ctx, "weekdays at 9am")
	require.NoError(t, err)
	sc, err := client.Schedules.Create(ctx, toolhouse.ScheduleCreateParams{ChatID: toolhousetest.DemoAgentID, Cadence: cron})
	require.NoError(t, err)
	assert.Equal(t, "0 9 * * 1-5", sc.Cadence)

	// The demo agent's job ends on the wall clock after -job-time.
	conv := client.Workers.Conversation(toolhousetest.DemoAgentID)
	stream, err := conv.Send(ctx, "Chart the heart rates of three birds")
	require.NoError(t, err)
	before, after, jobs := conversation(t, stream)
	assert.Contains(t, before, "1,200 times a minute")
	assert.Len(t, jobs, 1)
	assert.True(t, strings.HasPrefix(after, "The chart is ready"), after)
	stream, err = conv.Send(ctx, "Which one is the fastest?")
	require.NoError(t, err)
	recalled, _, _ := conversation(t, stream)
	assert.Contains(t, recalled, "You first asked me: “Chart the heart rates of three birds.”", "the agent remembers")

	// An agent deployed as th deploy does it is a worker at once.
	agent, err := client.Agents.Create(ctx, toolhouse.AgentCreateParams{Prompt: "Say hi.", Public: true})
	require.NoError(t, err)
	text, err := client.Workers.Run(ctx, agent.ID, toolhouse.WorkerRunParams{})
	require.NoError(t, err)
	answer, err := io.ReadAll(text)
	require.NoError(t, err)
	require.NoError(t, text.Close())
	assert.Equal(t, "Following my prompt: “Say hi.”", string(answer))

	// A browser's preflight, with a plain HTTP client.
	req, err := http.NewRequestWithContext(ctx, http.MethodOptions, fake.env["TOOLHOUSE_AGENTS_URL"]+"/"+toolhousetest.DemoAgentID, nil)
	require.NoError(t, err)
	req.Header.Set("Origin", "http://localhost:3000")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, "http://localhost:3000", resp.Header.Get("Access-Control-Allow-Origin"))
	http.DefaultClient.CloseIdleConnections()

	assert.Equal(t, 0, fake.stop(t, syscall.SIGTERM), "SIGTERM is a normal stop")
	assert.Contains(t, fake.stderr.String(), "toolhouse-fake: stopping")
}

// TestFakeBinaryStopsWithAStreamOpen interrupts the fake while a client
// holds a stream open and reads no more of it: it still exits at once.
func TestFakeBinaryStopsWithAStreamOpen(t *testing.T) {
	t.Parallel()
	bin := buildFake(t)
	fake := startFake(t, bin, "-stream-delay", "1h", "-addr", "127.0.0.1:0", "-agents-addr", "127.0.0.1:0")
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(testContext(t), http.MethodPost,
		fake.env["TOOLHOUSE_AGENTS_URL"]+"/ndjson/"+toolhousetest.DemoAgentID, strings.NewReader(`{"message":"hi"}`))
	require.NoError(t, err)
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	first, err := bufio.NewReader(resp.Body).ReadString('\n')
	require.NoError(t, err)
	assert.Contains(t, first, "text-delta")

	assert.Equal(t, 0, fake.stop(t, os.Interrupt), "Ctrl-C is a normal stop")
	_, err = io.Copy(io.Discard, resp.Body)
	assert.True(t, errors.Is(err, io.ErrUnexpectedEOF), "the open stream is cut: %v", err)
}
