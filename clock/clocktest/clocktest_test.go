package clocktest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/clock/clocktest"
)

var start = time.Date(2026, 1, 5, 9, 30, 0, 0, time.UTC)

func TestManualTimers(t *testing.T) {
	c := clocktest.New(start)
	a, b := c.NewTimer(time.Second), c.NewTimer(2*time.Second)
	if c.Waiters() != 2 {
		t.Fatalf("Waiters = %d, want 2", c.Waiters())
	}
	c.Advance(time.Second)
	select {
	case got := <-a.C():
		if !got.Equal(start.Add(time.Second)) {
			t.Errorf("fired at %v", got)
		}
	default:
		t.Fatal("timer due at 1s did not fire")
	}
	select {
	case <-b.C():
		t.Fatal("timer due at 2s fired at 1s")
	default:
	}
	if !b.Stop() || b.Stop() || c.Waiters() != 0 {
		t.Error("Stop: want true once, then false, and no waiters")
	}
	c.Set(start) // never backwards
	if !c.Now().Equal(start.Add(time.Second)) {
		t.Errorf("Now = %v after Set to the past", c.Now())
	}
}

func TestAutoAdvance(t *testing.T) {
	c := clocktest.NewAuto(start)
	if err := clock.Sleep(context.Background(), c, time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := c.Now().Sub(start); got != time.Minute {
		t.Errorf("clock advanced %v, want 1m", got)
	}
}

// A rate-limited loop runs a simulated minute in no real time.
func ExampleNewAuto() {
	c := clocktest.NewAuto(start)
	for range 3 {
		_ = clock.Sleep(context.Background(), c, 30*time.Second)
	}
	fmt.Println(c.Now().Format(time.Kitchen))
	// Output: 9:31AM
}

func TestWaitForWaiters(t *testing.T) {
	c := clocktest.New(start)
	done := make(chan error, 1)
	go func() { done <- clock.Sleep(context.Background(), c, time.Hour) }()
	if err := c.WaitForWaiters(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Hour)
	if err := <-done; err != nil {
		t.Fatalf("Sleep = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.WaitForWaiters(ctx, 5); err != context.Canceled {
		t.Errorf("WaitForWaiters on a cancelled ctx = %v", err)
	}
}
