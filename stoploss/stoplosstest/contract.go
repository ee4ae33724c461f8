// Package stoplosstest holds contract tests that any [stoploss.Store] and
// [stoploss.Lock] implementation must pass, in the style of testing/fstest:
// a SQL store's tests call StoreContract and LockContract with a
// constructor of fresh instances.
package stoplosstest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

// StoreContract checks the [stoploss.Store] contract against fresh stores
// made by newStore: round trip of every field, versions for optimistic
// concurrency, listing per account in symbol order, deletion, copies handed
// out, and concurrent saves of one version (exactly one wins).
func StoreContract(t *testing.T, newStore func(t *testing.T) stoploss.Store) {
	t.Helper()
	ctx := context.Background()

	t.Run("round-trip", func(t *testing.T) {
		s := newStore(t)
		in := sample("acct", "AAPL")
		saved, err := s.Save(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if saved.Version != 1 {
			t.Fatalf("version after the first save = %d, want 1", saved.Version)
		}
		got, found, err := s.Get(ctx, "acct", "AAPL")
		if err != nil || !found {
			t.Fatalf("Get = found %v, err %v", found, err)
		}
		want := in
		want.Version = 1
		if diff := cmp.Diff(want, got, decimalEqual, timeEqual); diff != "" {
			t.Errorf("stored record differs (-want +got):\n%s", diff)
		}
		if _, found, err := s.Get(ctx, "acct", "MSFT"); err != nil || found {
			t.Errorf("Get of a missing symbol = found %v, err %v", found, err)
		}
		if _, found, err := s.Get(ctx, "other", "AAPL"); err != nil || found {
			t.Errorf("Get of another account = found %v, err %v", found, err)
		}
	})

	t.Run("versions", func(t *testing.T) {
		s := newStore(t)
		v1, err := s.Save(ctx, sample("acct", "AAPL"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Save(ctx, sample("acct", "AAPL")); !errors.Is(err, errors.ErrStaleVersion) {
			t.Fatalf("second create = %v, want ErrStaleVersion", err)
		}
		v1.StopPrice = decimal.RequireFromString("96.5")
		v2, err := s.Save(ctx, v1)
		if err != nil || v2.Version != 2 {
			t.Fatalf("update = version %d, err %v; want 2", v2.Version, err)
		}
		if _, err := s.Save(ctx, v1); !errors.Is(err, errors.ErrStaleVersion) {
			t.Fatalf("save of an old version = %v, want ErrStaleVersion", err)
		}
		got, _, _ := s.Get(ctx, "acct", "AAPL")
		if !got.StopPrice.Equal(v2.StopPrice) || got.Version != 2 {
			t.Errorf("stored = stop %s version %d, want %s version 2", got.StopPrice, got.Version, v2.StopPrice)
		}
	})

	t.Run("list-and-delete", func(t *testing.T) {
		s := newStore(t)
		var saved []stoploss.Protection
		for _, sym := range []string{"SPY", "AAPL", "MSFT"} {
			p, err := s.Save(ctx, sample("acct", sym))
			if err != nil {
				t.Fatal(err)
			}
			saved = append(saved, p)
		}
		if _, err := s.Save(ctx, sample("other", "QQQ")); err != nil {
			t.Fatal(err)
		}
		list, err := s.List(ctx, "acct")
		if err != nil {
			t.Fatal(err)
		}
		var syms []string
		for _, p := range list {
			syms = append(syms, p.Symbol)
		}
		if diff := cmp.Diff([]string{"AAPL", "MSFT", "SPY"}, syms); diff != "" {
			t.Errorf("List symbols (-want +got):\n%s", diff)
		}
		if err := s.Delete(ctx, "acct", "SPY", saved[0].Version+1); !errors.Is(err, errors.ErrStaleVersion) {
			t.Errorf("Delete with a wrong version = %v, want ErrStaleVersion", err)
		}
		if err := s.Delete(ctx, "acct", "SPY", saved[0].Version); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, "acct", "SPY", saved[0].Version); err != nil {
			t.Errorf("Delete of a missing record = %v, want nil", err)
		}
		if _, found, _ := s.Get(ctx, "acct", "SPY"); found {
			t.Error("deleted record still found")
		}
		// A record deleted and created again starts over at version 1.
		again, err := s.Save(ctx, sample("acct", "SPY"))
		if err != nil || again.Version != 1 {
			t.Errorf("re-create = version %d, err %v", again.Version, err)
		}
		if list, _ := s.List(ctx, "nobody"); len(list) != 0 {
			t.Errorf("List of an empty account = %d records", len(list))
		}
	})

	t.Run("copies", func(t *testing.T) {
		s := newStore(t)
		p, err := s.Save(ctx, sample("acct", "AAPL"))
		if err != nil {
			t.Fatal(err)
		}
		p.StopPrice = decimal.NewFromInt(1)
		got, _, _ := s.Get(ctx, "acct", "AAPL")
		if got.StopPrice.Equal(p.StopPrice) {
			t.Error("changing a returned record changed the stored one")
		}
	})

	t.Run("concurrent-saves", func(t *testing.T) {
		s := newStore(t)
		base, err := s.Save(ctx, sample("acct", "AAPL"))
		if err != nil {
			t.Fatal(err)
		}
		const writers = 8
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for i := range writers {
			wg.Go(func() {
				p := base
				p.StopSeq = i + 1
				if _, err := s.Save(ctx, p); err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				} else if !errors.Is(err, errors.ErrStaleVersion) {
					t.Errorf("concurrent save: %v", err)
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Errorf("%d concurrent saves of one version won, want exactly 1", wins)
		}
	})
}

// LockContract checks the [stoploss.Lock] contract against fresh locks made
// by newLock; the two values it returns must share their state (two
// handles, as two replicas would have, on one lock).
func LockContract(t *testing.T, newLock func(t *testing.T) (a, b stoploss.Lock)) {
	t.Helper()
	ctx := context.Background()

	t.Run("exclusive", func(t *testing.T) {
		a, b := newLock(t)
		release, ok, err := a.TryAcquire(ctx, "acct")
		if err != nil || !ok {
			t.Fatalf("first acquire = %v, %v", ok, err)
		}
		if _, ok, err := b.TryAcquire(ctx, "acct"); err != nil || ok {
			t.Fatalf("second acquire while held = %v, %v; want not ok", ok, err)
		}
		other, ok, err := b.TryAcquire(ctx, "other-acct")
		if err != nil || !ok {
			t.Fatalf("another account = %v, %v; want ok", ok, err)
		}
		other()
		release()
		releaseB, ok, err := b.TryAcquire(ctx, "acct")
		if err != nil || !ok {
			t.Fatalf("acquire after release = %v, %v", ok, err)
		}
		release() // a second release of an old hold must not free B's
		if _, ok, _ := a.TryAcquire(ctx, "acct"); ok {
			t.Fatal("a stale release freed the current holder's lock")
		}
		releaseB()
	})

	t.Run("cancelled-context", func(t *testing.T) {
		a, _ := newLock(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		release, ok, err := a.TryAcquire(cctx, "acct")
		if ok {
			release()
			t.Fatal("acquired with a cancelled context")
		}
		if err == nil {
			t.Error("no error with a cancelled context")
		}
	})

	t.Run("one-winner", func(t *testing.T) {
		a, b := newLock(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var releases []func()
		for i := range 8 {
			l := a
			if i%2 == 1 {
				l = b
			}
			wg.Go(func() {
				release, ok, err := l.TryAcquire(ctx, "acct")
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					releases = append(releases, release)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(releases) != 1 {
			t.Errorf("%d holders at once, want 1", len(releases))
		}
		for _, r := range releases {
			r()
		}
	})
}

func sample(account, symbol string) stoploss.Protection {
	at := time.Date(2026, 11, 27, 14, 30, 0, 0, time.UTC)
	return stoploss.Protection{
		Account: account, Symbol: symbol, AssetClass: broker.Equity,
		Quantity: decimal.RequireFromString("-12.5"), EntryPrice: decimal.RequireFromString("100.25"),
		Epoch: "E1", Mode: stoploss.ModeNativeStop,
		StopPrice: decimal.RequireFromString("105.1"), TakeProfitPrice: decimal.RequireFromString("90"),
		BestPrice: decimal.RequireFromString("99.75"), StopOrderID: "L1", StopClientOrderID: "C1",
		StopSeq: 3, StopQuantity: decimal.RequireFromString("12.5"), StopOrderPrice: decimal.RequireFromString("105.1"),
		CloseClientOrderID: "X1", CloseAttempt: 1, CloseReason: "stop breach", UpdatedAt: at,
	}
}

var (
	decimalEqual = cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })
	timeEqual    = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })
)
