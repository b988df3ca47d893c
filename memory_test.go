package toolhouse

// Bounded memory: a JSON answer is read up to WithMaxResponseSize, counted
// after decompression, whatever the server declares or sends. The attacks
// that would take a gigabyte if the bound failed run in a child process of
// the test binary, so that a regression kills the child, not the suite, and
// their heap is measured without other tests allocating beside them.

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// childEnv names the test a child process of the test binary runs.
const childEnv = "TOOLHOUSE_TEST_CHILD"

// inChild reports whether this is the child process running t. In the
// parent it runs t in a child (same binary, same flags as far as they
// matter) and fails t if the child fails or dies; the caller then returns.
func inChild(t *testing.T) bool {
	t.Helper()
	if raceEnabled {
		t.Skip("moves gigabytes, too slow under -race; .ci/run runs it without")
	}
	if os.Getenv(childEnv) == t.Name() {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("the child process failed (%v):\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if _, report, ok := strings.Cut(line, "heap: "); ok {
			t.Log("child: " + report)
		}
	}
	return false
}

// allocatedBy returns how many bytes of heap do allocated in total: an
// upper bound of how much the heap grew while it ran, which, unlike a
// snapshot of the heap, does not depend on when the GC ran.
func allocatedBy(do func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	do()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// endlessJSON answers with a JSON body that never ends: an opening, then
// spaces in 1 MiB writes until the client goes away or limit bytes went.
func endlessJSON(limit int64, declare bool) http.HandlerFunc {
	chunk := bytes.Repeat([]byte(" "), 1<<20)
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if declare {
			w.Header().Set("Content-Length", fmt.Sprint(limit))
		}
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"data":`)
		for sent := int64(8); sent < limit; sent += int64(len(chunk)) {
			if _, err := w.Write(chunk[:min(int64(len(chunk)), limit-sent)]); err != nil {
				return
			}
		}
	}
}

// gzipBomb returns a gzip body (concatenated members, as the format
// allows) that inflates to size bytes of JSON white space: about a
// thousandth of size on the wire.
func gzipBomb(t testing.TB, size int64) []byte {
	t.Helper()
	const member = 16 << 20
	var one bytes.Buffer
	zw, err := gzip.NewWriterLevel(&one, gzip.BestCompression)
	require.NoError(t, err)
	_, err = zw.Write(bytes.Repeat([]byte(" "), member))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	var head bytes.Buffer
	zw = gzip.NewWriter(&head)
	_, _ = io.WriteString(zw, `{"data":`)
	require.NoError(t, zw.Close())
	return append(head.Bytes(), bytes.Repeat(one.Bytes(), int(size/member))...)
}

// gzipAnswer answers with body gzip-compressed, as a server does for a
// client that accepts it (Go's transport asks for gzip and inflates the
// answer transparently).
func gzipAnswer(t testing.TB, compressed []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !assert.Contains(t, r.Header.Get("Accept-Encoding"), "gzip", "the transport asks for gzip") {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(compressed)
	}
}

func gzipped(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, err := io.WriteString(zw, s)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return b.Bytes()
}

// countingTransport counts the response body bytes its client read.
type countingTransport struct {
	next http.RoundTripper
	read *atomic.Int64
}

func (c countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err == nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, read: c.read}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	read *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read.Add(int64(n))
	return n, err
}

func TestMaxResponseSize(t *testing.T) {
	t.Parallel()
	const limit = 1000
	run := fixture(t, "agent_run_completed.json")
	pad := func(n int) string {
		return `{"data":{"id":"r1"}` + strings.Repeat(" ", n-len(`{"data":{"id":"r1"}}`)) + `}`
	}
	require.Len(t, pad(limit), limit)

	tests := []struct {
		name    string
		handler http.HandlerFunc
		wantErr bool
	}{
		{"at the limit", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, pad(limit)) }, false},
		{"one byte over, declared", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, pad(limit+1)) }, true},
		{"one byte over, chunked", func(w http.ResponseWriter, _ *http.Request) {
			_ = http.NewResponseController(w).Flush() // no Content-Length
			_, _ = io.WriteString(w, pad(limit+1))
		}, true},
		{"endless", endlessJSON(1<<40, false), true},
		{"declared a terabyte", endlessJSON(1<<40, true), true},
		{"gzip, inflated within the limit", gzipAnswer(t, gzipped(t, pad(limit))), false},
		{"gzip, inflated past the limit", gzipAnswer(t, gzipped(t, pad(20*limit))), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var read atomic.Int64
			h := newLoopback(t, tt.handler, WithMaxResponseSize(limit))
			h.next = countingTransport{next: h.next, read: &read}
			c := h.client(t)

			_, err := c.AgentRuns.Get(context.Background(), "r1")
			if !tt.wantErr {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "1000 bytes", "the error names the limit")
			assert.Contains(t, err.Error(), "WithMaxResponseSize", "and the option that sets it")
			assert.Contains(t, err.Error(), "GET "+h.srv.URL+"/v1/agent-runs/r1")
			assert.LessOrEqual(t, read.Load(), int64(limit+1), "the client read at most one byte past the limit")
			assert.Len(t, h.requests(), 1, "a body too large is not a transient failure: no retry")
		})
	}

	t.Run("streams and error bodies have their own bounds", func(t *testing.T) {
		t.Parallel()
		long := `{"type":"text-delta","textDelta":"` + strings.Repeat("a", 4*limit) + `"}` + "\n"
		h := newLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/ndjson/agent-1" {
				_, _ = io.WriteString(w, long)
				return
			}
			w.WriteHeader(http.StatusBadRequest)
			_, _ = fmt.Fprintf(w, `{"detail":"%s"}`, strings.Repeat("b", 4*limit))
		}), WithMaxResponseSize(limit))
		s, err := h.c.Workers.Stream(context.Background(), "agent-1", WorkerRunParams{})
		require.NoError(t, err)
		defer s.Close()
		require.True(t, s.Next())
		assert.Len(t, s.Current().Text, 4*limit, "WithMaxLineSize bounds a stream, not WithMaxResponseSize")

		_, err = h.c.AgentRuns.Get(context.Background(), "r1")
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Len(t, apiErr.Body, 4*limit+len(`{"detail":""}`), "an error body keeps up to 1 MiB")
	})

	t.Run("option", func(t *testing.T) {
		t.Parallel()
		for _, n := range []int64{0, -1} {
			_, err := NewClient(WithoutEnvironment(), WithMaxResponseSize(n))
			assert.ErrorContains(t, err, "WithMaxResponseSize")
		}
		c, err := NewClient(WithoutEnvironment())
		require.NoError(t, err)
		assert.Equal(t, int64(64<<20), c.maxResponseSize, "the default is 64 MiB")
		h := newHarness(t)
		h.on("GET", "/v1/agent-runs/r1", reply(200, run))
		got, err := h.c.AgentRuns.Get(context.Background(), "r1")
		require.NoError(t, err)
		assert.NotEmpty(t, got.Results, "a real answer is far below the default")
	})
}

func TestMemoryGzipBombIsBounded(t *testing.T) {
	// No t.Parallel: the heap is measured. A regression would inflate a
	// gigabyte, so the attack runs in a child process.
	if !inChild(t) {
		return
	}
	const inflated = 1 << 30
	bomb := gzipBomb(t, inflated)
	require.Less(t, len(bomb), 2<<20, "about 1 MiB on the wire")
	h := newLoopback(t, gzipAnswer(t, bomb), WithMaxRetries(0))

	var err error
	grew := allocatedBy(func() { _, err = h.c.AgentRuns.Get(context.Background(), "r1") })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "67108864 bytes (64 MiB)")
	assert.Contains(t, err.Error(), "WithMaxResponseSize")
	t.Logf("heap: %d MiB allocated to refuse a %d KiB gzip body that inflates to %d MiB",
		grew>>20, len(bomb)>>10, inflated>>20)
	assert.Less(t, grew, uint64(100<<20), "about the 64 MiB limit, not the inflated gigabyte")
}

func TestMemoryHugeBodiesAreBounded(t *testing.T) {
	// No t.Parallel: the heap is measured, in a child process.
	if !inChild(t) {
		return
	}
	const huge = 1 << 30
	h := newLoopback(t, endlessJSON(huge, false), WithMaxRetries(0))
	declared := newLoopback(t, endlessJSON(huge, true), WithMaxRetries(0)).c
	ctx := context.Background()
	calls := map[string]func() error{
		"AgentRuns.Get": func() error { _, err := h.c.AgentRuns.Get(ctx, "r1"); return err },
		"AgentRuns.Wait": func() error {
			_, err := h.c.AgentRuns.Wait(ctx, "r1", nil)
			return err
		},
		"Workers.Get":        func() error { _, err := h.c.Workers.Get(ctx, "agent-1", "run-1"); return err },
		"Workers.WaitForJob": func() error { _, err := h.c.Workers.WaitForJob(ctx, "agent-1", "run-1", nil); return err },
		"declared length":    func() error { _, err := declared.AgentRuns.List(ctx); return err },
	}
	for name, call := range calls {
		var err error
		grew := allocatedBy(func() { err = call() })
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), "WithMaxResponseSize", name)
		t.Logf("heap: %s: %d MiB allocated to refuse a %d MiB body", name, grew>>20, huge>>20)
		assert.Less(t, grew, uint64(100<<20), "%s reads about the 64 MiB limit, not the gigabyte", name)
	}
}

// A caller who lifts the limit (math.MaxInt64 reads as "no limit") still
// gets the whole body, and a server that declares far more than it sends
// cannot make the client allocate what it declared.
func TestMaxResponseSizeRaisedByTheCaller(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	list := `{"data":[{"id":"r1","status":"completed"}]}`

	t.Run("no limit", func(t *testing.T) {
		t.Parallel()
		for name, declare := range map[string]bool{"declared": true, "chunked": false} {
			h := newLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if !declare {
					_ = http.NewResponseController(w).Flush()
				}
				_, _ = io.WriteString(w, list)
			}), WithMaxResponseSize(math.MaxInt64))
			runs, err := h.c.AgentRuns.List(ctx)
			require.NoError(t, err, name)
			require.Len(t, runs, 1, "%s: the body was read, not taken for empty", name)
			assert.Equal(t, "r1", runs[0].ID)
		}
	})

	t.Run("a declared length beyond any allocation", func(t *testing.T) {
		t.Parallel()
		h := newLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(int64(1)<<50)) // a petabyte
			_, _ = io.WriteString(w, list)
		}), WithMaxResponseSize(math.MaxInt64), WithMaxRetries(0))
		var err error
		require.NotPanics(t, func() { _, err = h.c.AgentRuns.List(ctx) })
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "the body ended long before its declared length")
	})
}
