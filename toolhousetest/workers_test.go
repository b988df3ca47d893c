package toolhousetest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/toolhouseai/toolhouse-go"
)

// ndjsonLines reads a whole NDJSON body with the SDK's decoder.
func ndjsonLines(t *testing.T, resp *http.Response) []map[string]any {
	t.Helper()
	defer resp.Body.Close()
	dec := toolhouse.NewDecoder(resp.Body)
	var lines []map[string]any
	for {
		var v map[string]any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return lines
		}
		require.NoError(t, err)
		lines = append(lines, v)
	}
}

func lineTypes(lines []map[string]any) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i], _ = l["type"].(string)
	}
	return out
}

// history GETs a run's messages, decoded as the SDK decodes them.
func history(t *testing.T, srv *Server, agentID, runID, key string) ([]toolhouse.Message, http.Header) {
	t.Helper()
	resp := call(t, srv, http.MethodGet, srv.AgentsURL()+"/"+agentID+"/"+runID, key, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var msgs []toolhouse.Message
	require.NoError(t, json.Unmarshal(readBody(t, resp), &msgs))
	return msgs, resp.Header
}

var weatherAgent = Agent{
	ID: "weather",
	Turns: []Turn{
		{
			Say("Checking the weather."),
			CallTool("get_weather", map[string]any{"city": "Rome"}, map[string]any{"sky": "sunny", "celsius": 24}),
			Say("It is sunny in Rome, 24 degrees."),
		},
		{Say("Tomorrow looks sunny too.")},
	},
}

func TestWorkerNDJSONStream(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, WithAgent(weatherAgent))
	resp := call(t, srv, http.MethodPost, srv.AgentsURL()+"/ndjson/weather", "", map[string]any{"message": "Weather in Rome?"})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/x-ndjson", resp.Header.Get("Content-Type"))
	runID := resp.Header.Get("X-Toolhouse-Run-ID")
	assert.True(t, isUUID(runID))
	assert.Empty(t, resp.Header.Get("X-Toolhouse-Job-ID"))

	lines := ndjsonLines(t, resp)
	var text strings.Builder
	var toolCall, result map[string]any
	for _, l := range lines {
		switch l["type"] {
		case "text-delta":
			text.WriteString(l["textDelta"].(string))
		case "tool-call":
			toolCall = l
		case "tool-result":
			result = l
		}
	}
	assert.Equal(t, "Checking the weather. It is sunny in Rome, 24 degrees.", text.String())
	assert.Greater(t, len(lines), 5, "text arrives in pieces")
	assert.Equal(t, map[string]any{"type": "finish", "finishReason": "stop"}, lines[len(lines)-1])
	require.NotNil(t, toolCall)
	require.NotNil(t, result)
	assert.Equal(t, "get_weather", toolCall["toolName"])
	assert.Equal(t, map[string]any{"city": "Rome"}, toolCall["args"])
	assert.Equal(t, toolCall["toolCallId"], result["toolCallId"])
	assert.Equal(t, map[string]any{"sky": "sunny", "celsius": float64(24)}, result["result"])

	msgs, hdr := history(t, srv, "weather", runID, "")
	assert.Equal(t, runID, hdr.Get("X-Toolhouse-Run-ID"))
	assert.Empty(t, hdr.Get("X-Toolhouse-Job-ID"))
	require.Len(t, msgs, 4)
	assert.Equal(t, "user", msgs[0].Role)
	assert.Equal(t, "Weather in Rome?", msgs[0].Text())
	assert.Equal(t, "assistant", msgs[1].Role)
	require.Len(t, msgs[1].Content, 2)
	assert.Equal(t, "text", msgs[1].Content[0].Type)
	assert.Equal(t, "tool-call", msgs[1].Content[1].Type)
	assert.Equal(t, "tool", msgs[2].Role)
	assert.Equal(t, "tool-result", msgs[2].Content[0].Type)
	assert.Equal(t, toolCall["toolCallId"], msgs[2].Content[0].ToolCallID)
	assert.JSONEq(t, `{"sky":"sunny","celsius":24}`, string(msgs[2].Content[0].Result))
	assert.Equal(t, "It is sunny in Rome, 24 degrees.", msgs[3].Text())

	// PUT continues the same run with the next turn.
	resp = call(t, srv, http.MethodPut, srv.AgentsURL()+"/ndjson/weather/"+runID, "", map[string]any{"message": "And tomorrow?"})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, runID, resp.Header.Get("X-Toolhouse-Run-ID"))
	assert.Equal(t, []string{"text-delta", "text-delta", "text-delta", "text-delta", "finish"}, lineTypes(ndjsonLines(t, resp)))
	msgs, _ = history(t, srv, "weather", runID, "")
	require.Len(t, msgs, 6)
	assert.Equal(t, "And tomorrow?", msgs[4].Text())
	assert.Equal(t, "Tomorrow looks sunny too.", msgs[5].Text())
}

func TestWorkerTextStream(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, WithAgent(weatherAgent))
	resp := call(t, srv, http.MethodPost, srv.AgentsURL()+"/weather", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
	runID := resp.Header.Get("X-Toolhouse-Run-ID")
	require.NotEmpty(t, runID)

	// Pieces arrive one by one: the first read returns before the end.
	r := bufio.NewReader(resp.Body)
	first, err := r.ReadString(' ')
	require.NoError(t, err)
	assert.Equal(t, "Checking ", first)
	rest, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, "the weather. It is sunny in Rome, 24 degrees.", string(rest), "no tool calls in text")

	// With no body the agent's default message opens the history; Agent
	// has none here, so nothing is recorded for the user.
	msgs, _ := history(t, srv, "weather", runID, "")
	assert.Equal(t, "assistant", msgs[0].Role)

	resp = call(t, srv, http.MethodPut, srv.AgentsURL()+"/weather/"+runID, "", map[string]any{"message": "And tomorrow?"})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, runID, resp.Header.Get("X-Toolhouse-Run-ID"))
	assert.Equal(t, "Tomorrow looks sunny too.", string(readBody(t, resp)))

	resp = call(t, srv, http.MethodPut, srv.AgentsURL()+"/weather/"+runID, "", map[string]any{"message": "thanks"})
	assert.Equal(t, "You said: thanks", string(readBody(t, resp)), "past the script the agent echoes")
}

// TestWorkerStreamsPieceByPiece shows each piece is flushed as it is
// written: with an hour between pieces, the first still arrives, and
// cancelling the request ends the handler (so Close does not hang).
func TestWorkerStreamsPieceByPiece(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, WithStreamDelay(time.Hour))
	for _, path := range []string{"/" + DemoAgentID, "/ndjson/" + DemoAgentID} {
		ctx, cancel := context.WithCancel(testContext(t))
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.AgentsURL()+path, nil)
		require.NoError(t, err)
		resp, err := srv.HTTPClient().Do(req)
		require.NoError(t, err)
		assert.Equal(t, int64(-1), resp.ContentLength, "a stream has no length")
		buf := make([]byte, 64)
		n, err := resp.Body.Read(buf)
		require.NoError(t, err)
		if path == "/"+DemoAgentID {
			assert.Equal(t, "Let ", string(buf[:n]))
		} else {
			assert.Equal(t, `{"type":"text-delta","textDelta":"Let "}`+"\n", string(buf[:n]))
		}
		cancel()
		resp.Body.Close()
	}
}

func TestWorkerBackgroundJobCycle(t *testing.T) {
	t.Parallel()
	clk := newClock()
	srv, _ := start(t, WithClock(clk.Now), WithJobTime(time.Minute))
	agentURL := srv.AgentsURL() + "/" + DemoAgentID

	resp := call(t, srv, http.MethodPost, srv.AgentsURL()+"/ndjson/"+DemoAgentID, "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	runID := resp.Header.Get("X-Toolhouse-Run-ID")
	jobID := resp.Header.Get("X-Toolhouse-Job-ID")
	require.NotEmpty(t, jobID, "the demo agent's first answer starts a job")
	lines := ndjsonLines(t, resp)
	assert.Contains(t, lineTypes(lines), "tool-call")
	assert.Equal(t, "finish", lines[len(lines)-1]["type"])

	// Running: the GET says so, however often it looks, and a PUT is
	// refused.
	for range 3 {
		_, hdr := history(t, srv, DemoAgentID, runID, "")
		assert.Equal(t, jobID, hdr.Get("X-Toolhouse-Job-ID"))
	}
	resp = call(t, srv, http.MethodPut, agentURL+"/"+runID, "", map[string]any{"message": ""})
	assert.Equal(t, http.StatusConflict, resp.StatusCode)
	assert.Equal(t, jobID, resp.Header.Get("X-Toolhouse-Job-ID"))
	assert.Contains(t, decode[map[string]string](t, resp)["error"], "background job")
	resp = call(t, srv, http.MethodPut, srv.AgentsURL()+"/ndjson/"+DemoAgentID+"/"+runID, "", map[string]any{"message": "hi"})
	assert.Equal(t, http.StatusConflict, resp.StatusCode)

	// A new POST is fine while the job runs.
	resp = call(t, srv, http.MethodPost, agentURL, "", map[string]any{"message": "another"})
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.NotEqual(t, runID, resp.Header.Get("X-Toolhouse-Run-ID"))
	readBody(t, resp)

	// A second short of the job time it still runs; at the job time it is
	// over, with no GET in between: the PUT goes straight through, as the
	// official JavaScript client (which never polls) needs.
	clk.Advance(time.Minute - time.Second)
	resp = call(t, srv, http.MethodPut, agentURL+"/"+runID, "", map[string]any{"message": ""})
	assert.Equal(t, http.StatusConflict, resp.StatusCode)
	readBody(t, resp)
	clk.Advance(time.Second)
	before := len(srv.Requests())
	resp = call(t, srv, http.MethodPut, agentURL+"/"+runID, "", map[string]any{"message": ""})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, resp.Header.Get("X-Toolhouse-Job-ID"))
	assert.Equal(t, "The chart is ready: a hummingbird's heart beats about 7 times faster than a pigeon's, "+
		"and 20 times faster than an ostrich's.", string(readBody(t, resp)),
		"after a full stop the resumed answer starts afresh")
	assert.Len(t, srv.Requests(), before+1)

	msgs, hdr := history(t, srv, DemoAgentID, runID, "")
	assert.Empty(t, hdr.Get("X-Toolhouse-Job-ID"))
	assert.Equal(t, "user", msgs[0].Role, "the default message opens the history")
	assert.True(t, strings.HasPrefix(msgs[len(msgs)-1].Text(), "The chart is ready"))
	assert.False(t, srv.FinishJob(jobID), "the job is over")
}

func TestWorkerJobTime(t *testing.T) {
	t.Parallel()
	clk := newClock()
	agent := Agent{ID: "cruncher", Turns: []Turn{
		{Say("Starting."), StartJob()},
		{Say("Again."), StartJobFor(time.Hour)},
		{Say("Once more."), StartJob()},
	}}
	srv, _ := start(t, WithAgent(agent), WithClock(clk.Now), WithJobTime(0))

	// Job time 0: the answer names the job, which is over by the next
	// request.
	resp := call(t, srv, http.MethodPost, srv.AgentsURL()+"/cruncher", "", map[string]any{"message": "go"})
	runID, first := resp.Header.Get("X-Toolhouse-Run-ID"), resp.Header.Get("X-Toolhouse-Job-ID")
	readBody(t, resp)
	require.NotEmpty(t, first)
	_, hdr := history(t, srv, "cruncher", runID, "")
	assert.Empty(t, hdr.Get("X-Toolhouse-Job-ID"))

	// A step's own duration beats the server's job time.
	resp = call(t, srv, http.MethodPut, srv.AgentsURL()+"/cruncher/"+runID, "", map[string]any{"message": ""})
	second := resp.Header.Get("X-Toolhouse-Job-ID")
	assert.Equal(t, "Again.", string(readBody(t, resp)))
	require.NotEmpty(t, second)
	assert.NotEqual(t, first, second)
	clk.Advance(time.Hour - time.Nanosecond)
	_, hdr = history(t, srv, "cruncher", runID, "")
	assert.Equal(t, second, hdr.Get("X-Toolhouse-Job-ID"))
	clk.Advance(time.Nanosecond)
	_, hdr = history(t, srv, "cruncher", runID, "")
	assert.Empty(t, hdr.Get("X-Toolhouse-Job-ID"))
	assert.False(t, srv.FinishJob(second))
}

func TestWorkerJobsFinishedByTheTest(t *testing.T) {
	t.Parallel()
	clk := newClock()
	agent := Agent{ID: "cruncher", Turns: []Turn{
		{Say("Starting."), StartJobFor(0)},
		{Say("Again."), StartJobFor(time.Hour)},
		{Say("All done.")},
	}}
	srv, _ := start(t, WithAgent(agent), WithClock(clk.Now))
	resp := call(t, srv, http.MethodPost, srv.AgentsURL()+"/cruncher", "", map[string]any{"message": "go"})
	runID, jobID := resp.Header.Get("X-Toolhouse-Run-ID"), resp.Header.Get("X-Toolhouse-Job-ID")
	readBody(t, resp)
	require.NotEmpty(t, jobID)

	clk.Advance(24 * time.Hour)
	for range 3 {
		_, hdr := history(t, srv, "cruncher", runID, "")
		require.Equal(t, jobID, hdr.Get("X-Toolhouse-Job-ID"), "a StartJobFor(0) job runs until FinishJob")
	}
	assert.False(t, srv.FinishJob("no-such-job"))
	require.True(t, srv.FinishJob(jobID))
	_, hdr := history(t, srv, "cruncher", runID, "")
	assert.Empty(t, hdr.Get("X-Toolhouse-Job-ID"))

	// FinishJob also ends a timed job early.
	resp = call(t, srv, http.MethodPut, srv.AgentsURL()+"/cruncher/"+runID, "", map[string]any{"message": ""})
	second := resp.Header.Get("X-Toolhouse-Job-ID")
	assert.Equal(t, "Again.", string(readBody(t, resp)))
	require.NotEmpty(t, second)
	require.True(t, srv.FinishJob(second))
	resp = call(t, srv, http.MethodPut, srv.AgentsURL()+"/cruncher/"+runID, "", map[string]any{"message": ""})
	assert.Equal(t, "All done.", string(readBody(t, resp)))
}

// TestWorkerTextReadsRight joins the texts of an answer as a writer would:
// consecutive Say steps, text around a tool call or a job step, and the
// answer resumed after a job.
func TestWorkerTextReadsRight(t *testing.T) {
	t.Parallel()
	agent := Agent{ID: "writer", Turns: []Turn{
		{
			Say("Done"), Say("and done again"), Say(", twice."),
			CallTool("note", map[string]any{"text": "a & b <c>"}, "<ok & fine>"),
			Say("Now a job"), StartJobFor(0), Say("runs"),
		},
		{Say("and it is over."), Say(" Bye.")},
	}}
	srv, _ := start(t, WithAgent(agent))

	resp := call(t, srv, http.MethodPost, srv.AgentsURL()+"/ndjson/writer", "", map[string]any{"message": "go"})
	runID, jobID := resp.Header.Get("X-Toolhouse-Run-ID"), resp.Header.Get("X-Toolhouse-Job-ID")
	raw := string(readBody(t, resp))
	// Arguments and results are sent as a JSON server writes them, not
	// with encoding/json's HTML escapes.
	assert.Contains(t, raw, `"args":{"text":"a & b <c>"}`)
	assert.Contains(t, raw, `"result":"<ok & fine>"`)
	assert.NotContains(t, raw, `\u00`)
	var text strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(raw), "\n") {
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &v))
		if v["type"] == "text-delta" {
			text.WriteString(v["textDelta"].(string))
		}
	}
	assert.Equal(t, "Done and done again, twice. Now a job runs", text.String())

	require.True(t, srv.FinishJob(jobID))
	resp = call(t, srv, http.MethodPut, srv.AgentsURL()+"/writer/"+runID, "", map[string]any{"message": ""})
	assert.Equal(t, " and it is over. Bye.", string(readBody(t, resp)))

	// The history keeps each run of text as one part, spaced the same way.
	resp = call(t, srv, http.MethodGet, srv.AgentsURL()+"/writer/"+runID, "", nil)
	rawHistory := string(readBody(t, resp))
	assert.Contains(t, rawHistory, `"args":{"text":"a & b <c>"}`)
	var msgs []toolhouse.Message
	require.NoError(t, json.Unmarshal([]byte(rawHistory), &msgs))
	var texts []string
	for _, m := range msgs {
		if m.Role == "assistant" {
			texts = append(texts, m.Text())
		}
	}
	assert.Equal(t, []string{"Done and done again, twice.", "Now a job runs", "and it is over. Bye."}, texts)
}

func TestDemoAgentRemembers(t *testing.T) {
	t.Parallel()
	srv, _ := start(t)
	resp := call(t, srv, http.MethodPost, srv.AgentsURL()+"/"+DemoAgentID, "", map[string]any{"message": "Chart three birds"})
	runID, jobID := resp.Header.Get("X-Toolhouse-Run-ID"), resp.Header.Get("X-Toolhouse-Job-ID")
	readBody(t, resp)
	require.True(t, srv.FinishJob(jobID))
	resp = call(t, srv, http.MethodPut, srv.AgentsURL()+"/"+DemoAgentID+"/"+runID, "", map[string]any{"message": "Nice chart!"})
	assert.Contains(t, string(readBody(t, resp)), "The chart is ready")

	resp = call(t, srv, http.MethodPut, srv.AgentsURL()+"/"+DemoAgentID+"/"+runID, "", map[string]any{"message": "Which one is the fastest?"})
	assert.Equal(t, "You first asked me: “Chart three birds.” "+
		"My last answer was: “The chart is ready: a hummingbird's heart beats about 7 times faster than a pigeon's, and 20 times faster than an ostrich's.” "+
		"Now you say: “Which one is the fastest?”", string(readBody(t, resp)))
}

func TestWorkerFailure(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, WithAgent(Agent{ID: "flaky", Turns: []Turn{{Say("Hmm."), Fail("tool crashed")}, {OutOfExecs()}}}))
	resp := call(t, srv, http.MethodPost, srv.AgentsURL()+"/ndjson/flaky", "", map[string]any{"message": "go"})
	runID := resp.Header.Get("X-Toolhouse-Run-ID")
	lines := ndjsonLines(t, resp)
	assert.Equal(t, []string{"text-delta", "error"}, lineTypes(lines))
	assert.Equal(t, "tool crashed", lines[1]["error"])

	resp = call(t, srv, http.MethodPut, srv.AgentsURL()+"/ndjson/flaky/"+runID, "", map[string]any{"message": "retry"})
	lines = ndjsonLines(t, resp)
	assert.Equal(t, []map[string]any{{"type": "error", "error": OutOfExecsMessage}}, lines)
}

func TestWorkerErrors(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, WithAgent(Agent{ID: "secret", Private: true}))
	base := srv.AgentsURL()

	for _, tc := range []struct {
		name, method, path, key string
		body                    any
		status                  int
		msg                     string
	}{
		{"unknown agent", http.MethodPost, "/nobody", "", nil, http.StatusNotFound, "Agent not found"},
		{"unknown agent ndjson", http.MethodPost, "/ndjson/nobody", "", nil, http.StatusNotFound, "Agent not found"},
		{"unknown run", http.MethodGet, "/" + DemoAgentID + "/" + newID(), "", nil, http.StatusNotFound, "Run not found"},
		{"unknown run PUT", http.MethodPut, "/" + DemoAgentID + "/nope", "", map[string]any{"message": "x"}, http.StatusNotFound, "Run not found"},
		{"PUT without message", http.MethodPut, "/" + DemoAgentID + "/nope", "", map[string]any{}, http.StatusBadRequest, "message is required"},
		{"private without key", http.MethodPost, "/secret", "", nil, http.StatusUnauthorized, "Unauthorized"},
		{"private with wrong key", http.MethodPost, "/ndjson/secret", "th-wrong", nil, http.StatusUnauthorized, "Unauthorized"},
		{"GET an agent", http.MethodGet, "/" + DemoAgentID, "", nil, http.StatusMethodNotAllowed, "Method not allowed"},
		{"too deep", http.MethodGet, "/a/b/c", "", nil, http.StatusNotFound, "Not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := call(t, srv, tc.method, base+tc.path, tc.key, tc.body)
			assert.Equal(t, tc.status, resp.StatusCode)
			assert.Equal(t, map[string]string{"error": tc.msg}, decode[map[string]string](t, resp))
		})
	}

	resp := call(t, srv, http.MethodPost, base+"/secret", srv.APIKey(), map[string]any{"message": "hi"})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "You said: hi", string(readBody(t, resp)))
	runID := resp.Header.Get("X-Toolhouse-Run-ID")
	resp = call(t, srv, http.MethodGet, base+"/secret/"+runID, "", nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "a private agent's history needs the key too")

	// A run belongs to its agent.
	resp = call(t, srv, http.MethodGet, base+"/"+DemoAgentID+"/"+runID, "", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	// Worker calls never reach the platform host, and vice versa.
	resp = call(t, srv, http.MethodPost, srv.BaseURL()+"/"+DemoAgentID, "", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.JSONEq(t, `{"detail":"Not Found"}`, string(readBody(t, resp)))
}

func TestWorkerRequestsAreRecorded(t *testing.T) {
	t.Parallel()
	srv, _ := start(t)
	resp := call(t, srv, http.MethodPost, srv.AgentsURL()+"/"+DemoAgentID+"?x=1", "th-some-key",
		map[string]any{"message": "hello", "vars": map[string]string{"name": "Ada"}})
	readBody(t, resp)
	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, WorkersAPI, r.API)
	assert.Equal(t, http.MethodPost, r.Method)
	assert.Equal(t, "/"+DemoAgentID, r.Path)
	assert.Equal(t, "1", r.Query.Get("x"))
	assert.Equal(t, "Bearer th-some-key", r.Header.Get("Authorization"))
	assert.JSONEq(t, `{"message":"hello","vars":{"name":"Ada"}}`, string(r.Body))

	// Requests returns copies.
	reqs[0].Body[0] = 'X'
	reqs[0].Header.Set("Authorization", "changed")
	assert.Equal(t, byte('{'), srv.Requests()[0].Body[0])
	assert.Equal(t, "Bearer th-some-key", srv.Requests()[0].Header.Get("Authorization"))
}
