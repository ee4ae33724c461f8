package live

import (
	"context"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/clock"
)

// Schedule says when the runner's next step is due. The host may replace
// the default ticker with its own (market hours, cron, a Kubernetes job's
// trigger).
type Schedule interface {
	// Wait returns nil when the next step is due, or ctx's error when ctx
	// ends first. The runner calls it from one goroutine.
	Wait(ctx context.Context) error
}

// Every returns a schedule due at once and then every d on c (the real
// clock when nil); a step that runs long delays the next by as much, never
// piling steps up. d must be positive.
func Every(d time.Duration, c clock.Clock) Schedule {
	return &ticker{every: d, clk: clock.Or(c)}
}

type ticker struct {
	every time.Duration
	clk   clock.Clock

	mu      sync.Mutex
	started bool
}

func (t *ticker) Wait(ctx context.Context) error {
	t.mu.Lock()
	first := !t.started
	t.started = true
	t.mu.Unlock()
	if first {
		return ctx.Err()
	}
	if t.every <= 0 {
		return configError("Every needs a positive period")
	}
	return clock.Sleep(ctx, t.clk, t.every)
}

// ScheduleFunc adapts a function to [Schedule] (a host's cron, market
// hours).
type ScheduleFunc func(ctx context.Context) error

// Wait calls f.
func (f ScheduleFunc) Wait(ctx context.Context) error { return f(ctx) }
