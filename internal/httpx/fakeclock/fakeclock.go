// Package fakeclock is a manual clock for tests of code that waits on an
// httpx.Clock: a minute of rate-limited traffic runs in microseconds, with
// no time.Sleep.
//
// Time moves only when the test calls [Clock.Advance] or [Clock.Set], or,
// for a clock made with [NewAuto], whenever a timer is created: the clock
// then jumps to the timer's deadline and fires it at once. Auto mode suits a
// single goroutine that waits in turn (a loop of requests through a rate
// limiter); with concurrent waiters, use manual mode and [Clock.Waiters].
package fakeclock

import (
	"sync"
	"time"

	"github.com/arbiontrader/arbion/internal/httpx"
)

// Clock is a fake httpx.Clock. Safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	auto   bool
	timers []*timer
}

var _ httpx.Clock = (*Clock)(nil)

// New returns a manual clock set to start.
func New(start time.Time) *Clock { return &Clock{now: start} }

// NewAuto returns a clock set to start that advances to each new timer's
// deadline as soon as the timer is created.
func NewAuto(start time.Time) *Clock { return &Clock{now: start, auto: true} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer firing d after the clock's current time.
func (c *Clock) NewTimer(d time.Duration) httpx.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &timer{clock: c, at: c.now.Add(d), ch: make(chan time.Time, 1)}
	if c.auto && t.at.After(c.now) {
		c.now = t.at
	}
	if !t.at.After(c.now) {
		t.ch <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	return t
}

// Advance moves the clock forward by d and fires the timers that are due.
func (c *Clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// Set moves the clock to t (never backwards) and fires the timers that are
// due.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	pending := c.timers[:0]
	for _, tm := range c.timers {
		if tm.at.After(c.now) {
			pending = append(pending, tm)
			continue
		}
		tm.ch <- c.now
	}
	c.timers = pending
}

// Waiters returns the number of timers that have not fired nor been stopped,
// so that a test can wait until its goroutines are blocked on the clock.
func (c *Clock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

type timer struct {
	clock *Clock
	at    time.Time
	ch    chan time.Time
}

func (t *timer) C() <-chan time.Time { return t.ch }

func (t *timer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, tm := range c.timers {
		if tm == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return true
		}
	}
	return false
}
