package sqlstore_test

import (
	"testing"

	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/risk"
	"github.com/google/go-cmp/cmp"
)

type loaded struct {
	State  risk.State
	Reason string
	Found  bool
}

// TestTradingStateStore: states round-trip per account, survive a reopen,
// and a stored value this code does not know loads as Halted (fail closed).
func TestTradingStateStore(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t)
			s := db.TradingStates()
			load := func(account string) loaded {
				t.Helper()
				st, reason, found, err := s.LoadTradingState(t.Context(), account)
				if err != nil {
					t.Fatalf("LoadTradingState(%s): %v", account, err)
				}
				return loaded{st, reason, found}
			}
			if got := load("acct-1"); got.Found {
				t.Errorf("a state never saved loads as found: %+v", got)
			}
			saves := []struct {
				account string
				state   risk.State
				reason  string
				want    map[string]loaded
			}{
				{"acct-1", risk.Halted, "kill switch", map[string]loaded{
					"acct-1": {risk.Halted, "kill switch", true}, "acct-2": {risk.Halted, "", false}}},
				{"acct-2", risk.ReduceOnly, "daily loss", map[string]loaded{
					"acct-1": {risk.Halted, "kill switch", true}, "acct-2": {risk.ReduceOnly, "daily loss", true}}},
				{"acct-1", risk.Active, "", map[string]loaded{
					"acct-1": {risk.Active, "", true}, "acct-2": {risk.ReduceOnly, "daily loss", true}}},
			}
			for _, sv := range saves {
				if err := s.SaveTradingState(t.Context(), sv.account, sv.state, sv.reason); err != nil {
					t.Fatalf("SaveTradingState(%s, %s): %v", sv.account, sv.state, err)
				}
				got := map[string]loaded{"acct-1": load("acct-1"), "acct-2": load("acct-2")}
				if diff := cmp.Diff(sv.want, got); diff != "" {
					t.Errorf("after saving %s for %s (-want +got):\n%s", sv.state, sv.account, diff)
				}
			}
			again := e.reopen(t, db).TradingStates()
			st, reason, found, err := again.LoadTradingState(t.Context(), "acct-2")
			if diff := cmp.Diff(loaded{risk.ReduceOnly, "daily loss", true}, loaded{st, reason, found}); diff != "" || err != nil {
				t.Errorf("after a reopen (%v) (-want +got):\n%s", err, diff)
			}

			err = s.SaveTradingState(t.Context(), "acct-1", risk.State(9), "bogus")
			if !errors.Is(err, errors.ErrConfiguration) {
				t.Errorf("saving an undefined state: %v, want a configuration error", err)
			}
			if got := load("acct-1"); got.State != risk.Active {
				t.Errorf("the refused save changed the state to %s", got.State)
			}

			// Values written by a newer release, a hand edit or a bug: all
			// load as Halted, with a reason naming the value.
			for _, bad := range []string{"paused", "Active", " active", "", "2"} {
				if _, err := db.SQL().ExecContext(t.Context(), rebindFor(e.name,
					"UPDATE arbion_trading_state SET state = ? WHERE account = ?"), bad, "acct-1"); err != nil {
					t.Fatal(err)
				}
				got := load("acct-1")
				if got.State != risk.Halted || !got.Found || got.Reason == "" {
					t.Errorf("stored %q loads as %+v, want halted, found, with a reason", bad, got)
				}
			}
		})
	}
}

// rebindFor turns ? into $1 for PostgreSQL in a test's own one-placeholder-
// per-argument query.
func rebindFor(engine, q string) string {
	if engine != "postgres" {
		return q
	}
	out, n := []byte{}, 0
	for i := range len(q) {
		if q[i] == '?' {
			n++
			out = append(out, '$', byte('0'+n))
			continue
		}
		out = append(out, q[i])
	}
	return string(out)
}
