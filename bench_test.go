package toolhouse_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/toolhouseai/toolhouse-go"
)

// The per-call benchmarks compare an SDK call with the least a caller could
// write by hand on net/http for the same answer: one GET with the same
// Authorization header, io.ReadAll, json.Unmarshal into the same types. Both
// run against the same loopback server in the same process, so the ratio of
// the two sub-benchmarks is the SDK's overhead. BENCHMARKS.md has numbers.

// benchRunID is the run of the seed's completed pet-fact answer.
const benchRunID = "bcb7e865-9e6c-xxxx-xxxx-c0110fdf5c2e"

// benchBody is the seed's completed pet-fact run, verbatim: a real
// {"data": AgentRun} of about 10 KiB with text, tool calls and results.
func benchBody(b *testing.B) []byte {
	b.Helper()
	body, err := os.ReadFile("testdata/platform/agent_run_completed.json")
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// benchServer answers every request with status and body, as JSON.
func benchServer(b *testing.B, status int, body []byte) *httptest.Server {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// benchHTTPClient is a keep-alive client of its own, so that the two sides
// of a comparison never share a connection pool.
func benchHTTPClient(b *testing.B) *http.Client {
	b.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	b.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func benchSDK(b *testing.B, srv *httptest.Server) *toolhouse.Client {
	b.Helper()
	c, err := toolhouse.NewClient(toolhouse.WithoutEnvironment(), toolhouse.WithAPIKey("th-bench"),
		toolhouse.WithBaseURL(srv.URL), toolhouse.WithHTTPClient(benchHTTPClient(b)), toolhouse.WithMaxRetries(0))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// stdlibGet is the hand-written baseline: GET, read, close, check, decode.
func stdlibGet(ctx context.Context, hc *http.Client, url string, v any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer th-bench")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return resp.StatusCode, err
	}
	return resp.StatusCode, json.Unmarshal(body, v)
}

// BenchmarkAgentRunsGet is one AgentRuns.Get of a real completed run over a
// kept-alive loopback connection.
func BenchmarkAgentRunsGet(b *testing.B) {
	body := benchBody(b)
	ctx := context.Background()

	b.Run("sdk", func(b *testing.B) {
		c := benchSDK(b, benchServer(b, http.StatusOK, body))
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			run, err := c.AgentRuns.Get(ctx, benchRunID)
			if err != nil {
				b.Fatal(err)
			}
			if run.Status != toolhouse.RunCompleted || len(run.Results) != 10 {
				b.Fatalf("decoded %s with %d results", run.Status, len(run.Results))
			}
		}
	})

	b.Run("stdlib", func(b *testing.B) {
		srv := benchServer(b, http.StatusOK, body)
		hc := benchHTTPClient(b)
		url := srv.URL + "/v1/agent-runs/" + benchRunID
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			var out struct {
				Data *toolhouse.AgentRun `json:"data"`
			}
			status, err := stdlibGet(ctx, hc, url, &out)
			if err != nil || status != http.StatusOK {
				b.Fatal(status, err)
			}
			if out.Data.Status != toolhouse.RunCompleted || len(out.Data.Results) != 10 {
				b.Fatalf("decoded %s with %d results", out.Data.Status, len(out.Data.Results))
			}
		}
	})

	b.Run("plain", func(b *testing.B) {
		srv := benchServer(b, http.StatusOK, body)
		hc := benchHTTPClient(b)
		url := srv.URL + "/v1/agent-runs/" + benchRunID
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			var out struct {
				Data *plainRun `json:"data"`
			}
			status, err := stdlibGet(ctx, hc, url, &out)
			if err != nil || status != http.StatusOK {
				b.Fatal(status, err)
			}
			if err := out.Data.decode(); err != nil {
				b.Fatal(err)
			}
			if out.Data.Status != "completed" || len(out.Data.Results) != 10 || len(out.Data.Results[9].parts) != 1 {
				b.Fatalf("decoded %s with %d results", out.Data.Status, len(out.Data.Results))
			}
		}
	})
}

// plainRun, plainMessage and plainPart are what a caller who does not use
// the SDK would write for a run: the wire's own shape in plain types. A
// message's content is either a string or a list of parts, so it stays
// raw and is decoded in a second step (plainRun.decode).
type plainRun struct {
	ID               string            `json:"id"`
	ChatID           string            `json:"chat_id"`
	UserID           string            `json:"user_id"`
	ScheduleID       string            `json:"schedule_id"`
	Status           string            `json:"status"`
	Results          []plainMessage    `json:"results"`
	CreatedAt        string            `json:"created_at"`
	UpdatedAt        string            `json:"updated_at"`
	Bundle           string            `json:"bundle"`
	ToolhouseID      string            `json:"toolhouse_id"`
	Vars             map[string]string `json:"vars"`
	CallbackURL      string            `json:"callback_url"`
	LastAgentMessage string            `json:"last_agent_message"`
	Error            string            `json:"error"`

	created, updated time.Time // parsed by decode
}

type plainMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
	Error   string          `json:"error"`

	text  string      // content that is a string
	parts []plainPart // content that is a list
}

type plainPart struct {
	Type       string          `json:"type"`
	Text       string          `json:"text"`
	ToolName   string          `json:"toolName"`
	ToolCallID string          `json:"toolCallId"`
	Args       json.RawMessage `json:"args"`
	Result     json.RawMessage `json:"result"`
}

// decode finishes what json.Unmarshal left: the contents and the two
// timestamps (the API's zone-less form, read as UTC).
func (r *plainRun) decode() error {
	for i := range r.Results {
		m := &r.Results[i]
		switch {
		case len(m.Content) > 0 && m.Content[0] == '[':
			if err := json.Unmarshal(m.Content, &m.parts); err != nil {
				return err
			}
		case len(m.Content) > 0 && m.Content[0] == '"':
			if err := json.Unmarshal(m.Content, &m.text); err != nil {
				return err
			}
		}
	}
	var err error
	if r.created, err = time.ParseInLocation("2006-01-02T15:04:05.999999999", r.CreatedAt, time.UTC); err != nil {
		return err
	}
	r.updated, err = time.ParseInLocation("2006-01-02T15:04:05.999999999", r.UpdatedAt, time.UTC)
	return err
}

// BenchmarkAgentRunsGetNotFound is the error road: a 404 with FastAPI's
// {"detail": ...} body, read into an *APIError, its connection kept.
func BenchmarkAgentRunsGetNotFound(b *testing.B) {
	body := []byte(`{"detail":"Agent run not found"}`)
	ctx := context.Background()

	b.Run("sdk", func(b *testing.B) {
		c := benchSDK(b, benchServer(b, http.StatusNotFound, body))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			_, err := c.AgentRuns.Get(ctx, benchRunID)
			apiErr, ok := err.(*toolhouse.APIError)
			if !ok || apiErr.StatusCode != http.StatusNotFound || apiErr.Message != "Agent run not found" {
				b.Fatalf("got %v", err)
			}
		}
	})

	b.Run("stdlib", func(b *testing.B) {
		srv := benchServer(b, http.StatusNotFound, body)
		hc := benchHTTPClient(b)
		url := srv.URL + "/v1/agent-runs/" + benchRunID
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			var out struct {
				Detail string `json:"detail"`
			}
			status, err := stdlibGet(ctx, hc, url, &out)
			if err != nil || status != http.StatusNotFound || out.Detail != "Agent run not found" {
				b.Fatal(status, err)
			}
		}
	})
}

// BenchmarkAgentRunsGetParallel is AgentRuns.Get from concurrent
// goroutines sharing one client: the connection pool and any shared state
// in the request road.
func BenchmarkAgentRunsGetParallel(b *testing.B) {
	body := benchBody(b)
	ctx := context.Background()

	b.Run("sdk", func(b *testing.B) {
		c := benchSDK(b, benchServer(b, http.StatusOK, body))
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.AgentRuns.Get(ctx, benchRunID); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})

	b.Run("stdlib", func(b *testing.B) {
		srv := benchServer(b, http.StatusOK, body)
		hc := benchHTTPClient(b)
		url := srv.URL + "/v1/agent-runs/" + benchRunID
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				var out struct {
					Data *toolhouse.AgentRun `json:"data"`
				}
				if _, err := stdlibGet(ctx, hc, url, &out); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// cannedTransport answers every request in memory with status and body: no
// socket, no server, so what remains is the cost of building the request
// and reading the answer, where the SDK's own work lives.
type cannedTransport struct {
	status int
	body   []byte
}

func (t cannedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	return &http.Response{
		StatusCode:    t.status,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(t.body)),
		ContentLength: int64(len(t.body)),
		Request:       req,
	}, nil
}

// BenchmarkCallOverhead is AgentRuns.Get of a small run over an in-memory
// transport: the SDK's fixed cost per call (URL, headers, retry loop,
// envelope), without the network and decoding noise that dominate the
// loopback benchmarks.
func BenchmarkCallOverhead(b *testing.B) {
	body := []byte(`{"data":{"id":"r1","status":"completed"}}`)
	hc := &http.Client{Transport: cannedTransport{status: http.StatusOK, body: body}}
	ctx := context.Background()

	b.Run("sdk", func(b *testing.B) {
		c, err := toolhouse.NewClient(toolhouse.WithoutEnvironment(), toolhouse.WithAPIKey("th-bench"),
			toolhouse.WithHTTPClient(hc))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			run, err := c.AgentRuns.Get(ctx, "r1")
			if err != nil || run.ID != "r1" {
				b.Fatal(run, err)
			}
		}
	})

	b.Run("stdlib", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var out struct {
				Data *toolhouse.AgentRun `json:"data"`
			}
			status, err := stdlibGet(ctx, hc, toolhouse.DefaultBaseURL+"v1/agent-runs/r1", &out)
			if err != nil || status != http.StatusOK || out.Data.ID != "r1" {
				b.Fatal(status, err)
			}
		}
	})
}
