package clock_test

import (
	"context"
	"fmt"
	"time"

	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/clock/clocktest"
)

// A wait on an injected clock: the test moves time, nothing sleeps.
func Example() {
	start := time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC)
	var c clock.Clock = clocktest.NewAuto(start)
	if err := clock.Sleep(context.Background(), c, 90*time.Second); err != nil {
		fmt.Println(err)
	}
	fmt.Println(c.Now().Format(time.TimeOnly))
	// Output: 14:31:30
}
