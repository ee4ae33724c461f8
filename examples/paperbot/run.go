package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"sort"

	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/arbiontrader/arbion/store/sqlstore"
	"github.com/arbiontrader/arbion/store/sqlstore/sqlite"
)

// Run trades up to step cfg.Steps, printing progress to out, and returns the
// summary. Its books live in the SQLite database cfg.DB.
//
// What a restart restores. The tracker's orders and fills, the supervisor's
// protection records (stop levels, trailing anchors, the sequence numbers
// protective client order ids derive from) and the step the bot reached are
// read from the database. The paper broker, however, is the stand-in for a
// brokerage whose books live outside the bot, and it lives in memory: a
// restart rebuilds it by replaying the seeded market and the bot's
// decisions from step 1 to the saved step against a fresh paper broker,
// with the runner on scratch in-memory stores (the replay also restores the
// strategy's bars, the risk engine's day counters and state and the daily
// P&L). It then checks that the rebuilt broker agrees with every order and
// protection in the database (client and broker ids, statuses, fills,
// stops), swaps the runner onto the database's stores, reconciles and
// carries on from the next step.
//
// A bot killed in the middle of a step (SIGKILL, a crash) left that step's
// first orders in the database but not its progress: the restart replays
// that step too, checks that what the database holds is a part of what the
// step does, and adopts the rest of the step's books from the rebuilt
// broker, as a reconciliation adopts what it finds at a broker. An
// interrupt (SIGINT, SIGTERM) is honoured between steps.
func Run(ctx context.Context, cfg Config, out io.Writer) (Summary, error) {
	if err := cfg.validate(); err != nil {
		return Summary{}, err
	}
	if err := ctx.Err(); err != nil {
		return Summary{}, err
	}
	db, err := sqlite.Open(ctx, cfg.DB)
	if err != nil {
		return Summary{}, fmt.Errorf("database %s: %w", cfg.DB, err)
	}
	defer db.Close()
	saved, fresh, err := loadProgress(ctx, db, cfg)
	if err != nil {
		return Summary{}, err
	}
	lease, err := db.Lease(sqlstore.LeaseConfig{TTL: cfg.LeaseTTL})
	if err != nil {
		return Summary{}, err
	}
	ld, err := lead(ctx, lease, cfg, out)
	if err != nil {
		return Summary{}, err
	}
	defer func() { _ = ld.Release() }()
	bt, err := newBot(cfg, out, ld)
	if err != nil {
		return Summary{}, err
	}
	defer bt.runner.Close()
	if err := bt.runner.Start(ctx); err != nil {
		return Summary{}, err
	}
	if cfg.serve != nil {
		cfg.serve(bt.runner, bt.meter.rules)
	}
	for i := 1; i <= saved; i++ {
		if err := ctx.Err(); err != nil {
			return Summary{}, err
		}
		if err := bt.step(ctx, i); err != nil {
			return Summary{}, fmt.Errorf("replaying step %d: %w", i, err)
		}
	}
	done, err := bt.resume(ctx, db, ld, saved, fresh)
	if err != nil {
		return Summary{}, err
	}
	for i := done + 1; i <= cfg.Steps; i++ {
		if err := ctx.Err(); err != nil {
			fmt.Fprintf(out, "interrupted after step %d; the progress is saved in %s: run again to continue\n", i-1, cfg.DB)
			return Summary{}, err
		}
		// A step runs to its end: an interrupt waits for it.
		stepCtx := context.WithoutCancel(ctx)
		if err := bt.step(stepCtx, i); err != nil {
			return Summary{}, fmt.Errorf("step %d: %w", i, err)
		}
		if err := saveProgress(stepCtx, db, i); err != nil {
			return Summary{}, err
		}
		if cfg.afterStep != nil {
			if err := cfg.afterStep(stepCtx, bt, i); err != nil {
				return Summary{}, fmt.Errorf("step %d: %w", i, err)
			}
		}
		if cfg.ProgressEvery > 0 && i%cfg.ProgressEvery == 0 {
			if err := bt.progress(stepCtx, i); err != nil {
				return Summary{}, err
			}
		}
	}
	return bt.summary(ctx, max(cfg.Steps, done), saved)
}

// lead takes the account's lease. A bot killed without a shutdown keeps it
// until it expires: lead waits for that, once. The leadership is held on
// a context an interrupt does not end (Lead loses it at once when its
// context ends, and the step in flight must finish as the leader); Run
// releases it when it returns.
func lead(ctx context.Context, lease *sqlstore.Lease, cfg Config, out io.Writer) (*sqlstore.Leadership, error) {
	held := context.WithoutCancel(ctx)
	ld, err := lease.Lead(held, account)
	if !errors.Is(err, errors.ErrNotLeader) {
		return ld, err
	}
	fmt.Fprintf(out, "another paperbot holds %s, or one was killed less than %v ago: waiting for its lease to expire\n", cfg.DB, cfg.LeaseTTL)
	if err := clock.Sleep(ctx, clock.Real(), cfg.LeaseTTL+cfg.LeaseTTL/4); err != nil {
		return nil, err
	}
	ld, err = lease.Lead(held, account)
	if errors.Is(err, errors.ErrNotLeader) {
		return nil, &errors.StopLossError{Account: account, Kind: errors.ErrConfiguration,
			Reason: "another paperbot runs on " + cfg.DB + ": two bots on one database would trade against each other"}
	}
	return ld, err
}

// resume checks the database's books against the replay, adopting the
// rest of a step killed half-way, and swaps the runner onto the database.
// It returns the last step the books are complete for.
func (bt *bot) resume(ctx context.Context, db *sqlstore.DB, ld *sqlstore.Leadership, saved int, fresh bool) (int, error) {
	orders, protections := db.FencedOrders(ld), db.FencedProtections(ld)
	dbOrders, err := orders.BySymbol(ctx, account, bt.in.Symbol)
	if err != nil {
		return 0, err
	}
	dbProtections, err := protections.List(ctx, account)
	if err != nil {
		return 0, err
	}
	if fresh {
		if len(dbOrders) > 0 || len(dbProtections) > 0 {
			return 0, configError(fmt.Sprintf("the database %s holds orders but no paperbot progress: use another -db", bt.cfg.DB))
		}
		bt.swap(orders, protections)
		_, err := fmt.Fprintf(bt.out, "trading %s from step 1 to %d; orders, stops and progress kept in %s\n",
			bt.in.Symbol, bt.cfg.Steps, bt.cfg.DB)
		return 0, err
	}
	done, adopted := saved, false
	memOrders, memProtections, err := bt.scratch(ctx)
	if err != nil {
		return 0, err
	}
	if sameOrders(memOrders, dbOrders) != nil || sameProtections(memProtections, dbProtections) != nil {
		// Killed in the middle of the next step: replay it whole.
		done, adopted = saved+1, true
		if err := bt.step(ctx, done); err != nil {
			return 0, fmt.Errorf("replaying step %d: %w", done, err)
		}
		if memOrders, memProtections, err = bt.scratch(ctx); err != nil {
			return 0, err
		}
		if err := partOf(dbOrders, memOrders); err != nil {
			return 0, restartError(saved, err)
		}
		if err := adopt(ctx, orders, protections, memOrders, dbOrders, memProtections, dbProtections); err != nil {
			return 0, err
		}
		if err := saveProgress(ctx, db, done); err != nil {
			return 0, err
		}
	}
	bt.swap(orders, protections)
	rep, err := bt.runner.Tracker().Reconcile(ctx)
	if err != nil {
		return 0, fmt.Errorf("reconcile on restart: %w", err)
	}
	if rep.Updated > 0 || rep.Unresolved > 0 || rep.NeverPlaced > 0 {
		return 0, restartError(saved, fmt.Errorf("reconcile changed %d orders, %d unresolved, %d never placed",
			rep.Updated, rep.Unresolved, rep.NeverPlaced))
	}
	how := ""
	if adopted {
		how = fmt.Sprintf(" (step %d was cut off half-way: replayed and adopted)", done)
	}
	if _, err := fmt.Fprintf(bt.out, "resumed after step %d from %s%s: %d orders and %d protected positions match the rebuilt paper broker; reconciled %d open orders, none changed\n",
		done, bt.cfg.DB, how, len(memOrders), len(memProtections), rep.Checked); err != nil {
		return 0, err
	}
	if done >= bt.cfg.Steps {
		_, err = fmt.Fprintf(bt.out, "nothing left to trade up to step %d: give a larger -steps to go on, or another -db to start afresh\n", bt.cfg.Steps)
	}
	return done, err
}

// scratch returns the replay's books.
func (bt *bot) scratch(ctx context.Context) ([]order.Order, []stoploss.Protection, error) {
	os, err := bt.orders.store().BySymbol(ctx, account, bt.in.Symbol)
	if err != nil {
		return nil, nil, err
	}
	ps, err := bt.protections.store().List(ctx, account)
	return os, ps, err
}

func (bt *bot) swap(orders order.Store, protections stoploss.Store) {
	bt.orders.use(orders)
	bt.protections.use(protections)
}

// partOf checks that every order in the database is one the replayed step
// made (same client id and, once the broker had it, the same broker id).
func partOf(db, replay []order.Order) error {
	byClient := make(map[string]order.Order, len(replay))
	for _, o := range replay {
		byClient[o.ClientOrderID] = o
	}
	for _, o := range db {
		r, ok := byClient[o.ClientOrderID]
		if !ok {
			return fmt.Errorf("order %s is in the database, not in the replay", o.ClientOrderID)
		}
		if o.BrokerOrderID != "" && o.BrokerOrderID != r.BrokerOrderID {
			return fmt.Errorf("order %s: broker id %q in the database, %q in the replay", o.ClientOrderID, o.BrokerOrderID, r.BrokerOrderID)
		}
	}
	return nil
}

// adopt writes the replayed step's books into the database: its records
// updated to what the rebuilt broker says, the orders and protections the
// step had not saved yet created, the local ids the protections name
// mapped onto the database's records.
func adopt(ctx context.Context, orders order.Store, protections stoploss.Store,
	mem, db []order.Order, memP, dbP []stoploss.Protection) error {
	byClient := make(map[string]order.Order, len(db))
	for _, o := range db {
		byClient[o.ClientOrderID] = o
	}
	ids := make(map[string]string, len(mem)) // replay local id -> database local id
	for _, o := range mem {
		ids[o.LocalID] = o.LocalID
		if d, ok := byClient[o.ClientOrderID]; ok {
			ids[o.LocalID] = d.LocalID
		}
	}
	mapped := func(id string) string {
		if id == "" {
			return ""
		}
		return ids[id]
	}
	for _, o := range mem {
		u := o.Clone()
		u.LocalID, u.Replaces, u.ReplacedBy = ids[o.LocalID], mapped(o.Replaces), mapped(o.ReplacedBy)
		var err error
		if d, ok := byClient[o.ClientOrderID]; ok {
			u.Version = d.Version
			_, err = orders.Update(ctx, u)
		} else {
			u.Version = 0
			_, err = orders.Create(ctx, u)
		}
		if err != nil {
			return fmt.Errorf("adopting order %s: %w", o.ClientOrderID, err)
		}
	}
	kept := map[string]bool{}
	for _, p := range memP {
		kept[p.Symbol] = true
		p.StopOrderID = mapped(p.StopOrderID)
		p.Version = 0
		for _, d := range dbP {
			if d.Symbol == p.Symbol {
				p.Version = d.Version
			}
		}
		if _, err := protections.Save(ctx, p); err != nil {
			return fmt.Errorf("adopting the protection of %s: %w", p.Symbol, err)
		}
	}
	for _, d := range dbP {
		if !kept[d.Symbol] {
			if err := protections.Delete(ctx, d.Account, d.Symbol, d.Version); err != nil {
				return fmt.Errorf("retiring the protection of %s: %w", d.Symbol, err)
			}
		}
	}
	return nil
}

func restartError(saved int, err error) error {
	return configError(fmt.Sprintf("the database disagrees with the market replayed to step %d: %v; start afresh with another -db", saved, err))
}

func configError(msg string) error {
	return &errors.BrokerError{Op: "database", Kind: errors.ErrConfiguration, Message: msg}
}

// sameOrders compares the orders by client order id: what was sent, the
// broker's id, the status and the fills. Local ids are random and differ.
func sameOrders(want, got []order.Order) error {
	if len(want) != len(got) {
		return fmt.Errorf("%d orders in the database, %d replayed", len(got), len(want))
	}
	byClientID := func(os []order.Order) []order.Order {
		s := append([]order.Order(nil), os...)
		sort.Slice(s, func(i, j int) bool { return s[i].ClientOrderID < s[j].ClientOrderID })
		return s
	}
	want, got = byClientID(want), byClientID(got)
	for i := range want {
		w, g := want[i], got[i]
		same := w.ClientOrderID == g.ClientOrderID && w.BrokerOrderID == g.BrokerOrderID && w.Status == g.Status &&
			w.Side == g.Side && w.Type == g.Type && w.Quantity.Equal(g.Quantity) && w.LimitPrice.Equal(g.LimitPrice) &&
			w.StopPrice.Equal(g.StopPrice) && w.FilledQuantity.Equal(g.FilledQuantity) && w.Notional.Equal(g.Notional) &&
			len(w.Fills) == len(g.Fills) && (w.Replaces == "") == (g.Replaces == "")
		if !same {
			return fmt.Errorf("order %s: database %s filled %s at broker id %q, replay %s filled %s at %q",
				g.ClientOrderID, g.Status, g.FilledQuantity, g.BrokerOrderID, w.Status, w.FilledQuantity, w.BrokerOrderID)
		}
	}
	return nil
}

// sameProtections compares the protection records but for the local id of
// the stop order (random) and the bookkeeping fields.
func sameProtections(want, got []stoploss.Protection) error {
	if len(want) != len(got) {
		return fmt.Errorf("%d protections in the database, %d replayed", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		same := w.Symbol == g.Symbol && w.Epoch == g.Epoch && w.Mode == g.Mode && w.Quantity.Equal(g.Quantity) &&
			w.StopPrice.Equal(g.StopPrice) && w.TakeProfitPrice.Equal(g.TakeProfitPrice) &&
			w.BestPrice.Equal(g.BestPrice) && w.StopClientOrderID == g.StopClientOrderID && w.StopSeq == g.StopSeq &&
			(w.StopOrderID == "") == (g.StopOrderID == "") && w.CloseClientOrderID == g.CloseClientOrderID
		if !same {
			return fmt.Errorf("protection of %s: database qty %s stop %s (%s), replay qty %s stop %s (%s)",
				g.Symbol, g.Quantity, g.StopPrice, g.StopClientOrderID, w.Quantity, w.StopPrice, w.StopClientOrderID)
		}
	}
	return nil
}

// The bot's own progress sits beside arbion's tables in the same database:
// the configuration it was started with and the last step it completed.
const progressSchema = `CREATE TABLE IF NOT EXISTS paperbot_progress (
	account     TEXT PRIMARY KEY,
	fingerprint TEXT NOT NULL,
	step        INTEGER NOT NULL
)`

// loadProgress returns the last step completed in the database and whether
// the database is fresh (it then marks it with cfg's fingerprint). A
// database started with another configuration is refused.
func loadProgress(ctx context.Context, db *sqlstore.DB, cfg Config) (step int, fresh bool, err error) {
	if _, err := db.SQL().ExecContext(ctx, progressSchema); err != nil {
		return 0, false, storageError("create the progress table", err)
	}
	var fingerprint string
	err = db.SQL().QueryRowContext(ctx, "SELECT fingerprint, step FROM paperbot_progress WHERE account = ?", account).
		Scan(&fingerprint, &step)
	if err == sql.ErrNoRows {
		_, err = db.SQL().ExecContext(ctx, "INSERT INTO paperbot_progress (account, fingerprint, step) VALUES (?, ?, 0)",
			account, cfg.fingerprint())
		return 0, true, storageError("save the progress", err)
	}
	if err != nil {
		return 0, false, storageError("read the progress", err)
	}
	if fingerprint != cfg.fingerprint() {
		return 0, false, configError(fmt.Sprintf("the database %s holds a run of another configuration (%s); use the same flags or another -db",
			cfg.DB, fingerprint))
	}
	return step, false, nil
}

// saveProgress records that step is complete.
func saveProgress(ctx context.Context, db *sqlstore.DB, step int) error {
	_, err := db.SQL().ExecContext(ctx, "UPDATE paperbot_progress SET step = ? WHERE account = ?", step, account)
	return storageError("save the progress", err)
}

func storageError(op string, err error) error {
	if err == nil {
		return nil
	}
	return &errors.OrderError{Kind: errors.ErrStorage, Reason: "paperbot: " + op, Err: err}
}
