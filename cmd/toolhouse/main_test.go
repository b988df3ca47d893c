package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/toolhouseai/toolhouse-go"
	"github.com/toolhouseai/toolhouse-go/internal/clitest"
	"github.com/toolhouseai/toolhouse-go/toolhousetest"
)

// binary is the command, built once for all tests: they run it as a
// script would.
var binary = &clitest.Binary{Name: "toolhouse"}

func TestMain(m *testing.M) {
	code := m.Run()
	binary.Remove()
	os.Exit(code)
}

// result is what one run of the command left.
type result struct {
	stdout, stderr string
	code           int
}

// cli runs the command with the fake's configuration and nothing else
// from the environment (HOME is empty, so ~/.toolhouse is not read).
func cli(t *testing.T, srv *toolhousetest.Server, args ...string) result {
	t.Helper()
	env := []string{"HOME=" + t.TempDir()}
	if srv != nil {
		env = append(env, "TOOLHOUSE_API_KEY="+srv.APIKey(), "TOOLHOUSE_API_URL="+srv.BaseURL(),
			"TOOLHOUSE_AGENTS_URL="+srv.AgentsURL())
	}
	return cliEnv(t, env, args...)
}

func cliEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary.Path(t), args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running the command: %v", err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

// fake starts a fake Toolhouse for the command. Its background jobs run
// for 5ms of the wall clock (the command runs in another process, so the
// test cannot hold the fake's clock): the demo agent's job is followed as
// usual, without the 500ms wait of the default job time.
func fake(t *testing.T, opts ...toolhousetest.Option) *toolhousetest.Server {
	return toolhousetest.New(t, append([]toolhousetest.Option{toolhousetest.WithJobTime(5 * time.Millisecond)}, opts...)...)
}

func TestUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{nil, exitUsage, "usage: toolhouse"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"runs", "frobnicate"}, exitUsage, `unknown command "runs frobnicate"`},
		{[]string{"runs", "get"}, exitUsage, "expects RUN, got 0 argument(s)"},
		{[]string{"runs", "get", "a", "b"}, exitUsage, "expects RUN, got 2 argument(s)"},
		{[]string{"runs", "list", "-x"}, exitUsage, "flag provided but not defined: -x"},
		{[]string{"-poll", "soon", "runs", "list"}, exitUsage, `invalid value "soon" for flag -poll`},
		{[]string{"run", "-var", "novalue", "agent"}, exitUsage, `"novalue" is not NAME=VALUE`},
		{[]string{"run", "-run", "r1", "-var", "a=b", "agent"}, exitUsage, "-var and -bundle apply to a new run"},
		{[]string{"run", "-run", "r1", "-bundle", "b", "agent"}, exitUsage, "-var and -bundle apply to a new run"},
	} {
		r := cli(t, nil, tc.args...)
		assert.Equal(t, tc.code, r.code, "%q: %s", tc.args, r.stderr)
		assert.Contains(t, r.stderr, tc.says, "%q", tc.args)
		assert.Empty(t, r.stdout, "%q", tc.args)
	}
	r := cli(t, nil, "-h")
	assert.Equal(t, exitOK, r.code)
	assert.Contains(t, r.stdout, "runs create CHAT [-wait]")

	// A group alone names its commands; a command's -h its arguments.
	r = cli(t, nil, "runs")
	assert.Equal(t, exitUsage, r.code)
	assert.True(t, strings.HasPrefix(r.stderr, "toolhouse runs: expects a command: create, get, list\n"), r.stderr)
	r = cli(t, nil, "run", "-h")
	assert.Equal(t, exitOK, r.code)
	assert.True(t, strings.HasPrefix(r.stderr, "usage: toolhouse run [flags] AGENT [MESSAGE...]\n"), r.stderr)
	assert.Contains(t, r.stderr, "-bundle")
	r = cli(t, nil, "runs", "list", "-h")
	assert.True(t, strings.HasPrefix(r.stderr, "usage: toolhouse runs list [flags]\n"), r.stderr)
}

func TestRunStreamsTheAnswerAndFollowsTheJob(t *testing.T) {
	t.Parallel()
	srv := fake(t)
	r := cli(t, srv, "-poll", "2ms", "run", toolhousetest.DemoAgentID, "Chart", "bird", "hearts")
	require.Equal(t, exitOK, r.code, r.stderr)

	// The answer is on stdout, text only, from before and after the job,
	// which starts a paragraph of its own (as Collect gives it); a pipe
	// gets no newline the agent did not write.
	assert.Equal(t, "Let me look that up. A hummingbird's heart can beat more than 1,200 times a minute! "+
		"I'm charting heart rates by species with the code interpreter; it runs in the background.\n\n"+
		"The chart is ready: a hummingbird's heart beats about 7 times faster than a pigeon's, "+
		"and 20 times faster than an ostrich's.", r.stdout)
	// The run ID, the tool calls and the job are on stderr.
	reqs := srv.Requests()
	require.NotEmpty(t, reqs)
	runID := ""
	for _, line := range strings.Split(r.stderr, "\n") {
		if id, ok := strings.CutPrefix(line, "toolhouse: run "); ok {
			runID = id
		}
	}
	require.NotEmpty(t, runID, "the run ID is on stderr: %s", r.stderr)
	assert.Contains(t, r.stderr, "background job")
	assert.Contains(t, r.stderr, "finished")
	assert.Contains(t, r.stderr, "calling code_interpreter")
	assert.Contains(t, r.stderr, "toolhouse run -run "+runID+" "+toolhousetest.DemoAgentID)

	var calls []string
	for _, req := range reqs {
		if req.API == toolhousetest.WorkersAPI {
			calls = append(calls, req.Method+" "+req.Path)
		}
	}
	require.GreaterOrEqual(t, len(calls), 3, "%v", calls)
	assert.Equal(t, "POST /ndjson/"+toolhousetest.DemoAgentID, calls[0])
	assert.Equal(t, "PUT /ndjson/"+toolhousetest.DemoAgentID+"/"+runID, calls[len(calls)-1], "the run is resumed after the job")

	// -run continues the same run.
	r2 := cli(t, srv, "-poll", "2ms", "run", "-run", runID, toolhousetest.DemoAgentID, "Thanks!")
	require.Equal(t, exitOK, r2.code, r2.stderr)
	assert.NotEmpty(t, r2.stdout)
	assert.Contains(t, r2.stderr, "toolhouse: run "+runID)
}

func TestTextAfterAJobStartsAParagraph(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ before, after, want string }{
		{"Before.", "After.", "Before.\n\nAfter."},
		{"Before.\n", "After.", "Before.\n\nAfter."},
		{"Before.", "\nAfter.", "Before.\n\nAfter."},
		{"Before.\n\n", "After.", "Before.\n\nAfter."},
		{"", "After.", "After."}, // nothing to separate from
	} {
		var out bytes.Buffer
		p := &printer{t: &terminal{out: &out, err: io.Discard}}
		for _, ev := range []toolhouse.Event{
			{Type: toolhouse.EventTextDelta, Text: tc.before},
			{Type: toolhouse.EventJobStarted, JobID: "job-1"},
			{Type: toolhouse.EventJobFinished, JobID: "job-1"},
			{Type: toolhouse.EventTextDelta, Text: tc.after},
			{Type: toolhouse.EventTextDelta, Text: " More."},
		} {
			require.NoError(t, p.event(ev))
		}
		assert.Equal(t, tc.want+" More.", out.String(), "%q then %q", tc.before, tc.after)
	}
}

func TestPrinterOnATerminal(t *testing.T) {
	t.Parallel()
	hostile := toolhouse.Event{Type: toolhouse.EventTextDelta, Text: "A\x1b]0;pwned\x07B\u202e",
		Raw: json.RawMessage("{\"type\":\"text-delta\",\"textDelta\":\"A\\u001b]0;pwned\\u0007B\u202e\"}")}
	for _, tc := range []struct {
		tty, asJSON bool
		want        string
	}{
		{false, false, "A\x1b]0;pwned\x07B\u202e"},
		{true, false, "A\uFFFD]0;pwned\uFFFDB\uFFFD"},
		{false, true, string(hostile.Raw) + "\n"},
		{true, true, `{"type":"text-delta","textDelta":"A\u001b]0;pwned\u0007B\u202e"}` + "\n"},
	} {
		var out bytes.Buffer
		p := &printer{t: &terminal{out: &out, err: io.Discard, tty: tc.tty}, asJSON: tc.asJSON}
		require.NoError(t, p.event(hostile))
		assert.Equal(t, tc.want, out.String(), "tty %t, json %t", tc.tty, tc.asJSON)
	}
}

func TestRunJSONWritesEveryEvent(t *testing.T) {
	t.Parallel()
	srv := fake(t)
	r := cli(t, srv, "-poll", "2ms", "run", "-json", toolhousetest.DemoAgentID)
	require.Equal(t, exitOK, r.code, r.stderr)
	var types []string
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var ev struct {
			Type  string `json:"type"`
			JobID string `json:"jobId"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &ev), "every stdout line is JSON: %q", line)
		types = append(types, ev.Type)
		if ev.Type == toolhouse.EventJobStarted {
			assert.NotEmpty(t, ev.JobID, "a job event names its job")
		}
	}
	assert.Contains(t, types, toolhouse.EventTextDelta)
	assert.Contains(t, types, toolhouse.EventToolCall)
	assert.Contains(t, types, toolhouse.EventToolResult)
	assert.Contains(t, types, toolhouse.EventJobStarted)
	assert.Contains(t, types, toolhouse.EventJobFinished)
	started := indexOf(types, toolhouse.EventJobStarted)
	assert.Less(t, started, indexOf(types, toolhouse.EventJobFinished))
	assert.Contains(t, types[indexOf(types, toolhouse.EventJobFinished):], toolhouse.EventTextDelta, "the answer after the job follows")
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func TestRunWithVarsFollowsTheJobToo(t *testing.T) {
	t.Parallel()
	srv := fake(t)
	r := cli(t, srv, "-poll", "2ms", "run", "-var", "city=Rome", "-bundle", "weather tools", toolhousetest.DemoAgentID, "hi")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "finished; the answer goes on")
	var posted bool
	for _, req := range srv.Requests() {
		if req.Method == http.MethodPost && req.API == toolhousetest.WorkersAPI {
			assert.JSONEq(t, `{"message":"hi","vars":{"city":"Rome"}}`, string(req.Body))
			assert.Equal(t, "weather tools", req.Query.Get("bundle"))
			posted = true
		}
	}
	assert.True(t, posted)
}

func TestRunMessageFromStdin(t *testing.T) {
	t.Parallel()
	srv := fake(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary.Path(t), "-poll", "2ms", "run", toolhousetest.DemoAgentID, "-")
	cmd.Env = []string{"HOME=" + t.TempDir(), "TOOLHOUSE_API_KEY=" + srv.APIKey(),
		"TOOLHOUSE_API_URL=" + srv.BaseURL(), "TOOLHOUSE_AGENTS_URL=" + srv.AgentsURL()}
	cmd.Stdin = strings.NewReader("a message from a pipe\n")
	out, err := cmd.Output()
	require.NoError(t, err)
	assert.NotEmpty(t, out)
	var posted int
	for _, req := range srv.Requests() {
		if req.Method == http.MethodPost {
			assert.JSONEq(t, `{"message":"a message from a pipe"}`, string(req.Body))
			posted++
		}
	}
	assert.Equal(t, 1, posted, "one POST, with the message from stdin")
}

func TestRunAnErrorEventFails(t *testing.T) {
	t.Parallel()
	workers := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Toolhouse-Run-Id", "run-1")
		fmt.Fprint(w, `{"type":"text-delta","textDelta":"Partial"}`+"\n"+`{"type":"error","error":"the model is overloaded"}`+"\n")
	}))
	defer workers.Close()
	r := cliEnv(t, []string{"HOME=" + t.TempDir(), "TOOLHOUSE_AGENTS_URL=" + workers.URL}, "run", "agent-1")
	assert.Equal(t, exitFailed, r.code)
	assert.Equal(t, "Partial", r.stdout)
	assert.Contains(t, r.stderr, "the model is overloaded")
}

func TestRunEscapesTerminalSequencesOnlyOnATerminal(t *testing.T) {
	t.Parallel()
	// A hostile server's text reaches a pipe byte for byte (scripts get
	// exactly what was sent); the table and stderr never carry controls.
	workers := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Toolhouse-Run-Id", "run-\u202e1")
		fmt.Fprint(w, `{"type":"text-delta","textDelta":"A\u001b]0;pwned\u0007B"}`+"\n"+
			`{"type":"tool-call","toolName":"x\u001b[2Jy","toolCallId":"c","args":{}}`+"\n")
	}))
	defer workers.Close()
	r := cliEnv(t, []string{"HOME=" + t.TempDir(), "TOOLHOUSE_AGENTS_URL=" + workers.URL}, "run", "agent-1")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "A\x1b]0;pwned\x07B", r.stdout, "a pipe gets the text as sent")
	assert.NotContains(t, r.stderr, "\x1b", "stderr is for people")
	assert.NotContains(t, r.stderr, "\u202e", "no bidi override reorders what people read")
	assert.Contains(t, r.stderr, "toolhouse: run run-\uFFFD1")
	assert.Contains(t, r.stderr, "calling x\uFFFD[2Jy")

	assert.Equal(t, "A\uFFFD]0;pwned\uFFFDB", sanitizeText("A\x1b]0;pwned\x07B"))

	// -json on a terminal: the runes a terminal acts on become JSON
	// escapes, so that what a person sees decodes to what was sent.
	raw := "{\n  \"title\": \"a\u202eb\u009b2Jc\xffd\",\t\"n\": 1\r\n}\n"
	escaped := escapeForTerminal([]byte(raw))
	assert.Equal(t, "{\n  \"title\": \"a\\u202eb\\u009b2Jc\\ufffdd\",\t\"n\": 1\r\n}\n", string(escaped))
	var got, want map[string]any
	require.NoError(t, json.Unmarshal(escaped, &got))
	require.NoError(t, json.Unmarshal([]byte(raw), &want))
	assert.Equal(t, want, got, "the same JSON value")
	assert.Equal(t, "a b \uFFFD c\uFFFD", sanitize("a\nb\t\u202e c\x9b"))
}

func TestInterruptEndsAStreamCleanly(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	workers := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Toolhouse-Run-Id", "run-1")
		fmt.Fprint(w, `{"type":"text-delta","textDelta":"thinking"}`+"\n")
		w.(http.Flusher).Flush()
		close(started)
		<-r.Context().Done() // the answer never ends on its own
	}))
	defer workers.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary.Path(t), "run", "agent-1")
	cmd.Env = []string{"HOME=" + t.TempDir(), "TOOLHOUSE_AGENTS_URL=" + workers.URL}
	var stdout, stderr clitest.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatal("the command never called the worker")
	}
	// The event is written once its line arrives; wait for it on stdout.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stdout.String(), "thinking"); {
		require.True(t, time.Now().Before(deadline), "the first event never reached stdout")
		time.Sleep(time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	err := cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, exitInterrupted, exit.ExitCode())
	assert.Equal(t, "thinking", stdout.String())
	assert.Contains(t, stderr.String(), "toolhouse: interrupted")
	assert.NotContains(t, stderr.String(), "goroutine", "no panic or stack")
}

func TestRunsCreateWaitGetList(t *testing.T) {
	t.Parallel()
	srv := fake(t)
	r := cli(t, srv, "-poll", "2ms", "runs", "create", toolhousetest.DemoChatID, "-wait", "-var", "name=Ada", "-json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var run toolhouse.AgentRun
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &run), r.stdout)
	assert.Equal(t, toolhouse.RunCompleted, run.Status)
	assert.Equal(t, toolhousetest.DemoChatID, run.ChatID)
	assert.Equal(t, map[string]string{"name": "Ada"}, run.Vars)
	assert.NotEmpty(t, run.Results)
	assert.Contains(t, r.stderr, "waiting for it")
	// Scripts read these names (the API's own): they must not change with
	// a Go field's name.
	var fields map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &fields))
	for name, want := range map[string]any{
		"id": run.ID, "chat_id": toolhousetest.DemoChatID, "status": "completed",
		"last_agent_message": run.LastAgentMessage, "vars": map[string]any{"name": "Ada"},
	} {
		assert.Equal(t, want, fields[name], name)
	}
	assert.Regexp(t, `^\d{4}-\d\d-\d\dT`, fields["created_at"])
	assert.NotEmpty(t, fields["results"])

	r = cli(t, srv, "runs", "get", run.ID)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Regexp(t, `(?m)^ID\s+`+run.ID+`$`, r.stdout)
	assert.Regexp(t, `(?m)^Status\s+completed$`, r.stdout)
	assert.Contains(t, r.stdout, run.LastAgentMessage[:20])

	r = cli(t, srv, "runs", "list")
	require.Equal(t, exitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 2)
	assert.Regexp(t, `^ID\s+STATUS\s+CHAT\s+CREATED\s+LAST MESSAGE$`, lines[0])
	assert.True(t, strings.HasPrefix(lines[1], run.ID), lines[1])

	r = cli(t, srv, "runs", "list", "-json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var runs []toolhouse.AgentRun
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &runs))
	require.Len(t, runs, 1)
	assert.Equal(t, run.ID, runs[0].ID)
}

func TestSchedules(t *testing.T) {
	t.Parallel()
	srv := fake(t)
	r := cli(t, srv, "schedules", "cron", "sundays", "at", "5pm", "UTC")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "0 17 * * 0\n", r.stdout)

	r = cli(t, srv, "schedules", "create", toolhousetest.DemoChatID, "every", "day", "at", "9am", "-json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var sched toolhouse.Schedule
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &sched), r.stdout)
	assert.Equal(t, "0 9 * * *", sched.Cadence, "plain text goes through text-to-cron")
	assert.True(t, sched.Active)

	r = cli(t, srv, "schedules", "create", toolhousetest.DemoChatID, "*/30 * * * *")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Regexp(t, `(?m)^Cadence\s+\*/30 \* \* \* \*$`, r.stdout, "a cron expression is sent as it is")

	r = cli(t, srv, "schedules", "pause", sched.ID, "-json")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &sched))
	assert.False(t, sched.Active)
	r = cli(t, srv, "schedules", "resume", sched.ID)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Regexp(t, `(?m)^Active\s+true$`, r.stdout)

	r = cli(t, srv, "schedules", "list")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Len(t, strings.Split(strings.TrimSpace(r.stdout), "\n"), 3, "a header and two schedules")

	r = cli(t, srv, "schedules", "delete", sched.ID)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "deleted schedule "+sched.ID+"\n", r.stdout)
	r = cli(t, srv, "schedules", "delete", sched.ID)
	assert.Equal(t, exitFailed, r.code)
	assert.Contains(t, r.stderr, "Schedule not found")
}

// TestPauseReadsTheScheduleBack covers the server the documents describe,
// whose PUT answers {}: pause still shows the schedule, as JSON too.
func TestPauseReadsTheScheduleBack(t *testing.T) {
	t.Parallel()
	const id = "0b8e1c7e-5d2a-4f8e-9c3b-7a1d2e3f4a5b"
	var mu sync.Mutex
	var calls []string
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPut {
			fmt.Fprint(w, `{}`)
			return
		}
		fmt.Fprint(w, `{"data":{"id":"`+id+`","chat_id":"a3a26d33-6f4d-4490-a56f-e17f867ba451","cadence":"0 17 * * 0",`+
			`"active":false,"created_at":"2025-01-15T01:46:23.568338"}}`)
	}))
	defer platform.Close()
	r := cliEnv(t, []string{"HOME=" + t.TempDir(), "TOOLHOUSE_API_KEY=th-test", "TOOLHOUSE_API_URL=" + platform.URL},
		"schedules", "pause", id, "-json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var sched map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &sched), r.stdout)
	assert.Equal(t, id, sched["id"])
	assert.Equal(t, false, sched["active"])
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"PUT /v1/schedules/" + id, "GET /v1/schedules/" + id}, calls)
}

func TestErrors(t *testing.T) {
	t.Parallel()
	srv := fake(t)
	r := cli(t, srv, "runs", "get", "00000000-0000-4000-8000-000000000000")
	assert.Equal(t, exitFailed, r.code)
	assert.Contains(t, r.stderr, "404")
	assert.Empty(t, r.stdout)

	// No key anywhere: the platform call fails before sending.
	r = cliEnv(t, []string{"HOME=" + t.TempDir(), "TOOLHOUSE_API_URL=" + srv.BaseURL()}, "runs", "list")
	assert.Equal(t, exitFailed, r.code)
	assert.Equal(t, "toolhouse: no API key: set TOOLHOUSE_API_KEY, or run `th login` to write ~/.toolhouse\n", r.stderr)

	// A key from ~/.toolhouse, as th writes it, is used and never shown.
	home := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(home, ".toolhouse"), []byte("TOOLHOUSE_API_KEY=th-wrong-key"), 0o600))
	r = cliEnv(t, []string{"HOME=" + home, "TOOLHOUSE_API_URL=" + srv.BaseURL()}, "runs", "list")
	assert.Equal(t, exitFailed, r.code)
	assert.Contains(t, r.stderr, "401")
	assert.NotContains(t, r.stderr+r.stdout, "th-wrong-key")
}

func TestAgents(t *testing.T) {
	t.Parallel()
	// The export answers the agents calls with the bare AgentModel; other
	// servers wrap it in {"data": ...}. The command reads both.
	for _, tc := range []struct {
		name string
		opts []toolhousetest.Option
	}{
		{"bare", nil},
		{"wrapped", []toolhousetest.Option{toolhousetest.WithWrappedAgents()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := fake(t, tc.opts...)
			client, err := srv.Client()
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			mine, err := client.Agents.Create(ctx, toolhouse.AgentCreateParams{
				Title: "Pet facts", Prompt: "Tell me a pet fact.\nMake it fun.", Model: "claude-3-5-sonnet-latest",
				MCPServers: []string{"https://mcp.example.com/sse"},
			})
			require.NoError(t, err)

			r := cli(t, srv, "agents", "list")
			require.Equal(t, exitOK, r.code, r.stderr)
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			require.Len(t, lines, 3, r.stdout)
			assert.Regexp(t, `^ID\s+TITLE\s+PUBLIC\s+MODEL\s+RUNS\s+UPDATED$`, lines[0])
			assert.Regexp(t, `^`+toolhousetest.DemoAgentID+`\s+Bird hearts\s+true\s+0\s+\d{4}-`, lines[1])
			assert.Regexp(t, `^`+mine.ID+`\s+Pet facts\s+false\s+claude-3-5-sonnet-latest\s+0\s+\d{4}-`, lines[2])

			r = cli(t, srv, "agents", "list", "-json")
			require.Equal(t, exitOK, r.code, r.stderr)
			var all []toolhouse.Agent
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &all), r.stdout)
			require.Len(t, all, 2)
			assert.Equal(t, mine.ID, all[1].ID)

			r = cli(t, srv, "agents", "get", mine.ID)
			require.Equal(t, exitOK, r.code, r.stderr)
			assert.Regexp(t, `(?m)^Title\s+Pet facts$`, r.stdout)
			assert.Regexp(t, `(?m)^MCP servers\s+https://mcp.example.com/sse$`, r.stdout)
			assert.True(t, strings.HasSuffix(r.stdout, "\n\nTell me a pet fact.\nMake it fun.\n"), "the prompt comes last: %q", r.stdout)

			r = cli(t, srv, "agents", "get", toolhousetest.DemoAgentID, "-json")
			require.Equal(t, exitOK, r.code, r.stderr)
			var demo toolhouse.Agent
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &demo))
			assert.Equal(t, toolhousetest.DemoAgentID, demo.ID)
			assert.Equal(t, []string{"code_interpreter", "web_search"}, demo.Tools)

			r = cli(t, srv, "agents", "get", "00000000-0000-4000-8000-000000000000")
			assert.Equal(t, exitFailed, r.code)
			assert.Contains(t, r.stderr, "Agent not found")
			assert.Empty(t, r.stdout)
		})
	}
}
