// Package clock is the module's one source of time. Every arbion package
// that reads the time or waits (rate limiters, backoff, token expiry, the
// stop-loss sweep, the emulators) takes a [Clock], so that a test moves time
// with one fake (package clocktest) instead of sleeping.
//
// A nil Clock in any arbion config means [Real].
package clock

import (
	"context"
	"time"
)

// Clock tells the time and makes one-shot timers.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a timer that fires once, d from now. A d of zero or
	// less fires at once.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer made by a [Clock].
type Timer interface {
	// C returns the channel that receives the time when the timer fires.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it was
	// stopped before it fired.
	Stop() bool
}

// Real returns the wall clock: time.Now and time.NewTimer.
func Real() Clock { return realClock{} }

// Or returns c, or [Real] when c is nil: the default every config applies.
func Or(c Clock) Clock {
	if c == nil {
		return realClock{}
	}
	return c
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time { return t.t.C }
func (t realTimer) Stop() bool          { return t.t.Stop() }

// Sleep waits d on c, or until ctx ends; it returns ctx.Err() in that case
// and nil otherwise. A d of zero or less returns at once, after checking ctx.
func Sleep(ctx context.Context, c Clock, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	t := c.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}
