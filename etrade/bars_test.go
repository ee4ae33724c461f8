package etrade

import (
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
)

// E*TRADE has no price history: Capabilities lists no bar interval and the
// Broker is no BarSource, neither by itself nor behind a decorator, so no
// host mistakes a faked answer for history.
func TestNoBarSource(t *testing.T) {
	e := newEnv(t, envOptions{})
	if iv := e.b.Capabilities().BarIntervals; len(iv) != 0 {
		t.Errorf("BarIntervals %v, want none", iv)
	}
	var b broker.Broker = e.b
	if _, ok := b.(broker.BarSource); ok {
		t.Error("*etrade.Broker implements BarSource")
	}
	cached, err := broker.NewQuoteCache(e.b, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := broker.Find[broker.BarSource](cached); ok {
		t.Error("a wrapped *etrade.Broker is found as a BarSource")
	}
}
