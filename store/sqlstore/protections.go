package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/stoploss"
)

// ProtectionStore is the [stoploss.Store] on a SQL database. A record is
// stored as one JSON document (decimals as exact strings) keyed by account
// and symbol, with its version beside it for optimistic concurrency.
type ProtectionStore struct {
	db    *DB
	fence *Leadership // see FencedProtections; nil when not fenced
}

// Protections returns the stop-loss store of the database. Its writes are
// not fenced: see [DB.FencedProtections].
func (db *DB) Protections() *ProtectionStore { return &ProtectionStore{db: db} }

// FencedProtections returns the stop-loss store whose every write (Save,
// Delete) checks, in its own transaction, that ld still holds the record's
// account's lease (the row carries ld's fencing token and has not expired
// by the lease's clock); otherwise the write stores nothing and fails with
// an *errors.StopLossError matching errors.ErrNotLeader. Reads are not
// fenced.
func (db *DB) FencedProtections(ld *Leadership) *ProtectionStore {
	return &ProtectionStore{db: db, fence: ld}
}

// checkFence refuses a write unless the store is unfenced or its leadership
// still holds the account.
func (s *ProtectionStore) checkFence(ctx context.Context, tx *sql.Tx, account, symbol string) error {
	if s.fence == nil {
		return nil
	}
	err := s.fence.check(ctx, tx, account)
	if err == nil {
		return nil
	}
	kind := errors.ErrStorage
	if errors.Is(err, errors.ErrNotLeader) {
		kind = errors.ErrNotLeader
	}
	return &errors.StopLossError{Account: account, Symbol: symbol, Kind: kind, Reason: "store: fenced write refused", Err: err}
}

var _ stoploss.Store = (*ProtectionStore)(nil)

// Get implements [stoploss.Store].
func (s *ProtectionStore) Get(ctx context.Context, account, symbol string) (stoploss.Protection, bool, error) {
	var (
		doc     string
		version int64
	)
	err := s.db.sql.QueryRowContext(ctx, s.db.rebind(
		"SELECT record, version FROM arbion_protections WHERE account = ? AND symbol = ?"),
		account, symbol).Scan(&doc, &version)
	if err == sql.ErrNoRows {
		return stoploss.Protection{}, false, nil
	}
	if err != nil {
		return stoploss.Protection{}, false, protectionError(account, symbol, err)
	}
	p, err := decodeProtection(doc, version)
	if err != nil {
		return stoploss.Protection{}, false, protectionError(account, symbol, err)
	}
	return p, true, nil
}

// List implements [stoploss.Store].
func (s *ProtectionStore) List(ctx context.Context, account string) ([]stoploss.Protection, error) {
	rows, err := s.db.sql.QueryContext(ctx, s.db.rebind(
		"SELECT record, version FROM arbion_protections WHERE account = ? ORDER BY symbol"), account)
	if err != nil {
		return nil, protectionError(account, "", err)
	}
	defer rows.Close()
	var out []stoploss.Protection
	for rows.Next() {
		var (
			doc     string
			version int64
		)
		if err := rows.Scan(&doc, &version); err != nil {
			return nil, protectionError(account, "", err)
		}
		p, err := decodeProtection(doc, version)
		if err != nil {
			return nil, protectionError(account, "", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, protectionError(account, "", err)
	}
	return out, nil
}

// Save implements [stoploss.Store].
func (s *ProtectionStore) Save(ctx context.Context, p stoploss.Protection) (stoploss.Protection, error) {
	if p.Account == "" || p.Symbol == "" {
		return stoploss.Protection{}, &errors.StopLossError{Account: p.Account, Symbol: p.Symbol,
			Kind: errors.ErrConfiguration, Reason: "store: record needs an account and a symbol"}
	}
	saved := p
	saved.Version = p.Version + 1
	doc, err := json.Marshal(saved)
	if err != nil {
		return stoploss.Protection{}, protectionError(p.Account, p.Symbol, err)
	}
	err = s.db.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkFence(ctx, tx, p.Account, p.Symbol); err != nil {
			return err
		}
		var res sql.Result
		if p.Version == 0 {
			// ON CONFLICT DO NOTHING: a record someone else created first
			// makes this a stale save, not a duplicate-key failure.
			res, err = tx.ExecContext(ctx, s.db.rebind(
				"INSERT INTO arbion_protections (account, symbol, record, version) VALUES (?, ?, ?, ?) "+
					"ON CONFLICT (account, symbol) DO NOTHING"),
				p.Account, p.Symbol, string(doc), saved.Version)
		} else {
			res, err = tx.ExecContext(ctx, s.db.rebind(
				"UPDATE arbion_protections SET record = ?, version = ? WHERE account = ? AND symbol = ? AND version = ?"),
				string(doc), saved.Version, p.Account, p.Symbol, p.Version)
		}
		if err != nil {
			return protectionError(p.Account, p.Symbol, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return &errors.StopLossError{Account: p.Account, Symbol: p.Symbol,
				Kind: errors.ErrStaleVersion, Reason: fmt.Sprintf("store: saved with version %d, not the stored one", p.Version), Err: err}
		}
		return nil
	})
	if err != nil {
		return stoploss.Protection{}, typedProtectionError(p.Account, p.Symbol, err)
	}
	return saved, nil
}

// Delete implements [stoploss.Store].
func (s *ProtectionStore) Delete(ctx context.Context, account, symbol string, version int64) error {
	err := s.db.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkFence(ctx, tx, account, symbol); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.db.rebind(
			"DELETE FROM arbion_protections WHERE account = ? AND symbol = ? AND version = ?"),
			account, symbol, version)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		// Nothing deleted: no record is fine, another version is stale.
		var stored int64
		err = tx.QueryRowContext(ctx, s.db.rebind(
			"SELECT version FROM arbion_protections WHERE account = ? AND symbol = ?"),
			account, symbol).Scan(&stored)
		switch {
		case err == sql.ErrNoRows:
			return nil
		case err != nil:
			return err
		}
		return &errors.StopLossError{Account: account, Symbol: symbol, Kind: errors.ErrStaleVersion,
			Reason: fmt.Sprintf("store: delete with version %d, stored %d", version, stored)}
	})
	return typedProtectionError(account, symbol, err)
}

// typedProtectionError keeps a typed error as it is and classifies any
// other failure (the database's, a commit's) as errors.ErrStorage.
func typedProtectionError(account, symbol string, err error) error {
	var se *errors.StopLossError
	if err == nil || errors.As(err, &se) {
		return err
	}
	return protectionError(account, symbol, err)
}

func decodeProtection(doc string, version int64) (stoploss.Protection, error) {
	var p stoploss.Protection
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return stoploss.Protection{}, fmt.Errorf("decode record: %w: %w", errors.ErrMalformedResponse, err)
	}
	p.Version = version
	return p, nil
}

func protectionError(account, symbol string, err error) error {
	return &errors.StopLossError{Account: account, Symbol: symbol, Kind: errors.ErrStorage, Err: err}
}
