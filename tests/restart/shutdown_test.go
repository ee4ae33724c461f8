package restart_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/schwab/schwabtest"
)

// TestShutdownDuringPlaceOrderAtTheEmulator: SIGTERM (the caller's context
// cancelled) while Schwab's emulator holds a PlaceOrder. The request is not
// cut off: it completes, its answer is saved, Drain returns once it is, and
// no order is left of unknown outcome (before, the cancelled context cut
// the request and left one).
func TestShutdownDuringPlaceOrderAtTheEmulator(t *testing.T) {
	r := newSchwabRig(t).(*schwabRig)
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	r.emu.SetFaultFunc(schwabtest.RoutePlace, func(*http.Request) *schwabtest.Fault {
		once.Do(func() { close(entered) })
		<-release
		return nil
	})
	store := order.NewMemoryStore()
	tr, err := order.NewTracker(order.Config{Broker: r.connect(t), Store: store, Clock: r.clock(), Account: "acct"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, sigterm := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := tr.Submit(ctx, order.Request{OrderRequest: broker.OrderRequest{Instrument: r.instrument(),
			Side: broker.Buy, Type: broker.Limit, Quantity: r.quantity(), LimitPrice: r.limitPrice(),
			TimeInForce: broker.Day}})
		done <- err
	}()
	<-entered
	sigterm()
	drained := make(chan error, 1)
	go func() { drained <- tr.Drain(t.Context()) }()
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Submit after SIGTERM: %v", err)
	}
	if err := <-drained; err != nil {
		t.Fatalf("Drain: %v", err)
	}
	open, err := store.Open(t.Context(), "acct")
	if err != nil {
		t.Fatal(err)
	}
	unknown := 0
	for _, o := range open {
		if o.OutcomeUnknown || o.BrokerOrderID == "" {
			unknown++
		}
	}
	if unknown != 0 || len(r.emu.Orders()) != 1 {
		t.Errorf("%d unknowns, %d orders at the emulator; want 0 and 1", unknown, len(r.emu.Orders()))
	}
}
