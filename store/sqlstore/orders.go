package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
)

// OrderStore is the [order.Store] on a SQL database. Fills live in a table
// of their own; a save writes only the fills the stored record lacks. Every
// unique key but the local id holds within an account.
type OrderStore struct {
	db *DB
	// fence, when set, runs first in every write's transaction and refuses
	// the write (errors.ErrNotLeader) unless the account's lease is still
	// held: see [DB.FencedOrders].
	fence *Leadership
}

// Orders returns the order store of the database. Its writes are not
// fenced: use it where one process trades each account, and
// [DB.FencedOrders] where replicas take turns.
func (db *DB) Orders() *OrderStore { return &OrderStore{db: db} }

// FencedOrders returns the order store whose every write (Create, Update)
// checks, in its own transaction, that ld still holds its account's lease
// (the lease row carries ld's fencing token and has not expired by the
// lease's clock); otherwise the write stores nothing and fails with an
// *errors.OrderError matching errors.ErrNotLeader. A record of another
// account than ld's is refused the same way. Reads are not fenced.
func (db *DB) FencedOrders(ld *Leadership) *OrderStore { return &OrderStore{db: db, fence: ld} }

var _ order.Store = (*OrderStore)(nil)

// orderColumns are the arbion_orders columns written and read, in the order
// of orderArgs and orderScanTargets. version is handled apart.
var orderColumns = []string{
	"local_id", "client_order_id", "broker_order_id", "account", "symbol", "asset_class",
	"side", "order_type", "time_in_force", "extended_hours", "quantity", "limit_price",
	"stop_price", "trail_amount", "trail_percent", "status", "terminal", "raw_status",
	"pending_from", "filled_quantity", "avg_fill_price", "notional", "fees",
	"stop_loss_price", "take_profit_price", "protective", "replaces", "replaced_by",
	"reject_reason", "outcome_unknown", "unknown_lookups", "first_unknown_at",
	"needs_attention", "attention_reason", "created_at", "updated_at",
}

func orderArgs(o order.Order) ([]any, error) {
	var enums [6]string
	for i, e := range []interface{ MarshalText() ([]byte, error) }{
		o.Instrument.AssetClass, o.Side, o.Type, o.TimeInForce, o.Status, o.PendingFrom,
	} {
		s, err := enumText(e)
		if err != nil {
			return nil, &errors.OrderError{Op: "store save", LocalID: o.LocalID,
				Kind: errors.ErrInvalidOrder, Err: err}
		}
		enums[i] = s
	}
	return []any{
		o.LocalID, o.ClientOrderID, o.BrokerOrderID, o.Account, o.Instrument.Symbol, enums[0],
		enums[1], enums[2], enums[3], o.ExtendedHours, decText(o.Quantity), decText(o.LimitPrice),
		decText(o.StopPrice), decText(o.TrailAmount), decText(o.TrailPercent), enums[4], o.Status.Terminal(), o.RawStatus,
		enums[5], decText(o.FilledQuantity), decText(o.AvgFillPrice), decText(o.Notional), decText(o.Fees),
		decText(o.StopLossPrice), decText(o.TakeProfitPrice), o.Protective, o.Replaces, o.ReplacedBy,
		o.RejectReason, o.OutcomeUnknown, int64(o.UnknownLookups), nanos(o.FirstUnknownAt),
		o.NeedsAttention, o.AttentionReason, nanos(o.CreatedAt), nanos(o.UpdatedAt),
	}, nil
}

func orderScanTargets(o *order.Order, lookups *int64, terminal *bool) []any {
	return []any{
		&o.LocalID, &o.ClientOrderID, &o.BrokerOrderID, &o.Account, &o.Instrument.Symbol, enumScan{&o.Instrument.AssetClass},
		enumScan{&o.Side}, enumScan{&o.Type}, enumScan{&o.TimeInForce}, &o.ExtendedHours, decScan{&o.Quantity}, decScan{&o.LimitPrice},
		decScan{&o.StopPrice}, decScan{&o.TrailAmount}, decScan{&o.TrailPercent}, enumScan{&o.Status}, terminal, &o.RawStatus,
		enumScan{&o.PendingFrom}, decScan{&o.FilledQuantity}, decScan{&o.AvgFillPrice}, decScan{&o.Notional}, decScan{&o.Fees},
		decScan{&o.StopLossPrice}, decScan{&o.TakeProfitPrice}, &o.Protective, &o.Replaces, &o.ReplacedBy,
		&o.RejectReason, &o.OutcomeUnknown, lookups, timeScan{&o.FirstUnknownAt},
		&o.NeedsAttention, &o.AttentionReason, timeScan{&o.CreatedAt}, timeScan{&o.UpdatedAt},
	}
}

// Create implements [order.Store].
func (s *OrderStore) Create(ctx context.Context, o order.Order) (order.Order, error) {
	if o.LocalID == "" || o.ClientOrderID == "" || o.Version != 0 {
		return order.Order{}, &errors.OrderError{Op: "store create", LocalID: o.LocalID,
			ClientOrderID: o.ClientOrderID, Kind: errors.ErrInvalidOrder,
			Reason: "a new record needs a local id, a client order id and version 0"}
	}
	args, err := orderArgs(o)
	if err != nil {
		return order.Order{}, err
	}
	o = o.Clone()
	o.Version = 1
	err = s.db.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkFence(ctx, tx, "store create", o); err != nil {
			return err
		}
		// The checks name the clash; the unique indexes (mapped by
		// storeError) close the race between two writers that both pass
		// them.
		var local, client, brokerID int
		err := tx.QueryRowContext(ctx, s.db.rebind(
			"SELECT "+
				"(SELECT COUNT(*) FROM arbion_orders WHERE local_id = ?), "+
				"(SELECT COUNT(*) FROM arbion_orders WHERE account = ? AND client_order_id = ?), "+
				"(SELECT COUNT(*) FROM arbion_orders WHERE account = ? AND broker_order_id = ? AND broker_order_id <> '')"),
			o.LocalID, o.Account, o.ClientOrderID, o.Account, o.BrokerOrderID).Scan(&local, &client, &brokerID)
		if err != nil {
			return err
		}
		switch {
		case local > 0:
			return duplicate("store create", o, "local id already stored")
		case client > 0:
			return duplicate("store create", o, "client order id already stored for the account")
		case brokerID > 0:
			return duplicate("store create", o, "broker order id already held by another record of the account")
		}
		cols := strings.Join(orderColumns, ", ") + ", version"
		marks := strings.Repeat("?, ", len(orderColumns)) + "?"
		if _, err := tx.ExecContext(ctx, s.db.rebind("INSERT INTO arbion_orders ("+cols+") VALUES ("+marks+")"),
			append(args, o.Version)...); err != nil {
			return err
		}
		return insertFills(ctx, s.db, tx, o.LocalID, o.Fills, 0)
	})
	if err != nil {
		return order.Order{}, storeError("store create", o, err)
	}
	return o, nil
}

// Update implements [order.Store].
func (s *OrderStore) Update(ctx context.Context, o order.Order) (order.Order, error) {
	args, err := orderArgs(o)
	if err != nil {
		return order.Order{}, err
	}
	saved := o.Clone()
	saved.Version = o.Version + 1
	err = s.db.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkFence(ctx, tx, "store update", o); err != nil {
			return err
		}
		if err := s.checkUpdate(ctx, tx, o); err != nil {
			return err
		}
		set := make([]string, 0, len(orderColumns))
		for _, c := range orderColumns[1:] { // local_id is the key
			set = append(set, c+" = ?")
		}
		q := "UPDATE arbion_orders SET " + strings.Join(set, ", ") + ", version = ? WHERE local_id = ? AND version = ?"
		res, err := tx.ExecContext(ctx, s.db.rebind(q), append(args[1:], saved.Version, o.LocalID, o.Version)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			if err != nil {
				return err
			}
			// A writer that committed since checkUpdate read the row.
			return s.missOrStale(ctx, tx, o)
		}
		keep, err := s.keptFills(ctx, tx, o)
		if err != nil {
			return err
		}
		return insertFills(ctx, s.db, tx, o.LocalID, o.Fills[keep:], keep)
	})
	if err != nil {
		return order.Order{}, storeError("store update", o, err)
	}
	return saved, nil
}

// keptFills compares the stored fills with the record's: the stored ones
// the record still starts with are kept, the others removed. Only
// provisional fills (order.IsProvisional) are ever removed, replaced by
// the confirmed ones; a confirmed fill missing from the record means it
// was read before another writer added it, and is refused as stale.
func (s *OrderStore) keptFills(ctx context.Context, tx *sql.Tx, o order.Order) (int, error) {
	rows, err := tx.QueryContext(ctx, s.db.rebind("SELECT exec_id FROM arbion_fills WHERE local_id = ? ORDER BY n"), o.LocalID)
	if err != nil {
		return 0, err
	}
	var stored []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		stored = append(stored, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	keep := 0
	for keep < len(stored) && keep < len(o.Fills) && stored[keep] == o.Fills[keep].ExecID {
		keep++
	}
	if keep == len(stored) {
		return keep, nil
	}
	for _, id := range stored[keep:] {
		if !order.IsProvisional(broker.Fill{ExecID: id}) && !slices.ContainsFunc(o.Fills, func(f broker.Fill) bool { return f.ExecID == id }) {
			return 0, &errors.OrderError{Op: "store update", LocalID: o.LocalID, Kind: errors.ErrStaleVersion,
				Reason: fmt.Sprintf("record lacks stored fill %s: confirmed fills are never removed", id)}
		}
	}
	_, err = tx.ExecContext(ctx, s.db.rebind("DELETE FROM arbion_fills WHERE local_id = ? AND n >= ?"), o.LocalID, keep)
	return keep, err
}

// checkUpdate refuses an update the way the memory store does, in its
// order: no such record, a stale version, a change of an immutable field,
// a broker order id another record of the account holds.
func (s *OrderStore) checkUpdate(ctx context.Context, tx *sql.Tx, o order.Order) error {
	var (
		acct, symbol, client, brokerID string
		version                        int64
	)
	err := tx.QueryRowContext(ctx, s.db.rebind(
		"SELECT account, symbol, client_order_id, broker_order_id, version FROM arbion_orders WHERE local_id = ?"),
		o.LocalID).Scan(&acct, &symbol, &client, &brokerID, &version)
	if err == sql.ErrNoRows {
		return &errors.OrderError{Op: "store update", LocalID: o.LocalID, Kind: errors.ErrOrderNotFound}
	}
	if err != nil {
		return err
	}
	invalid := func(reason string) error {
		return &errors.OrderError{Op: "store update", LocalID: o.LocalID, ClientOrderID: o.ClientOrderID,
			OrderID: o.BrokerOrderID, Symbol: o.Instrument.Symbol, Kind: errors.ErrInvalidOrder, Reason: reason}
	}
	switch {
	case version != o.Version:
		return &errors.OrderError{Op: "store update", LocalID: o.LocalID, ClientOrderID: o.ClientOrderID,
			Kind: errors.ErrStaleVersion, Reason: fmt.Sprintf("saved with version %d, stored %d", o.Version, version)}
	case o.ClientOrderID != client:
		return invalid("the client order id of a record cannot change")
	case o.Account != acct || o.Instrument.Symbol != symbol:
		return invalid("the account and symbol of a record cannot change")
	case o.BrokerOrderID == brokerID:
		return nil
	case brokerID != "":
		return invalid("the broker order id of a record cannot change once set")
	}
	var holder string
	err = tx.QueryRowContext(ctx, s.db.rebind(
		// broker_order_id <> '' lets SQLite use the partial unique index
		// (it only does when the query implies the index's WHERE); without
		// it every acknowledgement scans the account's whole history.
		"SELECT local_id FROM arbion_orders WHERE account = ? AND broker_order_id = ? AND broker_order_id <> '' AND local_id <> ?"),
		o.Account, o.BrokerOrderID, o.LocalID).Scan(&holder)
	switch {
	case err == sql.ErrNoRows:
		return nil
	case err != nil:
		return err
	}
	return duplicate("store update", o, "broker order id already held by record "+holder)
}

// missOrStale tells an update that matched no row apart: no such order, or a
// stale version.
func (s *OrderStore) missOrStale(ctx context.Context, tx *sql.Tx, o order.Order) error {
	var version int64
	err := tx.QueryRowContext(ctx, s.db.rebind("SELECT version FROM arbion_orders WHERE local_id = ?"),
		o.LocalID).Scan(&version)
	if err == sql.ErrNoRows {
		return &errors.OrderError{Op: "store update", LocalID: o.LocalID, Kind: errors.ErrOrderNotFound}
	}
	if err != nil {
		return err
	}
	return &errors.OrderError{Op: "store update", LocalID: o.LocalID, ClientOrderID: o.ClientOrderID,
		Kind: errors.ErrStaleVersion, Reason: fmt.Sprintf("saved with version %d, stored %d", o.Version, version)}
}

// checkFence refuses the write unless the store is unfenced or its
// leadership still holds the record's account.
func (s *OrderStore) checkFence(ctx context.Context, tx *sql.Tx, op string, o order.Order) error {
	if s.fence == nil {
		return nil
	}
	err := s.fence.check(ctx, tx, o.Account)
	if err == nil {
		return nil
	}
	kind := errors.ErrStorage
	if errors.Is(err, errors.ErrNotLeader) {
		kind = errors.ErrNotLeader
	}
	return &errors.OrderError{Op: op, LocalID: o.LocalID, ClientOrderID: o.ClientOrderID,
		OrderID: o.BrokerOrderID, Symbol: o.Instrument.Symbol, Kind: kind, Err: err}
}

func duplicate(op string, o order.Order, reason string) error {
	return &errors.OrderError{Op: op, LocalID: o.LocalID, ClientOrderID: o.ClientOrderID,
		OrderID: o.BrokerOrderID, Symbol: o.Instrument.Symbol, Kind: errors.ErrDuplicateOrder, Reason: reason}
}

// insertFills writes fills numbered from first in one statement.
func insertFills(ctx context.Context, db *DB, tx *sql.Tx, localID string, fills []broker.Fill, first int) error {
	if len(fills) == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString("INSERT INTO arbion_fills (local_id, n, exec_id, quantity, price, fee, filled_at) VALUES ")
	args := make([]any, 0, 7*len(fills))
	for i, f := range fills {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?)")
		args = append(args, localID, first+i, f.ExecID, decText(f.Quantity), decText(f.Price),
			decText(f.Fee), nanos(f.Time))
	}
	_, err := tx.ExecContext(ctx, db.rebind(q.String()), args...)
	return err
}

// Get implements [order.Store].
func (s *OrderStore) Get(ctx context.Context, localID string) (order.Order, error) {
	return s.one(ctx, "get", localID, "local_id = ?", localID)
}

// ByClientOrderID implements [order.Store].
func (s *OrderStore) ByClientOrderID(ctx context.Context, account, id string) (order.Order, error) {
	return s.one(ctx, "by client order id", id, "account = ? AND client_order_id = ?", account, id)
}

// ByBrokerOrderID implements [order.Store].
func (s *OrderStore) ByBrokerOrderID(ctx context.Context, account, id string) (order.Order, error) {
	if id == "" {
		return order.Order{}, &errors.OrderError{Op: "store by broker order id", Kind: errors.ErrOrderNotFound,
			Reason: "no order with an empty broker order id"}
	}
	// The id is not empty here; saying so lets SQLite use the partial index.
	return s.one(ctx, "by broker order id", id, "account = ? AND broker_order_id = ? AND broker_order_id <> ''", account, id)
}

// BySymbol implements [order.Store].
func (s *OrderStore) BySymbol(ctx context.Context, account, symbol string) ([]order.Order, error) {
	return s.many(ctx, "account = ? AND symbol = ?", account, symbol)
}

// Open implements [order.Store]: every non-terminal order of the account
// and their fills in two queries, however many there are.
func (s *OrderStore) Open(ctx context.Context, account string) ([]order.Order, error) {
	return s.many(ctx, "account = ? AND NOT terminal", account)
}

func (s *OrderStore) one(ctx context.Context, op, id, where string, args ...any) (order.Order, error) {
	os, err := s.selectOrders(ctx, where+" ORDER BY seq LIMIT 1", args...)
	if err != nil {
		return order.Order{}, storeError("store "+op, order.Order{}, err)
	}
	if len(os) == 0 {
		return order.Order{}, &errors.OrderError{Op: "store " + op, Reason: "no order with id " + id, Kind: errors.ErrOrderNotFound}
	}
	return os[0], nil
}

func (s *OrderStore) many(ctx context.Context, where string, args ...any) ([]order.Order, error) {
	os, err := s.selectOrders(ctx, where+" ORDER BY seq", args...)
	if err != nil {
		return nil, storeError("store list", order.Order{}, err)
	}
	return os, nil
}

// selectOrders reads the matching orders, then all their fills in one more
// query.
func (s *OrderStore) selectOrders(ctx context.Context, where string, args ...any) ([]order.Order, error) {
	var out []order.Order
	index := map[string]int{}
	err := s.db.inReadTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.db.rebind(
			"SELECT "+strings.Join(orderColumns, ", ")+", version FROM arbion_orders WHERE "+where), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				o        order.Order
				lookups  int64
				terminal bool
			)
			if err := rows.Scan(append(orderScanTargets(&o, &lookups, &terminal), &o.Version)...); err != nil {
				return err
			}
			o.UnknownLookups = int(lookups)
			index[o.LocalID] = len(out)
			out = append(out, o)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		return s.loadFills(ctx, tx, where, args, out, index)
	})
	return out, err
}

func (s *OrderStore) loadFills(ctx context.Context, tx *sql.Tx, where string, args []any, out []order.Order, index map[string]int) error {
	rows, err := tx.QueryContext(ctx, s.db.rebind(
		"SELECT f.local_id, f.exec_id, f.quantity, f.price, f.fee, f.filled_at FROM arbion_fills f "+
			"WHERE f.local_id IN (SELECT local_id FROM arbion_orders WHERE "+where+") ORDER BY f.local_id, f.n"), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id string
			f  broker.Fill
		)
		if err := rows.Scan(&id, &f.ExecID, decScan{&f.Quantity}, decScan{&f.Price}, decScan{&f.Fee}, timeScan{&f.Time}); err != nil {
			return err
		}
		if i, ok := index[id]; ok {
			out[i].Fills = append(out[i].Fills, f)
		}
	}
	return rows.Err()
}

// storeError keeps a typed error as it is, classifies a unique-key
// violation (two writers racing past the checks) as
// errors.ErrDuplicateOrder and any other database failure as
// errors.ErrStorage.
func storeError(op string, o order.Order, err error) error {
	var oe *errors.OrderError
	if errors.As(err, &oe) {
		return err
	}
	kind := errors.ErrStorage
	if uniqueViolation(err) {
		kind = errors.ErrDuplicateOrder
	}
	return &errors.OrderError{Op: op, LocalID: o.LocalID, ClientOrderID: o.ClientOrderID,
		OrderID: o.BrokerOrderID, Symbol: o.Instrument.Symbol, Kind: kind, Err: err}
}
