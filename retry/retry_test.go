package retry_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/retry"
)

func TestWithDefaults(t *testing.T) {
	tests := []struct {
		name    string
		in      retry.Policy
		want    retry.Policy
		wantErr bool
	}{
		{name: "zero means the defaults", in: retry.Policy{}, want: retry.Policy{
			MaxAttempts: retry.DefaultMaxAttempts, InitialInterval: retry.DefaultInitialInterval,
			MaxInterval: retry.DefaultMaxInterval, MaxElapsedTime: retry.DefaultMaxElapsedTime,
			Multiplier: retry.DefaultMultiplier, RandomizationFactor: retry.DefaultRandomizationFactor}},
		{name: "disabled sends once", in: retry.Policy{Disabled: true, MaxAttempts: 9}, want: retry.Policy{
			Disabled: true, MaxAttempts: 1, InitialInterval: retry.DefaultInitialInterval,
			MaxInterval: retry.DefaultMaxInterval, MaxElapsedTime: retry.DefaultMaxElapsedTime,
			Multiplier: retry.DefaultMultiplier, RandomizationFactor: retry.DefaultRandomizationFactor}},
		{name: "negative attempts", in: retry.Policy{MaxAttempts: -1}, wantErr: true},
		{name: "jitter above 1", in: retry.Policy{RandomizationFactor: 1.5}, wantErr: true},
		{name: "shrinking multiplier", in: retry.Policy{Multiplier: 0.5}, wantErr: true},
		{name: "negative interval", in: retry.Policy{InitialInterval: -time.Second}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.WithDefaults()
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %t", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if got.Budget == nil || got.Budget.Available() != retry.DefaultBudgetCapacity {
				t.Errorf("default budget = %v", got.Budget)
			}
			got.Budget = nil
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestBudget(t *testing.T) {
	b := retry.NewBudget(12)
	if !b.Take(retry.TimeoutRetryCost) || b.Take(retry.RetryCost) {
		t.Fatalf("after a timeout retry %d tokens are left: a second retry must be refused", b.Available())
	}
	b.Refund(100)
	if b.Available() != 12 {
		t.Errorf("refund overflowed the capacity: %d", b.Available())
	}
	if retry.NewBudget(0).Available() != 1 {
		t.Error("a budget below 1 is raised to 1")
	}
}

// A budget shared by two adapters stops their retries together.
func ExampleBudget() {
	shared := retry.NewBudget(2 * retry.RetryCost)
	policy := retry.Policy{Budget: shared}
	for i := range 3 {
		fmt.Println("retry", i+1, "allowed:", policy.Budget.Take(retry.RetryCost))
	}
	// Output:
	// retry 1 allowed: true
	// retry 2 allowed: true
	// retry 3 allowed: false
}
