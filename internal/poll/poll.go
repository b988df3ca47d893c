// Package poll runs the wait loops of the SDK (agent runs, worker jobs): a
// check repeated with a jittered, doubling delay between a first interval
// and a cap, bounded by an overall wait and by the context.
package poll

import (
	"context"
	"errors"
	"time"

	"github.com/toolhouseai/toolhouse-go/internal/retry"
)

// ErrMaxWait is returned when the overall wait ran out before the check
// reported done.
var ErrMaxWait = errors.New("poll: gave up waiting")

// Defaults: 1 s doubling to 10 s.
const (
	DefaultInterval    = time.Second
	DefaultMaxInterval = 10 * time.Second
)

// Loop describes one wait.
type Loop struct {
	Interval    time.Duration // first delay; zero means DefaultInterval
	MaxInterval time.Duration // delay cap; zero means DefaultMaxInterval
	MaxWait     time.Duration // overall bound; zero means only ctx bounds it

	// Sleep and Now are the clock; tests make them instant.
	Sleep func(context.Context, time.Duration) error
	Now   func() time.Time
}

// Check inspects the remote state once. It reports whether the wait is
// over and, optionally, how long the server asks the caller to wait before
// the next look (zero for no hint).
type Check func(ctx context.Context) (done bool, hint time.Duration, err error)

// Run calls check until it reports done, returns an error, ctx ends, or
// MaxWait runs out (ErrMaxWait). The last delay is trimmed so that it ends
// at the MaxWait deadline, where check gets one final look.
func (l Loop) Run(ctx context.Context, check Check) error {
	interval, maxInterval := l.Interval, l.MaxInterval
	if interval <= 0 {
		interval = DefaultInterval
	}
	if maxInterval <= 0 {
		maxInterval = DefaultMaxInterval
	}
	if maxInterval < interval {
		maxInterval = interval
	}
	sleep, now := l.Sleep, l.Now
	if sleep == nil {
		sleep = retry.Sleep
	}
	if now == nil {
		now = time.Now
	}
	var deadline time.Time
	if l.MaxWait > 0 {
		deadline = now().Add(l.MaxWait)
		// Also cut a check that stalls past the deadline.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, l.MaxWait, ErrMaxWait)
		defer cancel()
	}
	for attempt := 0; ; attempt++ {
		done, hint, err := check(ctx)
		if err != nil {
			if errors.Is(context.Cause(ctx), ErrMaxWait) {
				return ErrMaxWait
			}
			return err
		}
		if done {
			return nil
		}
		delay := retry.Backoff(attempt, interval, maxInterval)
		if hint > delay {
			delay = min(hint, retry.DefaultMaxHint)
		}
		if !deadline.IsZero() {
			left := deadline.Sub(now())
			if left <= 0 {
				return ErrMaxWait
			}
			if delay > left {
				delay = left
			}
		}
		if err := sleep(ctx, delay); err != nil {
			if errors.Is(context.Cause(ctx), ErrMaxWait) {
				return ErrMaxWait
			}
			return err
		}
	}
}
