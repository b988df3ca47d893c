package toolhouse

// A Conversation stream never waits past its Close and never spins: a
// Close ends a Next blocked in a job wait or a resume request at once, job
// cycles are paced by the poll options, and a Send follows a bounded
// number of jobs.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/toolhouseai/toolhouse-go/internal/retry"
)

// jobServer is a Workers API whose first answer starts job-1. GETs and
// resume PUTs are answered by the test's functions.
type jobServer struct {
	get, put http.HandlerFunc
}

func (s jobServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	switch {
	case r.Method == http.MethodPost:
		w.Header().Set(headerRunID, "run-1")
		w.Header().Set(headerJobID, "job-1")
		_, _ = io.WriteString(w, `{"type":"tool-call","toolCallId":"c1","toolName":"code_interpreter","args":{}}`+"\n")
	case r.Method == http.MethodGet:
		s.get(w, r)
	default:
		s.put(w, r)
	}
}

// idle answers a GET: no job runs.
func idle(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `[]`) }

// arrivedThenStall signals arrived, then answers nothing until the client
// goes away; later requests get an empty answer.
func arrivedThenStall(arrived chan<- struct{}) http.HandlerFunc {
	var first atomic.Bool
	return func(w http.ResponseWriter, r *http.Request) {
		if first.CompareAndSwap(false, true) {
			close(arrived)
			<-r.Context().Done()
			return
		}
		idle(w, r)
	}
}

func TestConversationCloseEndsAWaitAtOnce(t *testing.T) {
	checkLeaks(t)
	running := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set(headerJobID, "job-1")
		_, _ = io.WriteString(w, `[]`)
	}
	tests := []struct {
		name     string
		server   func(arrived chan struct{}) jobServer
		realPoll bool // the wait sleeps for real between looks
	}{
		{"blocked in a look at the job", func(arrived chan struct{}) jobServer {
			return jobServer{get: arrivedThenStall(arrived), put: idle}
		}, false},
		{"blocked in the pause between looks", func(arrived chan struct{}) jobServer {
			var once sync.Once
			return jobServer{get: func(w http.ResponseWriter, r *http.Request) {
				running(w, r)
				once.Do(func() { close(arrived) })
			}, put: idle}
		}, true},
		{"blocked in the resume request", func(arrived chan struct{}) jobServer {
			return jobServer{get: idle, put: arrivedThenStall(arrived)}
		}, false}, // after EventJobFinished
		// The job was over at the first look, so the resume waits out the
		// rest of the hour-long poll interval; the pause itself signals.
		{"blocked in the pause before the resume", func(chan struct{}) jobServer {
			return jobServer{get: idle, put: idle}
		}, true}, // after EventJobFinished
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arrived := make(chan struct{})
			h := newLoopback(t, tt.server(arrived), WithPollOptions(PollOptions{Interval: time.Hour, MaxInterval: time.Hour}))
			if tt.realPoll {
				h.c.sleep = retry.Sleep // an hour, unless Close ends it
			}
			pause := tt.name == "blocked in the pause before the resume"
			if pause {
				var once sync.Once
				h.c.sleep = func(ctx context.Context, d time.Duration) error {
					once.Do(func() { close(arrived) })
					return retry.Sleep(ctx, d)
				}
			}
			conv := h.c.Workers.Conversation("agent-1")
			// The caller's context never ends: only Close can.
			s, err := conv.Send(context.Background(), "Analyze sales.csv")
			require.NoError(t, err)
			require.True(t, s.Next())
			require.True(t, s.Next())
			require.Equal(t, EventJobStarted, s.Current().Type)
			if tt.name == "blocked in the resume request" || pause {
				require.True(t, s.Next())
				require.Equal(t, EventJobFinished, s.Current().Type)
			}

			next := inBackground(t, "the Next waiting when Close came", s.Next)
			select {
			case <-arrived:
			case <-time.After(hangGuard):
				t.Fatal("the request to block in never came")
			}
			require.NoError(t, s.Close())
			assert.False(t, next(), "Next ends with Close")
			assert.NoError(t, s.Err(), "after Close, Err reports no error, as documented")
			assert.False(t, s.Next())
			assert.NoError(t, s.Close())

			// The conversation is free for the next Send.
			s, err = conv.Send(context.Background(), "")
			require.NoError(t, err)
			require.NoError(t, s.Close())
		})
	}
}

// jobEveryAnswer is a worker that starts a new job on every resumed
// answer, each one over by the time it is looked at: the server that once
// made a Send issue thousands of PUTs a second.
func jobEveryAnswer(puts *[]time.Time, mu *sync.Mutex) jobServer {
	var n atomic.Int64
	return jobServer{get: idle, put: func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		*puts = append(*puts, time.Now())
		mu.Unlock()
		w.Header().Set(headerRunID, "run-1")
		w.Header().Set(headerJobID, fmt.Sprintf("job-%d", n.Add(1)+1))
		_, _ = io.WriteString(w, `{"type":"text-delta","textDelta":"again"}`+"\n")
	}}
}

func TestConversationJobCyclesArePacedAndBounded(t *testing.T) {
	t.Parallel()
	var puts []time.Time
	var mu sync.Mutex
	h := newLoopback(t, jobEveryAnswer(&puts, &mu),
		WithPollOptions(PollOptions{Interval: 3 * time.Second}), WithMaxJobCycles(4))

	s, err := h.c.Workers.Conversation("agent-1").Send(context.Background(), "Analyze sales.csv")
	require.NoError(t, err)
	defer s.Close()
	var jobs []string
	for s.Next() {
		if ev := s.Current(); ev.Type == EventJobStarted {
			jobs = append(jobs, ev.JobID)
		}
	}
	assert.Equal(t, []string{"job-1", "job-2", "job-3", "job-4"}, jobs)
	err = s.Err()
	require.ErrorIs(t, err, ErrTooManyJobs)
	assert.Contains(t, err.Error(), "job-5", "the error names the job it did not follow")
	assert.Contains(t, err.Error(), "WithMaxJobCycles")
	assert.Contains(t, err.Error(), "run run-1")

	assert.Len(t, h.requests(), 1+2*4, "the POST, then a look and a resume per job")
	assert.Equal(t, []time.Duration{3 * time.Second, 3 * time.Second, 3 * time.Second, 3 * time.Second}, h.sleeps(),
		"each job that was over at the first look is resumed one poll interval after the answer that started it")
}

func TestConversationJobCyclesOnTheWallClock(t *testing.T) {
	t.Parallel()
	const interval = 10 * time.Millisecond
	var puts []time.Time
	var mu sync.Mutex
	h := newLoopback(t, jobEveryAnswer(&puts, &mu),
		WithPollOptions(PollOptions{Interval: interval}), WithMaxJobCycles(3))
	h.c.sleep, h.c.now = retry.Sleep, time.Now

	s, err := h.c.Workers.Conversation("agent-1").Send(context.Background(), "hi")
	require.NoError(t, err)
	defer s.Close()
	for s.Next() {
	}
	require.ErrorIs(t, s.Err(), ErrTooManyJobs)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, puts, 3)
	for i := 1; i < len(puts); i++ {
		assert.GreaterOrEqual(t, puts[i].Sub(puts[i-1]), interval, "resume %d came too soon after resume %d", i+1, i)
	}
}

func TestConversationFollowsFiftyJobsByDefault(t *testing.T) {
	t.Parallel()
	var puts []time.Time
	var mu sync.Mutex
	h := newLoopback(t, jobEveryAnswer(&puts, &mu))

	s, err := h.c.Workers.Conversation("agent-1").Send(context.Background(), "hi")
	require.NoError(t, err)
	defer s.Close()
	for s.Next() {
	}
	require.ErrorIs(t, s.Err(), ErrTooManyJobs)
	mu.Lock()
	defer mu.Unlock()
	assert.Len(t, puts, 50, "the default WithMaxJobCycles documents")

	_, err = NewClient(WithoutEnvironment(), WithMaxJobCycles(0))
	assert.ErrorContains(t, err, "WithMaxJobCycles")
}

func TestResumeConversationWithoutARunIDStartsNothing(t *testing.T) {
	t.Parallel()
	h := newLoopback(t, newScript(t)) // any request fails the test
	conv := h.c.Workers.ResumeConversation("agent-1", "")
	for range 2 {
		_, err := conv.Send(context.Background(), "where were we?")
		var argErr *ArgumentError
		require.ErrorAs(t, err, &argErr, "an error, never a new run that loses the history")
		assert.Equal(t, "runID", argErr.Arg)
	}
	assert.Empty(t, conv.RunID())
	assert.Empty(t, h.requests())
}
