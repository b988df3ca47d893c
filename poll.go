package toolhouse

import (
	"fmt"
	"time"

	"github.com/toolhouseai/toolhouse-go/internal/poll"
)

// PollOptions sets how a wait polls: the first interval, doubled (with
// jitter) after each look up to MaxInterval, for at most MaxWait. A zero
// field takes the client's WithPollOptions value, else the default.
type PollOptions struct {
	Interval    time.Duration // first wait between polls; zero means 1 s
	MaxInterval time.Duration // backoff cap; zero means 10 s
	MaxWait     time.Duration // overall bound; zero means only the context bounds it
}

// validate refuses negative durations, naming them as an *ArgumentError
// of the argument arg.
func (o PollOptions) validate(arg string) error {
	if o.Interval < 0 || o.MaxInterval < 0 || o.MaxWait < 0 {
		return &ArgumentError{Arg: arg, Reason: fmt.Sprintf(
			"durations must not be negative (Interval %s, MaxInterval %s, MaxWait %s)",
			o.Interval, o.MaxInterval, o.MaxWait)}
	}
	return nil
}

// pollOptions returns the polling settings for one wait: each field from
// the call's options when set, else from the client's WithPollOptions, else
// (zero) the defaults. A call that only bounds the wait with MaxWait keeps
// the client's pace.
func (c *Client) pollOptions(opts *PollOptions) (PollOptions, error) {
	if opts == nil {
		return c.poll, nil
	}
	if err := opts.validate("opts"); err != nil {
		return PollOptions{}, err
	}
	o := *opts
	if o.Interval == 0 {
		o.Interval = c.poll.Interval
	}
	if o.MaxInterval == 0 {
		o.MaxInterval = c.poll.MaxInterval
	}
	if o.MaxWait == 0 {
		o.MaxWait = c.poll.MaxWait
	}
	return o, nil
}

// loop turns the options into the poll loop of one wait, on the client's
// clock.
func (c *Client) loop(opts *PollOptions) (poll.Loop, error) {
	o, err := c.pollOptions(opts)
	if err != nil {
		return poll.Loop{}, err
	}
	return poll.Loop{Interval: o.Interval, MaxInterval: o.MaxInterval, MaxWait: o.MaxWait,
		Sleep: c.sleep, Now: c.now}, nil
}
