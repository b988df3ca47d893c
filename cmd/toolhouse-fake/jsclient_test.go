package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/toolhouseai/toolhouse-go/toolhousetest"
)

// demoFirstAnswer is the text of the demo agent's first answer, up to its
// background job.
const demoFirstAnswer = "Let me look that up. A hummingbird's heart can beat more than 1,200 times a minute! " +
	"I'm charting heart rates by species with the code interpreter; it runs in the background."

// jsClient returns node and the directory of the installed official
// JavaScript client, or skips the test saying what is missing.
func jsClient(t *testing.T) (node, dir string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH; .ci/run installs Debian's nodejs package when it can")
	}
	dir = os.Getenv("TOOLHOUSE_JS_CLIENT_DIR")
	if dir == "" {
		t.Skip("TOOLHOUSE_JS_CLIENT_DIR is not set: run `npm install @toolhouseai/client` in a temporary directory " +
			"and set it to that directory's node_modules/@toolhouseai/client (.ci/run sets it to the package it downloads)")
	}
	dir, err = filepath.Abs(dir)
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(dir, "index.js"))
	require.NoError(t, err, "TOOLHOUSE_JS_CLIENT_DIR must be the installed package's directory")
	return node, dir
}

// TestOfficialJSClient runs the official JavaScript client,
// @toolhouseai/client from the npm registry, with Node against the built
// fake (testdata/jsclient.mjs): it starts a conversation with the demo
// agent, meets the job's 409, and continues twice once -job-time has
// passed, without ever polling. It needs node on PATH and the package's
// files in TOOLHOUSE_JS_CLIENT_DIR; .ci/run provides both when it can.
func TestOfficialJSClient(t *testing.T) {
	t.Parallel()
	node, dir := jsClient(t)
	script, err := filepath.Abs(filepath.Join("testdata", "jsclient.mjs"))
	require.NoError(t, err)

	// The job must outlast the script's first answer and its early
	// message: 70 to 150ms from sending the first to the 409 of the second
	// on an idle machine (Node's first request included), several times
	// that on a loaded one. An early message that came after the job would
	// be taken as the resume and fail the test, so the job runs a second
	// of the wall clock, which the script waits out once.
	const jobTime = time.Second
	fake := startFake(t, buildFake(t), "-job-time", jobTime.String())
	cmd := exec.CommandContext(testContext(t), node, script)
	cmd.Env = append(os.Environ(),
		"TOOLHOUSE_JS_CLIENT_DIR="+dir,
		"TOOLHOUSE_AGENTS_URL="+fake.env["TOOLHOUSE_AGENTS_URL"],
		"TOOLHOUSE_AGENT_ID="+toolhousetest.DemoAgentID,
		"TOOLHOUSE_JOB_TIME_MS="+strconv.FormatInt(jobTime.Milliseconds(), 10),
	)
	out, err := cmd.Output()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		t.Fatalf("node %s: %v\n%s", script, err, exitErr.Stderr)
	}
	require.NoError(t, err)

	var got struct {
		First, RunID, Early, Second, Third string
		EarlyWithinJobTime, SameRun        bool
	}
	require.NoError(t, json.Unmarshal(out, &got), "the script prints one JSON object: %s", out)
	assert.Equal(t, demoFirstAnswer, got.First)
	assert.NotEmpty(t, got.RunID, "the client took the run ID from x-toolhouse-run-id")
	if got.EarlyWithinJobTime {
		assert.Equal(t, "Request failed: HTTP error! status: 409", got.Early, "a PUT while the job runs")
	}
	assert.Equal(t, "The chart is ready: a hummingbird's heart beats about 7 times faster than a pigeon's, "+
		"and 20 times faster than an ostrich's.", got.Second, "the job ended by itself")
	assert.Equal(t, "You first asked me: “How fast does a hummingbird's heart beat?” "+
		"My last answer was: “The chart is ready: a hummingbird's heart beats about 7 times faster than a pigeon's, "+
		"and 20 times faster than an ostrich's.” Now you say: “Which one is the fastest?”", got.Third)
	assert.True(t, got.SameRun, "one conversation, one run")

	assert.Equal(t, 0, fake.stop(t, syscall.SIGTERM))
}

// TestREADMEJSSnippet runs the README's JavaScript as a user copies it: a
// module next to node_modules/@toolhouseai/client, with
// TOOLHOUSE_AGENTS_URL from the fake.
func TestREADMEJSSnippet(t *testing.T) {
	t.Parallel()
	node, dir := jsClient(t)
	version, err := exec.Command(node, "-p", "process.versions.node").Output()
	require.NoError(t, err)
	var major, minor int
	_, err = fmt.Sscanf(string(version), "%d.%d", &major, &minor)
	require.NoError(t, err, "node version %q", version)
	if major < 20 || (major == 20 && minor < 19) {
		// The README says so: the package is ES module code in a .js file
		// of a package without "type": "module".
		t.Skipf("node %s cannot import the package by name; the README asks for Node 20.19 or newer", bytes.TrimSpace(version))
	}

	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(readme), "\n```js\n")
	require.True(t, ok, "README.md has a ```js block")
	snippet, _, ok := strings.Cut(rest, "\n```\n")
	require.True(t, ok, "the ```js block of README.md ends")
	work := t.TempDir()
	modules := filepath.Join(work, "node_modules", "@toolhouseai")
	require.NoError(t, os.MkdirAll(modules, 0o755))
	require.NoError(t, os.Symlink(dir, filepath.Join(modules, "client")))
	require.NoError(t, os.WriteFile(filepath.Join(work, "readme.mjs"), []byte(snippet+"\n"), 0o644))

	fake := startFake(t, buildFake(t))
	cmd := exec.CommandContext(testContext(t), node, "readme.mjs")
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "TOOLHOUSE_AGENTS_URL="+fake.env["TOOLHOUSE_AGENTS_URL"])
	out, err := cmd.Output()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		t.Fatalf("node readme.mjs: %v\n%s", err, exitErr.Stderr)
	}
	require.NoError(t, err)
	assert.Equal(t, demoFirstAnswer+"\n", string(out))
	assert.Equal(t, 0, fake.stop(t, syscall.SIGTERM))
}
