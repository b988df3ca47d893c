package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBackoffBounds(t *testing.T) {
	t.Parallel()
	// 0.5 s doubling to 8 s, less up to a quarter of jitter.
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second,
		8 * time.Second, 8 * time.Second, 8 * time.Second}
	for attempt, ceiling := range want {
		for range 200 {
			d := Backoff(attempt, DefaultBase, DefaultMax)
			assert.LessOrEqual(t, d, ceiling, "attempt %d", attempt)
			assert.GreaterOrEqual(t, d, ceiling*3/4, "attempt %d", attempt)
		}
	}
	assert.LessOrEqual(t, Backoff(1000, DefaultBase, DefaultMax), DefaultMax, "no overflow for late attempts")
}

// A cap near the largest Duration ("no cap") must not let the doubling
// wrap around to a negative delay, which would retry at once or panic.
func TestBackoffDoesNotOverflowAHugeCap(t *testing.T) {
	t.Parallel()
	for _, base := range []time.Duration{time.Second, 1 << 62, math.MaxInt64} {
		for attempt := range 70 {
			d := Backoff(attempt, base, math.MaxInt64)
			assert.Greater(t, d, time.Duration(0), "base %d, attempt %d", base, attempt)
		}
	}
}

func TestBackoffJitters(t *testing.T) {
	t.Parallel()
	seen := map[time.Duration]bool{}
	for range 50 {
		seen[Backoff(3, DefaultBase, DefaultMax)] = true
	}
	assert.Greater(t, len(seen), 1, "clients that failed together do not retry together")
}

func TestHint(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 15, 1, 46, 23, 0, time.UTC)
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
		ok     bool
	}{
		{"none", http.Header{}, 0, false},
		{"retry-after-ms", http.Header{"Retry-After-Ms": {"1500"}}, 1500 * time.Millisecond, true},
		{"retry-after-ms fraction", http.Header{"Retry-After-Ms": {"0.5"}}, 500 * time.Microsecond, true},
		{"retry-after-ms wins", http.Header{"Retry-After-Ms": {"10"}, "Retry-After": {"5"}}, 10 * time.Millisecond, true},
		{"bad retry-after-ms falls back", http.Header{"Retry-After-Ms": {"soon"}, "Retry-After": {"5"}}, 5 * time.Second, true},
		{"seconds", http.Header{"Retry-After": {"3"}}, 3 * time.Second, true},
		{"zero", http.Header{"Retry-After": {"0"}}, 0, true},
		{"spaces", http.Header{"Retry-After": {" 7 "}}, 7 * time.Second, true},
		{"HTTP date", http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, 90 * time.Second, true},
		{"HTTP date in the past", http.Header{"Retry-After": {now.Add(-time.Hour).Format(http.TimeFormat)}}, 0, true},
		{"negative", http.Header{"Retry-After": {"-3"}}, 0, false},
		{"negative ms", http.Header{"Retry-After-Ms": {"-3"}}, 0, false},
		{"NaN", http.Header{"Retry-After": {"NaN"}}, 0, false},
		{"garbage", http.Header{"Retry-After": {"later"}}, 0, false},
		{"huge saturates", http.Header{"Retry-After": {"1e30"}}, math.MaxInt64, true},
		{"infinite saturates", http.Header{"Retry-After-Ms": {"+Inf"}}, math.MaxInt64, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := Hint(tt.header, now)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, d)
		})
	}
}

func TestSleep(t *testing.T) {
	t.Parallel()
	assert.NoError(t, Sleep(context.Background(), time.Millisecond))
	assert.NoError(t, Sleep(context.Background(), 0))
	assert.NoError(t, Sleep(context.Background(), -time.Second))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	assert.ErrorIs(t, Sleep(ctx, time.Hour), context.Canceled)
	assert.ErrorIs(t, Sleep(ctx, 0), context.Canceled)
	assert.Less(t, time.Since(start), time.Second)

	ctx, cancel = context.WithCancel(context.Background())
	go func() {
		time.Sleep(2 * time.Millisecond)
		cancel()
	}()
	start = time.Now()
	assert.ErrorIs(t, Sleep(ctx, time.Hour), context.Canceled)
	assert.Less(t, time.Since(start), time.Second, "a sleep ends with its context")
}

func TestRetryableStatus(t *testing.T) {
	t.Parallel()
	for _, code := range []int{408, 429, 500, 502, 503, 504} {
		assert.True(t, RetryableStatus(code), code)
	}
	for _, code := range []int{200, 400, 401, 403, 404, 406, 409, 422, 501, 505} {
		assert.False(t, RetryableStatus(code), code)
	}
}

func TestNotSentAndTransient(t *testing.T) {
	t.Parallel()
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	read := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	dns := &net.DNSError{Err: "no such host", Name: "api.toolhouse.test"}
	wrap := func(err error) error { return fmt.Errorf("toolhouse: GET x: %w", err) }

	tests := []struct {
		err                error
		notSent, transient bool
	}{
		{wrap(dial), true, true},
		{wrap(dns), true, true},
		{wrap(syscall.ECONNREFUSED), true, true},
		{wrap(read), false, true},
		{wrap(io.ErrUnexpectedEOF), false, true},
		{wrap(io.EOF), false, true},
		{wrap(syscall.EPIPE), false, true},
		{wrap(context.Canceled), false, false},
		{wrap(context.DeadlineExceeded), false, false},
		{errors.New("net/http: invalid header field value"), false, false},
		{nil, false, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.notSent, NotSent(tt.err), "NotSent(%v)", tt.err)
		assert.Equal(t, tt.transient, Transient(tt.err), "Transient(%v)", tt.err)
	}
}
