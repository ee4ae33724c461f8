package sqlstore_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/arbiontrader/arbion/store/sqlstore"
	"github.com/shopspring/decimal"
)

// ticker is one replica's renewal timer: each After the renewal loop calls
// is handed to the test, which fires it when it wants a renewal to run.
// Receiving from waiting also tells the test that the loop is idle.
type ticker struct {
	clock   *manualClock
	waiting chan chan time.Time
}

func newTicker(clock *manualClock) *ticker {
	return &ticker{clock: clock, waiting: make(chan chan time.Time, 16)}
}

func (k *ticker) After(time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	k.waiting <- ch
	return ch
}

// fire runs one renewal: it waits for the loop to be waiting, then wakes it.
func (k *ticker) fire() { (<-k.waiting) <- k.clock.Now() }

const leaseTTL = 10 * time.Second

func leaseOn(t *testing.T, db *sqlstore.DB, clock *manualClock, k *ticker) *sqlstore.Lease {
	t.Helper()
	return mustLease(t, db, sqlstore.LeaseConfig{TTL: leaseTTL, Clock: leaseClock{clock, k}})
}

func lead(t *testing.T, l *sqlstore.Lease, account string) *sqlstore.Leadership {
	t.Helper()
	ld, err := l.Lead(t.Context(), account)
	if err != nil {
		t.Fatalf("Lead(%s): %v", account, err)
	}
	t.Cleanup(func() { _ = ld.Release() })
	return ld
}

func wantNotLeader(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, errors.ErrNotLeader) {
		t.Fatalf("%s: error %v, want one matching %q", what, err, errors.ErrNotLeader)
	}
}

// waitDone waits for the leadership to end; a leadership that never ends
// fails the test at its deadline.
func waitDone(t *testing.T, ld *sqlstore.Leadership) {
	t.Helper()
	select {
	case <-ld.Done():
	case <-t.Context().Done():
		t.Fatal("leadership never ended")
	}
}

func protection(account, symbol string) stoploss.Protection {
	return stoploss.Protection{Account: account, Symbol: symbol, AssetClass: broker.Equity,
		Quantity: decimal.NewFromInt(10), EntryPrice: decimal.NewFromInt(100), StopPrice: decimal.NewFromInt(95),
		Epoch: "e1", Mode: stoploss.ModeSynthetic}
}

// noRenewalGoroutine fails when a leadership's renewal goroutine is still
// running. Release waits for it, so at most its last instructions remain:
// the check yields a bounded number of times for them.
func noRenewalGoroutine(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for range 1000 {
		n := runtime.Stack(buf, true)
		if !strings.Contains(string(buf[:n]), "sqlstore.(*Lease).Lead.func") {
			return
		}
		runtime.Gosched()
	}
	t.Errorf("a leadership's renewal goroutine is still running:\n%s", buf[:runtime.Stack(buf, true)])
}

// TestLeadershipTakenOverIsFenced: a leader whose lease expired and was
// taken by a second replica can no longer write (the fence checks the token
// in the write's transaction, before its own renewal has noticed), and its
// Err turns non-nil.
func TestLeadershipTakenOverIsFenced(t *testing.T) {
	for _, e := range engines(t) {
		for _, tc := range []struct {
			name       string
			writeFirst bool // the stale leader writes before its renewal runs
		}{{"WriteBeforeRenewal", true}, {"RenewalBeforeWrite", false}} {
			t.Run(e.name+"/"+tc.name, func(t *testing.T) {
				db := e.open(t)
				other := e.reopen(t, db)
				clock := newManualClock()
				ka, kb := newTicker(clock), newTicker(clock)
				a := lead(t, leaseOn(t, db, clock, ka), "acct")
				lb := leaseOn(t, other, clock, kb)
				_, err := lb.Lead(t.Context(), "acct")
				wantNotLeader(t, "Lead while another replica leads", err)
				var se *errors.StopLossError
				if !errors.As(err, &se) || se.Account != "acct" {
					t.Errorf("Lead refusal %v is not an *errors.StopLossError naming the account", err)
				}

				ordersA, protA := db.FencedOrders(a), db.FencedProtections(a)
				o, err := ordersA.Create(t.Context(), newOrder(1))
				if err != nil {
					t.Fatalf("fenced Create while leading: %v", err)
				}
				p, err := protA.Save(t.Context(), protection("acct", "AAPL"))
				if err != nil {
					t.Fatalf("fenced Save while leading: %v", err)
				}

				// A pauses past its expiry; B takes over.
				clock.Advance(leaseTTL + time.Second)
				b := lead(t, lb, "acct")
				if b.Token() <= a.Token() {
					t.Errorf("new holder's token %d is not larger than the old one's %d", b.Token(), a.Token())
				}
				if err := a.Err(); err != nil {
					t.Fatalf("Err before anything noticed the takeover = %v, want nil", err)
				}
				if !tc.writeFirst {
					ka.fire()
					waitDone(t, a)
					wantNotLeader(t, "Err after the renewal found another holder", a.Err())
				}

				stale := o
				stale.Status = broker.StatusCanceled
				_, err = ordersA.Update(t.Context(), stale)
				wantNotLeader(t, "fenced Update by the old leader", err)
				var oe *errors.OrderError
				if !errors.As(err, &oe) || oe.LocalID != o.LocalID {
					t.Errorf("Update refusal %v is not an *errors.OrderError naming %s", err, o.LocalID)
				}
				_, err = ordersA.Create(t.Context(), newOrder(2))
				wantNotLeader(t, "fenced Create by the old leader", err)
				changed := p
				changed.StopPrice = decimal.NewFromInt(1)
				_, err = protA.Save(t.Context(), changed)
				wantNotLeader(t, "fenced Save by the old leader", err)
				wantNotLeader(t, "fenced Delete by the old leader", protA.Delete(t.Context(), "acct", "AAPL", p.Version))
				wantNotLeader(t, "Err after a refused write", a.Err())
				waitDone(t, a)

				// Nothing the old leader tried was stored.
				read, err := db.Orders().Get(t.Context(), o.LocalID)
				if err != nil || read.Version != 1 || read.Status != o.Status {
					t.Errorf("order after refused update: version %d status %s (%v); want version 1 status %s",
						read.Version, read.Status, err, o.Status)
				}
				if _, err := db.Orders().Get(t.Context(), newOrder(2).LocalID); !errors.Is(err, errors.ErrOrderNotFound) {
					t.Errorf("the refused Create was stored: Get error %v", err)
				}
				gotP, found, err := db.Protections().Get(t.Context(), "acct", "AAPL")
				if err != nil || !found || gotP.Version != p.Version || !gotP.StopPrice.Equal(p.StopPrice) {
					t.Errorf("protection after refused writes: %+v found %v (%v); want version %d unchanged",
						gotP, found, err, p.Version)
				}

				// The new leader writes, reading what the old one left.
				if _, err := other.FencedOrders(b).Update(t.Context(), stale); err != nil {
					t.Errorf("fenced Update by the new leader: %v", err)
				}
				if _, err := other.FencedProtections(b).Save(t.Context(), changed); err != nil {
					t.Errorf("fenced Save by the new leader: %v", err)
				}
				if err := a.Release(); err != nil {
					t.Errorf("Release of a lost leadership: %v", err)
				}
				if err := b.Err(); err != nil {
					t.Errorf("the old leader's Release ended the new one's leadership: %v", err)
				}
			})
		}
	}
}

// TestLeadershipReleaseHandsOverAtOnce: after Release another replica leads
// without waiting for the expiry, with a larger token, and the released
// leadership can neither write nor renew.
func TestLeadershipReleaseHandsOverAtOnce(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t)
			other := e.reopen(t, db)
			clock := newManualClock()
			ka, kb := newTicker(clock), newTicker(clock)
			la, lb := leaseOn(t, db, clock, ka), leaseOn(t, other, clock, kb)
			a := lead(t, la, "acct")
			// A renewal while held keeps it.
			ka.fire()
			ka.fire()
			if err := a.Err(); err != nil {
				t.Fatalf("Err after renewals = %v, want nil", err)
			}
			// The fence is per account.
			mismatch := newOrder(1)
			mismatch.Account = "acct-other"
			_, err := db.FencedOrders(a).Create(t.Context(), mismatch)
			wantNotLeader(t, "fenced Create in another account", err)
			if err := a.Err(); err != nil {
				t.Fatalf("a write to another account ended the leadership: %v", err)
			}

			if err := a.Release(); err != nil {
				t.Fatalf("Release: %v", err)
			}
			wantNotLeader(t, "Err after Release", a.Err())
			waitDone(t, a)
			noRenewalGoroutine(t)
			if err := a.Release(); err != nil {
				t.Errorf("second Release = %v, want nil", err)
			}
			_, err = db.FencedOrders(a).Create(t.Context(), newOrder(2))
			wantNotLeader(t, "fenced Create after Release", err)

			b := lead(t, lb, "acct") // at once: the clock has not moved
			if b.Token() <= a.Token() {
				t.Errorf("token after a release %d is not larger than the released one %d", b.Token(), a.Token())
			}
			if _, err := other.FencedOrders(b).Create(t.Context(), newOrder(3)); err != nil {
				t.Errorf("fenced Create by the new leader: %v", err)
			}
			if err := b.Release(); err != nil {
				t.Fatal(err)
			}
			// And back: the token grows again.
			c := lead(t, la, "acct")
			if c.Token() <= b.Token() {
				t.Errorf("third token %d is not larger than the second %d", c.Token(), b.Token())
			}
			if err := c.Release(); err != nil {
				t.Fatal(err)
			}
			noRenewalGoroutine(t)
		})
	}
}

// TestLeadershipLostWhenRenewalsFailPastExpiry: a failed renewal alone does
// not end the leadership; renewals failing until the expiry do.
func TestLeadershipLostWhenRenewalsFailPastExpiry(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t)
			handle := e.reopen(t, db)
			clock := newManualClock()
			k := newTicker(clock)
			a := lead(t, leaseOn(t, handle, clock, k), "acct")
			handle.Close() // every renewal now fails
			clock.Advance(leaseTTL / 2)
			k.fire()
			next := <-k.waiting // the loop waits again: the failure was survived
			if err := a.Err(); err != nil {
				t.Fatalf("Err after one failed renewal before the expiry = %v, want nil", err)
			}
			clock.Advance(leaseTTL)
			next <- clock.Now()
			waitDone(t, a)
			wantNotLeader(t, "Err after renewals failed past the expiry", a.Err())
			noRenewalGoroutine(t)
		})
	}
}

// TestLeadershipEndsWithItsContext: Lead's context ending ends the
// leadership and its goroutine.
func TestLeadershipEndsWithItsContext(t *testing.T) {
	e := sqliteEngine()
	db := e.open(t)
	clock := newManualClock()
	ctx, cancel := context.WithCancel(t.Context())
	a, err := leaseOn(t, db, clock, newTicker(clock)).Lead(ctx, "acct")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	waitDone(t, a)
	wantNotLeader(t, "Err after the context ended", a.Err())
	noRenewalGoroutine(t)
	if _, err := db.FencedOrders(a).Create(t.Context(), newOrder(1)); !errors.Is(err, errors.ErrNotLeader) {
		t.Errorf("fenced Create after the context ended: %v, want not leader", err)
	}
	if err := a.Release(); err != nil {
		t.Errorf("Release after the context ended: %v", err)
	}
}

var _ order.Leader = (*sqlstore.Leadership)(nil)
