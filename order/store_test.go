package order_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
)

// plainStore hides the memory store's type, so that the tracker uses only
// the Store interface, as it does with a SQL store.
type plainStore struct{ order.Store }

// racingStore lets another writer (a second process sharing the store)
// change the record just before the tracker's next saves.
type racingStore struct {
	order.Store
	races atomic.Int64 // saves still to be raced
	raced atomic.Int64
}

func (s *racingStore) Update(ctx context.Context, o order.Order) (order.Order, error) {
	if s.races.Add(-1) >= 0 {
		other, err := s.Store.Get(ctx, o.LocalID)
		if err != nil {
			return order.Order{}, err
		}
		other.StopLossPrice = other.StopLossPrice.Add(dec("1"))
		if _, err := s.Store.Update(ctx, other); err != nil {
			return order.Order{}, err
		}
		s.raced.Add(1)
	}
	return s.Store.Update(ctx, o)
}

func TestStaleVersionIsReReadAndReApplied(t *testing.T) {
	store := &racingStore{}
	e := newEnv(t, paper.Config{}, func(cfg *order.Config) {
		store.Store = cfg.Store
		cfg.Store = store
	})
	o := e.submit(t, limitBuy("10", "90"))
	store.races.Store(2) // the next two saves lose the race
	got, err := e.tracker.Apply(t.Context(), order.Event{Kind: order.EventFill, LocalID: o.LocalID,
		Fill: broker.Fill{ExecID: "E1", Quantity: dec("4"), Price: dec("90")}})
	if err != nil {
		t.Fatal(err)
	}
	if store.raced.Load() != 2 {
		t.Fatalf("%d races, want 2", store.raced.Load())
	}
	// Both writers' changes are kept: nothing was lost to the race.
	wantDec(t, "filled", got.FilledQuantity, "4")
	wantDec(t, "the other writer's change", got.StopLossPrice, "2")
	if got.Version != o.Version+3 || len(got.Fills) != 1 {
		t.Errorf("version %d (from %d), %d fills; want +3 and 1", got.Version, o.Version, len(got.Fills))
	}
}

// TestLifecycleThroughTheStoreInterfaceOnly runs a lifecycle with the
// memory store seen only as a Store (the path a SQL store takes).
func TestLifecycleThroughTheStoreInterfaceOnly(t *testing.T) {
	e := newEnv(t, paper.Config{}, func(cfg *order.Config) { cfg.Store = plainStore{cfg.Store} })
	o := e.submit(t, limitBuy("10", "90"))
	e.execute(t, o.BrokerOrderID, "4", "89.5")
	e.reconcile(t)
	got, err := e.tracker.Cancel(t.Context(), o.LocalID)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, got, broker.StatusCanceled)
	wantDec(t, "filled", got.FilledQuantity, "4")
	// A record returned to the caller is a copy.
	got.Fills[0].Quantity = dec("99")
	wantDec(t, "stored fill", e.get(t, o.LocalID).Fills[0].Quantity, "4")
}

// TestReturnedRecordsAreCopies: changing a record the tracker returned
// changes nothing stored, with the memory store's copy-free path too.
func TestReturnedRecordsAreCopies(t *testing.T) {
	e := newEnv(t, paper.Config{})
	o := e.submit(t, limitBuy("10", "90"))
	got, err := e.tracker.Apply(t.Context(), order.Event{Kind: order.EventFill, LocalID: o.LocalID,
		Fill: broker.Fill{ExecID: "E1", Quantity: dec("4"), Price: dec("90")}})
	if err != nil {
		t.Fatal(err)
	}
	got.Fills[0].Quantity = dec("99")
	dup, _ := e.tracker.Apply(t.Context(), order.Event{Kind: order.EventFill, LocalID: o.LocalID,
		Fill: broker.Fill{ExecID: "E1", Quantity: dec("4"), Price: dec("90")}})
	dup.Fills[0].ExecID = "changed"
	stored := e.get(t, o.LocalID)
	if !stored.Fills[0].Quantity.Equal(dec("4")) || stored.Fills[0].ExecID != "E1" {
		t.Errorf("a caller's change reached the store: %+v", stored.Fills[0])
	}
}
