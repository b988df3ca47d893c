package toolhouse

// Redirects: the key goes only to the origin (scheme, host, port) it was
// configured for, and a redirect never turns a call into another one.
// Every server is on loopback: two servers on the same host but two ports,
// and an https server redirecting to plain http on the same host.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seen is one request as a server received it.
type seen struct {
	Method, Path, Auth, Body string
}

// recorder is a loopback server that records its requests and answers
// each with answer.
type recorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newRecorder(t *testing.T, tls bool, answer http.HandlerFunc) *recorder {
	t.Helper()
	r := &recorder{}
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, seen{req.Method, req.URL.Path, req.Header.Get("Authorization"), string(body)})
		r.mu.Unlock()
		answer(w, req)
	})
	if tls {
		r.srv = httptest.NewTLSServer(h)
	} else {
		r.srv = httptest.NewServer(h)
	}
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) requests() []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seen(nil), r.reqs...)
}

// redirectTo answers with status and a Location.
func redirectTo(status int, location func() string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Location", location())
		w.WriteHeader(status)
	}
}

const redirectRun = `{"data":{"id":"r1","status":"completed"}}`

func okRun(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, redirectRun) }

// clientOf returns a client with the test key whose both APIs are at base,
// over hc (nil: a plain client).
func clientOf(t *testing.T, base string, hc *http.Client, opts ...Option) *Client {
	t.Helper()
	all := []Option{WithoutEnvironment(), WithAPIKey(testKey), WithBaseURL(base), WithAgentsURL(base)}
	if hc != nil {
		all = append(all, WithHTTPClient(hc))
	}
	c, err := NewClient(append(all, opts...)...)
	require.NoError(t, err)
	c.sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	return c
}

func TestRedirectKeepsTheKeyAtItsOrigin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("another port on the same host", func(t *testing.T) {
		t.Parallel()
		other := newRecorder(t, false, okRun)
		origin := newRecorder(t, false, redirectTo(http.StatusFound, func() string { return other.srv.URL + "/v1/agent-runs/r1" }))
		require.Equal(t, strings.Split(origin.srv.Listener.Addr().String(), ":")[0],
			strings.Split(other.srv.Listener.Addr().String(), ":")[0], "one host, two ports")

		c := clientOf(t, origin.srv.URL, nil)
		run, err := c.AgentRuns.Get(ctx, "r1")
		require.NoError(t, err, "a GET may follow a redirect")
		assert.Equal(t, "r1", run.ID)
		assert.Equal(t, "Bearer "+testKey, origin.requests()[0].Auth)
		require.Len(t, other.requests(), 1)
		assert.Empty(t, other.requests()[0].Auth, "the key stays with its origin")

		// The Workers API's key follows the same rule.
		_, err = c.Workers.Get(ctx, "agent-1", "run-1")
		require.Error(t, err) // the other server's answer is not a history
		require.Len(t, other.requests(), 2)
		assert.Empty(t, other.requests()[1].Auth)
	})

	t.Run("https to http on the same host", func(t *testing.T) {
		t.Parallel()
		plain := newRecorder(t, false, okRun)
		secure := newRecorder(t, true, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", plain.srv.URL+r.URL.Path)
			w.WriteHeader(http.StatusMovedPermanently)
		})
		c := clientOf(t, secure.srv.URL, secure.srv.Client())
		_, err := c.AgentRuns.Get(ctx, "r1")
		require.NoError(t, err)
		assert.Equal(t, "Bearer "+testKey, secure.requests()[0].Auth)
		require.Len(t, plain.requests(), 1)
		assert.Empty(t, plain.requests()[0].Auth, "the key is never sent in clear text")

		// A body is not sent to plain http either, and neither is the call.
		secure2 := newRecorder(t, true, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", plain.srv.URL+r.URL.Path)
			w.WriteHeader(http.StatusTemporaryRedirect)
		})
		c = clientOf(t, secure2.srv.URL, secure2.srv.Client())
		_, err = c.AgentRuns.Create(ctx, AgentRunCreateParams{ChatID: "c1", Vars: map[string]string{"secret": "s3"}})
		require.Error(t, err)
		assert.Contains(t, err.Error(), plain.srv.URL+"/v1/agent-runs")
		assert.Len(t, plain.requests(), 1, "the POST did not reach the plain server")
	})

	t.Run("same origin keeps the key", func(t *testing.T) {
		t.Parallel()
		origin := newRecorder(t, false, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v1/agent-runs/old" {
				http.Redirect(w, r, "/v1/agent-runs/r1", http.StatusMovedPermanently)
				return
			}
			okRun(w, r)
		})
		c := clientOf(t, origin.srv.URL, nil)
		_, err := c.AgentRuns.Get(ctx, "old")
		require.NoError(t, err)
		reqs := origin.requests()
		require.Len(t, reqs, 2)
		assert.Equal(t, "Bearer "+testKey, reqs[1].Auth, "the key goes where it was configured to, redirect or not")
	})
}

func TestRedirectThatChangesACallIsNotFollowed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	calls := []struct {
		name, method string
		do           func(c *Client) error
	}{
		{"AgentRuns.Create", http.MethodPost, func(c *Client) error {
			_, err := c.AgentRuns.Create(ctx, AgentRunCreateParams{ChatID: "c1"})
			return err
		}},
		{"Workers.Stream", http.MethodPost, func(c *Client) error {
			s, err := c.Workers.Stream(ctx, "agent-1", WorkerRunParams{Message: "hi"})
			if s != nil {
				s.Close()
			}
			return err
		}},
		{"Workers.Run without a body", http.MethodPost, func(c *Client) error {
			s, err := c.Workers.Run(ctx, "agent-1", WorkerRunParams{})
			if s != nil {
				s.Close()
			}
			return err
		}},
		{"Schedules.Pause", http.MethodPut, func(c *Client) error {
			_, err := c.Schedules.Pause(ctx, "s1")
			return err
		}},
	}
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther} {
		for _, call := range calls {
			t.Run(fmt.Sprintf("%d %s", status, call.name), func(t *testing.T) {
				t.Parallel()
				// The redirect stays on the origin: only the method change
				// is at stake. Following it would GET and report success.
				srv := newRecorder(t, false, func(w http.ResponseWriter, r *http.Request) {
					if r.Method == http.MethodGet {
						okRun(w, r)
						return
					}
					w.Header().Set("Location", "/elsewhere?token=abc")
					w.WriteHeader(status)
				})
				c := clientOf(t, srv.srv.URL, nil)

				err := call.do(c)
				require.Error(t, err)
				assert.Contains(t, err.Error(), srv.srv.URL+"/elsewhere?token=abc", "the error names the target")
				assert.Contains(t, err.Error(), fmt.Sprint(status))
				assert.Contains(t, err.Error(), "not followed")
				var apiErr *APIError
				assert.False(t, errors.As(err, &apiErr), "no answer of the call's own")
				reqs := srv.requests()
				require.Len(t, reqs, 1, "sent once, not retried, no GET")
				assert.Equal(t, call.method, reqs[0].Method)
			})
		}
	}

	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(fmt.Sprintf("%d with a body to another host", status), func(t *testing.T) {
			t.Parallel()
			other := newRecorder(t, false, okRun)
			target := strings.Replace(other.srv.URL, "http://", "http://user:hunter2@", 1) + "/collect"
			origin := newRecorder(t, false, redirectTo(status, func() string { return target }))
			c := clientOf(t, origin.srv.URL, nil)

			_, err := c.AgentRuns.Create(ctx, AgentRunCreateParams{ChatID: "c1", Vars: map[string]string{"ssn": "078-05-1120"}})
			require.Error(t, err)
			assert.Contains(t, err.Error(), strings.TrimPrefix(other.srv.URL, "http://")+"/collect", "the error names the target")
			assert.NotContains(t, err.Error(), "hunter2", "without its credentials")
			assert.Contains(t, err.Error(), "request body to another origin")
			assert.Empty(t, other.requests(), "the message and vars stay home")
		})
		t.Run(fmt.Sprintf("%d with a body on the origin", status), func(t *testing.T) {
			t.Parallel()
			// Control: the same method and body on the same origin is a
			// move the API may make.
			srv := newRecorder(t, false, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/v1/agent-runs" {
					http.Redirect(w, r, "/v2/agent-runs", status)
					return
				}
				okRun(w, r)
			})
			c := clientOf(t, srv.srv.URL, nil)
			_, err := c.AgentRuns.Create(ctx, AgentRunCreateParams{ChatID: "c1"})
			require.NoError(t, err)
			reqs := srv.requests()
			require.Len(t, reqs, 2)
			assert.Equal(t, seen{http.MethodPost, "/v2/agent-runs", "Bearer " + testKey, `{"chat_id":"c1"}`}, reqs[1])
		})
	}
}

func TestRedirectPolicyWrapsTheCallersClient(t *testing.T) {
	t.Parallel()
	other := newRecorder(t, false, okRun)
	origin := newRecorder(t, false, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/agent-runs/away":
			http.Redirect(w, r, other.srv.URL+"/v1/agent-runs/r1", http.StatusFound)
		case "/v1/agent-runs/vetoed":
			http.Redirect(w, r, "/v1/agent-runs/r1", http.StatusFound)
		case "/v1/agent-runs/loop":
			http.Redirect(w, r, "/v1/agent-runs/loop", http.StatusFound)
		default:
			okRun(w, r)
		}
	})

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	var theirs []string
	ownRule := func(req *http.Request, via []*http.Request) error {
		theirs = append(theirs, req.URL.Path)
		if strings.Contains(via[0].URL.Path, "vetoed") {
			return errors.New("my own rule says no")
		}
		return nil
	}
	hc := &http.Client{Transport: tr, Jar: jar, Timeout: time.Minute, CheckRedirect: ownRule}
	c := clientOf(t, origin.srv.URL, hc)

	assert.Same(t, tr, c.hc.Transport, "their transport")
	assert.Same(t, jar, c.hc.Jar, "their cookie jar")
	assert.Equal(t, time.Minute, c.hc.Timeout, "their timeout")
	assert.Equal(t, reflect.ValueOf(ownRule).Pointer(), reflect.ValueOf(hc.CheckRedirect).Pointer(),
		"the caller's client is left as it was")

	_, err = c.AgentRuns.Get(context.Background(), "away")
	require.NoError(t, err)
	require.Len(t, other.requests(), 1)
	assert.Empty(t, other.requests()[0].Auth, "the policy applies with the caller's client")
	assert.Equal(t, []string{"/v1/agent-runs/r1"}, theirs, "their rule ran after the policy")

	_, err = c.AgentRuns.Get(context.Background(), "vetoed")
	assert.ErrorContains(t, err, "my own rule says no")

	// Without a rule of their own, the standard library's limit holds.
	c = clientOf(t, origin.srv.URL, &http.Client{Transport: tr})
	_, err = c.AgentRuns.Get(context.Background(), "loop")
	assert.ErrorContains(t, err, "stopped after 10 redirects")
}
