package httpx

import (
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is one client-side rate limit: a token bucket or a sliding
// window.
type limiter interface {
	// reserve books the next slot at or after now: the delay until it, and
	// a function that gives the slot back if the request is not sent. ok
	// is false if no slot can ever be had.
	reserve(now time.Time) (delay time.Duration, cancel func(), ok bool)
	// headroom is how many requests could start at now without waiting.
	headroom(now time.Time) int
}

// Window is a sliding-window limit: at most N requests start in any window
// of length Length, however they are timed, and up to N may start at once
// (a fresh client is not paced). It is safe for concurrent use; share one
// between Clients (several accounts of one app) through Bucket.Window.
type Window struct {
	n      int
	length time.Duration

	mu     sync.Mutex
	starts []time.Time // the booked start times still inside a window, ascending
}

// NewWindow returns a window admitting n requests per length. n must be at
// least 1 and length positive (Client's New refuses a bucket with an
// invalid window).
func NewWindow(n int, length time.Duration) *Window {
	return &Window{n: n, length: length, starts: make([]time.Time, 0, max(n, 0))}
}

// forget drops the starts that no window from now on can contain.
func (w *Window) forget(now time.Time) {
	cut := 0
	for cut < len(w.starts) && !w.starts[cut].After(now.Add(-w.length)) {
		cut++
	}
	w.starts = slices.Delete(w.starts, 0, cut)
}

func (w *Window) reserve(now time.Time) (time.Duration, func(), bool) {
	if w.n < 1 || w.length <= 0 {
		return 0, nil, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.forget(now)
	at := now
	if len(w.starts) >= w.n {
		// The n-th start back must have left the window: a start exactly
		// length after it would put n+1 starts in one closed window.
		at = w.starts[len(w.starts)-w.n].Add(w.length + time.Nanosecond)
	}
	if len(w.starts) > 0 && at.Before(w.starts[len(w.starts)-1]) {
		at = w.starts[len(w.starts)-1]
	}
	w.starts = append(w.starts, at)
	return at.Sub(now), func() { w.release(at) }, true
}

// release gives back a booked start that was not used.
func (w *Window) release(at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := len(w.starts) - 1; i >= 0; i-- {
		if w.starts[i].Equal(at) {
			w.starts = slices.Delete(w.starts, i, i+1)
			return
		}
	}
}

func (w *Window) headroom(now time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.forget(now)
	inWindow := 0
	for _, s := range w.starts {
		if !s.After(now) {
			inWindow++
		} else {
			return 0 // a start is booked in the future: the window is full
		}
	}
	return max(0, w.n-inWindow)
}

// tokens adapts a rate.Limiter.
type tokens struct{ l *rate.Limiter }

func (t tokens) reserve(now time.Time) (time.Duration, func(), bool) {
	r := t.l.ReserveN(now, 1)
	if !r.OK() {
		return 0, nil, false
	}
	return r.DelayFrom(now), func() { r.CancelAt(now) }, true
}

func (t tokens) headroom(now time.Time) int { return max(0, int(t.l.TokensAt(now))) }
