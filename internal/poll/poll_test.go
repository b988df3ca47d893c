package poll

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock is an instant clock: Sleep records the delay and moves Now.
type fakeClock struct {
	now    time.Time
	delays []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) loop(l Loop) Loop {
	l.Sleep = func(ctx context.Context, d time.Duration) error {
		c.delays = append(c.delays, d)
		c.now = c.now.Add(d)
		return ctx.Err()
	}
	l.Now = func() time.Time { return c.now }
	return l
}

// after returns a check that is done on its n-th call, hinting hint.
func after(n int, hint time.Duration, calls *int) Check {
	return func(context.Context) (bool, time.Duration, error) {
		*calls++
		return *calls >= n, hint, nil
	}
}

func TestBackoffGrowsToTheCap(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	var calls int
	err := clock.loop(Loop{Interval: time.Second, MaxInterval: 5 * time.Second}).Run(context.Background(), after(6, 0, &calls))
	require.NoError(t, err)
	assert.Equal(t, 6, calls)
	ceilings := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	require.Len(t, clock.delays, len(ceilings))
	for i, ceiling := range ceilings {
		assert.LessOrEqual(t, clock.delays[i], ceiling, i)
		assert.GreaterOrEqual(t, clock.delays[i], ceiling*3/4, i)
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	var calls int
	require.NoError(t, clock.loop(Loop{}).Run(context.Background(), after(6, 0, &calls)))
	ceilings := []time.Duration{DefaultInterval, 2 * time.Second, 4 * time.Second, 8 * time.Second, DefaultMaxInterval}
	for i, ceiling := range ceilings {
		assert.LessOrEqual(t, clock.delays[i], ceiling, i)
		assert.GreaterOrEqual(t, clock.delays[i], ceiling*3/4, i)
	}
}

func TestMaxIntervalBelowIntervalUsesInterval(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	var calls int
	require.NoError(t, clock.loop(Loop{Interval: 4 * time.Second, MaxInterval: time.Second}).Run(context.Background(), after(3, 0, &calls)))
	for _, d := range clock.delays {
		assert.GreaterOrEqual(t, d, 3*time.Second)
		assert.LessOrEqual(t, d, 4*time.Second)
	}
}

func TestDoneAtOnceDoesNotSleep(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	var calls int
	require.NoError(t, clock.loop(Loop{}).Run(context.Background(), after(1, 0, &calls)))
	assert.Equal(t, 1, calls)
	assert.Empty(t, clock.delays)
}

func TestHint(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	var calls int
	require.NoError(t, clock.loop(Loop{Interval: time.Second}).Run(context.Background(), after(2, 20*time.Second, &calls)))
	assert.Equal(t, []time.Duration{20 * time.Second}, clock.delays, "a longer server hint wins")

	clock = newFakeClock()
	calls = 0
	require.NoError(t, clock.loop(Loop{Interval: time.Second}).Run(context.Background(), after(2, time.Hour, &calls)))
	assert.Equal(t, []time.Duration{time.Minute}, clock.delays, "a hint is honoured up to a minute")

	clock = newFakeClock()
	calls = 0
	require.NoError(t, clock.loop(Loop{Interval: 10 * time.Second, MaxInterval: 10 * time.Second}).Run(context.Background(), after(2, time.Millisecond, &calls)))
	require.Len(t, clock.delays, 1)
	assert.GreaterOrEqual(t, clock.delays[0], 7500*time.Millisecond, "a shorter hint does not speed polling up")
}

func TestMaxWaitTrimsTheLastDelay(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	var calls int
	l := clock.loop(Loop{Interval: 4 * time.Second, MaxInterval: 4 * time.Second, MaxWait: 5 * time.Second})
	err := l.Run(context.Background(), after(100, 0, &calls))
	assert.ErrorIs(t, err, ErrMaxWait)
	require.Len(t, clock.delays, 2)
	assert.GreaterOrEqual(t, clock.delays[0], 3*time.Second)
	assert.Equal(t, 5*time.Second, clock.delays[0]+clock.delays[1], "the last delay ends at the deadline")
	assert.Equal(t, 3, calls, "one final look at the deadline")
}

func TestMaxWaitTrimsAHint(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	var calls int
	err := clock.loop(Loop{MaxWait: 10 * time.Second}).Run(context.Background(), after(100, 30*time.Second, &calls))
	assert.ErrorIs(t, err, ErrMaxWait)
	assert.Equal(t, []time.Duration{10 * time.Second}, clock.delays)
	assert.Equal(t, 2, calls)
}

func TestMaxWaitSucceedsOnTheFinalLook(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	var calls int
	l := clock.loop(Loop{Interval: 4 * time.Second, MaxInterval: 4 * time.Second, MaxWait: 5 * time.Second})
	require.NoError(t, l.Run(context.Background(), after(3, 0, &calls)))
}

func TestMaxWaitCutsAStalledCheck(t *testing.T) {
	t.Parallel()
	l := Loop{MaxWait: 5 * time.Millisecond}
	err := l.Run(context.Background(), func(ctx context.Context) (bool, time.Duration, error) {
		<-ctx.Done()
		return false, 0, ctx.Err()
	})
	assert.ErrorIs(t, err, ErrMaxWait)
}

func TestContextCancel(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	err := clock.loop(Loop{}).Run(ctx, func(context.Context) (bool, time.Duration, error) {
		calls++
		if calls == 2 {
			cancel()
		}
		return false, 0, nil
	})
	assert.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, ErrMaxWait)
	assert.Equal(t, 2, calls)
}

func TestRealSleepEndsWithTheContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(2 * time.Millisecond)
		cancel()
	}()
	start := time.Now()
	err := Loop{Interval: time.Hour}.Run(ctx, func(context.Context) (bool, time.Duration, error) { return false, 0, nil })
	assert.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), time.Second)
}

func TestCheckErrorStopsTheLoop(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	boom := errors.New("boom")
	calls := 0
	err := clock.loop(Loop{}).Run(context.Background(), func(context.Context) (bool, time.Duration, error) {
		calls++
		if calls == 3 {
			return false, 0, boom
		}
		return false, 0, nil
	})
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, 3, calls)
	assert.Len(t, clock.delays, 2)
}
