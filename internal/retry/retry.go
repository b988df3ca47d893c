// Package retry holds the retry policy shared by every Toolhouse call: which
// answers are worth another try, how long to wait before it, and a sleep
// that ends with its context.
package retry

import (
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Defaults from the wire protocol: 0.5 s doubling to 8 s, server hints
// honoured up to 60 s.
const (
	DefaultBase    = 500 * time.Millisecond
	DefaultMax     = 8 * time.Second
	DefaultMaxHint = 60 * time.Second
)

// RetryableStatus reports whether a response status is worth another try
// for an idempotent call.
func RetryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// Backoff returns the delay before retry number attempt (0 for the first
// retry): base doubled per attempt, capped at max, less up to a quarter of
// jitter so that clients that failed together do not retry together.
func Backoff(attempt int, base, max time.Duration) time.Duration {
	d := base
	for i := 0; i < attempt && d < max; i++ {
		if d > max/2 { // doubling would pass max, or wrap around
			d = max
			break
		}
		d *= 2
	}
	d = min(d, max)
	jitter := time.Duration(rand.Int64N(int64(d)/4 + 1))
	return d - jitter
}

// Hint reads the server's wish for when to try again: retry-after-ms
// (milliseconds), else Retry-After in seconds or as an HTTP date. ok is
// false when the response carries no usable hint.
func Hint(h http.Header, now time.Time) (d time.Duration, ok bool) {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if d, ok := scaled(v, time.Millisecond); ok {
			return d, true
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if d, ok := scaled(v, time.Second); ok {
		return d, true
	}
	if at, err := http.ParseTime(v); err == nil {
		d := at.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// scaled reads a non-negative number of units. A value too large for a
// Duration saturates instead of wrapping around to a negative delay (which
// would retry at once instead of giving up).
func scaled(v string, unit time.Duration) (time.Duration, bool) {
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(n) || n < 0 {
		return 0, false
	}
	if n*float64(unit) >= math.MaxInt64 {
		return math.MaxInt64, true
	}
	return time.Duration(n * float64(unit)), true
}

// Sleep waits for d or until ctx ends, whichever comes first, and returns
// the context's error in the second case.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// NotSent reports whether err shows that the request never reached the
// server (the connection could not be made), so that even a call that is
// not idempotent may be sent again.
func NotSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns) || errors.Is(err, syscall.ECONNREFUSED)
}

// Transient reports whether a transport error (no response) is worth
// another try for an idempotent call: a lost or refused connection or a
// network timeout, but not a cancelled context or a malformed request.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if NotSent(err) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}
