// Package clocktest is the one fake [clock.Clock] of the module's tests and
// emulators. Time moves only when the test says so ([Fake.Advance],
// [Fake.Set]) or, in auto-advance mode, whenever a timer is made: the clock
// then jumps to the timer's deadline and fires it at once, so a loop of
// requests through a rate limiter runs in microseconds without sleeping.
//
// One Fake may be shared by an emulator and the client under test so that
// both see one timeline (token lifetimes, rate windows, order times).
package clocktest

import (
	"context"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/clock"
)

// Fake is a manual [clock.Clock]. It is safe for concurrent use.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	auto    bool
	timers  []*timer
	changed chan struct{} // closed and replaced whenever a timer is added
}

var _ clock.Clock = (*Fake)(nil)

// New returns a manual clock stopped at start.
func New(start time.Time) *Fake { return &Fake{now: start, changed: make(chan struct{})} }

// NewAuto returns a clock at start in auto-advance mode (see the package
// documentation). Auto mode suits one goroutine that waits in turn; with
// concurrent waiters, use a manual clock and [Fake.WaitForWaiters].
func NewAuto(start time.Time) *Fake {
	f := New(start)
	f.auto = true
	return f
}

// Now returns the clock's time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer returns a timer that fires once the clock has moved d forward.
func (f *Fake) NewTimer(d time.Duration) clock.Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &timer{fake: f, at: f.now.Add(d), ch: make(chan time.Time, 1)}
	if f.auto && t.at.After(f.now) {
		f.setLocked(t.at)
	}
	if !t.at.After(f.now) {
		t.ch <- f.now
		return t
	}
	f.timers = append(f.timers, t)
	close(f.changed)
	f.changed = make(chan struct{})
	return t
}

// After returns a channel that receives the clock's time once it has moved
// d forward, like time.After.
func (f *Fake) After(d time.Duration) <-chan time.Time { return f.NewTimer(d).C() }

// SetAutoAdvance turns auto-advance mode on or off.
func (f *Fake) SetAutoAdvance(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auto = on
}

// AutoAdvancing reports whether auto-advance mode is on.
func (f *Fake) AutoAdvancing() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.auto
}

// Advance moves the clock forward by d (a negative d does nothing) and
// fires the timers that are due.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d > 0 {
		f.setLocked(f.now.Add(d))
	}
}

// Set moves the clock to t (never backwards) and fires the timers that are
// due.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.After(f.now) {
		f.setLocked(t)
	}
}

func (f *Fake) setLocked(t time.Time) {
	f.now = t
	kept := f.timers[:0]
	for _, tm := range f.timers {
		if tm.at.After(t) {
			kept = append(kept, tm)
			continue
		}
		tm.ch <- t
	}
	clear(f.timers[len(kept):])
	f.timers = kept
}

// Waiters returns how many timers have neither fired nor been stopped, so a
// test can tell that its goroutines are parked on the clock.
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

// WaitForWaiters blocks until at least n timers are pending or ctx ends: a
// test uses it to know that a goroutine is parked on a wait before it moves
// the clock, without sleeping.
func (f *Fake) WaitForWaiters(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		if len(f.timers) >= n {
			f.mu.Unlock()
			return nil
		}
		changed := f.changed
		f.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

type timer struct {
	fake *Fake
	at   time.Time
	ch   chan time.Time
}

func (t *timer) C() <-chan time.Time { return t.ch }

func (t *timer) Stop() bool {
	f := t.fake
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, tm := range f.timers {
		if tm == t {
			f.timers = append(f.timers[:i], f.timers[i+1:]...)
			return true
		}
	}
	return false
}
