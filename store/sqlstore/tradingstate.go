package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/risk"
)

// TradingStateStore is the [risk.StateStore] on a SQL database: a row per
// account in arbion_trading_state, the state stored as its text form
// ("active", "reduce_only", "halted"). A stored value this code does not
// know loads as risk.Halted, with a reason that names it: an unreadable
// state never lets trading resume.
type TradingStateStore struct {
	db  *DB
	now func() time.Time
}

// TradingStates returns the trading-state store of the database.
func (db *DB) TradingStates() *TradingStateStore {
	return &TradingStateStore{db: db, now: time.Now}
}

var _ risk.StateStore = (*TradingStateStore)(nil)

// stateNames are the stored forms of the states; parseState is strict.
var stateNames = map[risk.State]string{
	risk.Active:     "active",
	risk.ReduceOnly: "reduce_only",
	risk.Halted:     "halted",
}

func parseState(s string) (risk.State, bool) {
	for st, name := range stateNames {
		if name == s {
			return st, true
		}
	}
	return risk.Halted, false
}

// LoadTradingState implements [risk.StateStore]. A failure returns
// risk.Halted with the error (an *errors.RiskError matching
// errors.ErrStorage).
func (s *TradingStateStore) LoadTradingState(ctx context.Context, account string) (risk.State, string, bool, error) {
	var stored, reason string
	err := s.db.sql.QueryRowContext(ctx, s.db.rebind(
		"SELECT state, reason FROM arbion_trading_state WHERE account = ?"), account).Scan(&stored, &reason)
	if err == sql.ErrNoRows {
		return risk.Halted, "", false, nil
	}
	if err != nil {
		return risk.Halted, "", false, stateError(account, "load", err)
	}
	st, ok := parseState(stored)
	if !ok {
		return risk.Halted, fmt.Sprintf("stored trading state %q is unknown, so halted (stored reason: %q)",
			stored, reason), true, nil
	}
	return st, reason, true, nil
}

// SaveTradingState implements [risk.StateStore]. A state that is not one of
// the defined ones is refused with an error matching errors.ErrConfiguration
// and nothing is stored.
func (s *TradingStateStore) SaveTradingState(ctx context.Context, account string, st risk.State, reason string) error {
	name, ok := stateNames[st]
	if !ok {
		return &errors.RiskError{Rule: "trading state", Actual: st.String(), Kind: errors.ErrConfiguration,
			Reason: "account " + account + ": not a trading state"}
	}
	_, err := s.db.sql.ExecContext(ctx, s.db.rebind(
		"INSERT INTO arbion_trading_state (account, state, reason, updated_at) VALUES (?, ?, ?, ?) "+
			"ON CONFLICT (account) DO UPDATE SET state = excluded.state, reason = excluded.reason, "+
			"updated_at = excluded.updated_at"),
		account, name, reason, s.now().UnixNano())
	if err != nil {
		return stateError(account, "save", err)
	}
	return nil
}

func stateError(account, op string, err error) error {
	return &errors.RiskError{Rule: "trading state", Kind: errors.ErrStorage,
		Reason: op + " for account " + account, Err: err}
}
