package stoploss_test

import (
	"testing"

	"github.com/arbiontrader/arbion/stoploss"
	"github.com/arbiontrader/arbion/stoploss/stoplosstest"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

func TestMemoryStoreContract(t *testing.T) {
	stoplosstest.StoreContract(t, func(*testing.T) stoploss.Store { return stoploss.NewMemoryStore() })
}

func TestMemoryLockContract(t *testing.T) {
	stoplosstest.LockContract(t, func(*testing.T) (stoploss.Lock, stoploss.Lock) {
		l := stoploss.NewMemoryLock()
		return l, l
	})
}

// TestMemoryStoreListAfterChanges lists between every kind of change, so
// that List's cached order is read each time: each list must show the
// store as it is now, and a caller's edits to a list must not reach it.
func TestMemoryStoreListAfterChanges(t *testing.T) {
	ctx := t.Context()
	s := stoploss.NewMemoryStore()
	type row struct {
		Symbol   string
		Quantity string
		Version  int64
	}
	list := func(account string) []row {
		t.Helper()
		recs, err := s.List(ctx, account)
		if err != nil {
			t.Fatal(err)
		}
		var out []row
		for _, p := range recs {
			out = append(out, row{p.Symbol, p.Quantity.String(), p.Version})
		}
		return out
	}
	save := func(p stoploss.Protection) stoploss.Protection {
		t.Helper()
		saved, err := s.Save(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return saved
	}
	want := func(step string, account string, rows ...row) {
		t.Helper()
		if diff := cmp.Diff(rows, list(account)); diff != "" {
			t.Errorf("%s: List(%s) (-want +got):\n%s", step, account, diff)
		}
	}
	q := decimal.NewFromInt
	want("empty", "a")
	msft := save(stoploss.Protection{Account: "a", Symbol: "MSFT", Quantity: q(1)})
	want("first save", "a", row{"MSFT", "1", 1})
	aapl := save(stoploss.Protection{Account: "a", Symbol: "AAPL", Quantity: q(2)})
	save(stoploss.Protection{Account: "b", Symbol: "AAA", Quantity: q(9)})
	want("second save, other account", "a", row{"AAPL", "2", 1}, row{"MSFT", "1", 1})
	want("other account", "b", row{"AAA", "9", 1})

	recs, err := s.List(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	recs[0].Quantity = q(100) // the caller's copy
	want("caller edited its list", "a", row{"AAPL", "2", 1}, row{"MSFT", "1", 1})

	aapl.Quantity = q(3)
	save(aapl)
	want("update", "a", row{"AAPL", "3", 2}, row{"MSFT", "1", 1})
	if err := s.Delete(ctx, "a", "MSFT", msft.Version); err != nil {
		t.Fatal(err)
	}
	want("delete", "a", row{"AAPL", "3", 2})
	want("other account after delete", "b", row{"AAA", "9", 1})
	if err := s.Delete(ctx, "a", "AAPL", 1); err == nil {
		t.Fatal("stale delete succeeded")
	}
	want("stale delete", "a", row{"AAPL", "3", 2})
}
