package schwabtest

import (
	"context"
	"sync"
	"time"
)

// Clock is the emulator's time source: token lifetimes, authorization-code
// expiry, the order-rate window, order timestamps and injected latency all
// read it, so that a test can move time without sleeping.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives the time once d has passed.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// FakeClock is a manual clock for tests. Time moves only when the test calls
// Advance or Set, or, in auto-advance mode, when a caller sleeps. It is safe
// for concurrent use and may be shared by the emulator and the client under
// test, so both see one timeline.
type FakeClock struct {
	mu          sync.Mutex
	now         time.Time
	timers      []fakeTimer
	autoAdvance bool
	changed     chan struct{} // closed and replaced whenever timers are added
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

// NewFakeClock returns a clock stopped at start.
func NewFakeClock(start time.Time) *FakeClock {
	return &FakeClock{now: start, changed: make(chan struct{})}
}

// Now returns the clock's current time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives the clock's time once it has been
// advanced by at least d. In auto-advance mode the clock jumps forward by d
// at once and the channel is ready.
func (c *FakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if c.autoAdvance && d > 0 {
		c.setLocked(c.now.Add(d))
	}
	if d <= 0 || c.autoAdvance {
		ch <- c.now
		return ch
	}
	c.timers = append(c.timers, fakeTimer{at: c.now.Add(d), ch: ch})
	close(c.changed)
	c.changed = make(chan struct{})
	return ch
}

// Sleep waits until the clock has moved d forward or ctx is done. In
// auto-advance mode it moves the clock itself, so that code which waits (a
// rate limiter, a backoff) runs at once on a consistent timeline.
func (c *FakeClock) Sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-c.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SetAutoAdvance turns auto-advance mode on or off (see Sleep).
func (c *FakeClock) SetAutoAdvance(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.autoAdvance = on
}

// AutoAdvancing reports whether auto-advance mode is on.
func (c *FakeClock) AutoAdvancing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.autoAdvance
}

// Advance moves the clock forward by d and fires every timer that is due.
func (c *FakeClock) Advance(d time.Duration) {
	if d < 0 {
		return
	}
	c.mu.Lock()
	c.setLocked(c.now.Add(d))
	c.mu.Unlock()
}

// Set moves the clock to t (never backwards) and fires every timer that is due.
func (c *FakeClock) Set(t time.Time) {
	c.mu.Lock()
	if t.After(c.now) {
		c.setLocked(t)
	}
	c.mu.Unlock()
}

func (c *FakeClock) setLocked(t time.Time) {
	c.now = t
	kept := c.timers[:0]
	for _, tm := range c.timers {
		if !tm.at.After(t) {
			tm.ch <- t
			continue
		}
		kept = append(kept, tm)
	}
	c.timers = kept
}

// Waiters returns how many After channels (and sleepers) are pending.
func (c *FakeClock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// WaitForWaiters blocks until at least n timers are pending or ctx is done:
// a test uses it to know that a handler is parked on injected latency before
// it moves the clock, without sleeping.
func (c *FakeClock) WaitForWaiters(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		if len(c.timers) >= n {
			c.mu.Unlock()
			return nil
		}
		changed := c.changed
		c.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
