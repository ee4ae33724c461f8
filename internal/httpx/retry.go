package httpx

import (
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/retry"
	"github.com/cenkalti/backoff/v4"
)

// newBackoff returns a fresh exponential backoff of p on c.
func newBackoff(p retry.Policy, c clock.Clock) *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(p.InitialInterval),
		backoff.WithMaxInterval(p.MaxInterval),
		backoff.WithMaxElapsedTime(p.MaxElapsedTime),
		backoff.WithMultiplier(p.Multiplier),
		backoff.WithRandomizationFactor(p.RandomizationFactor),
		backoff.WithClockProvider(c),
	)
	b.Reset()
	return b
}
