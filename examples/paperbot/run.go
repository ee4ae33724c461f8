package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"sort"

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
// restart rebuilds it by replaying the seeded market and the bot's decisions
// from step 1 to the saved step against a fresh paper broker, with a scratch
// in-memory tracker and supervisor (the replay also restores the strategy's
// averages and the risk engine's day counters and state). It then checks that
// the rebuilt broker agrees with every order and protection in the database
// (client and broker ids, statuses, fills, stops) and refuses to continue when
// it does not (another configuration, or a bot killed in the middle of a
// step), builds the tracker and the supervisor on the database's stores,
// reconciles them with the broker and carries on from the next step. Steps
// are not interrupted half-way: an interrupt is honoured between steps.
func Run(ctx context.Context, cfg Config, out io.Writer) (Summary, error) {
	if err := cfg.validate(); err != nil {
		return Summary{}, err
	}
	if err := ctx.Err(); err != nil {
		return Summary{}, err
	}
	bt, err := newBot(cfg, out)
	if err != nil {
		return Summary{}, err
	}
	db, err := sqlite.Open(ctx, cfg.DB)
	if err != nil {
		return Summary{}, err
	}
	defer db.Close()
	saved, err := loadProgress(ctx, db, cfg)
	if err != nil {
		return Summary{}, err
	}
	if saved > 0 {
		if err := bt.replay(ctx, saved); err != nil {
			return Summary{}, err
		}
	}
	lease, err := db.Lease(sqlstore.LeaseConfig{})
	if err != nil {
		return Summary{}, err
	}
	if err := bt.attach(db.Orders(), db.Protections(), lease); err != nil {
		return Summary{}, err
	}
	defer bt.detach()
	if err := bt.resume(ctx, saved); err != nil {
		return Summary{}, err
	}
	for i := saved + 1; i <= cfg.Steps; i++ {
		if err := ctx.Err(); err != nil {
			fmt.Fprintf(out, "interrupted after step %d; the progress is saved in %s: run again to continue\n", i-1, cfg.DB)
			return Summary{}, err
		}
		// A step runs to its end: its orders and its saved progress go together.
		stepCtx := context.WithoutCancel(ctx)
		price := bt.feed.next()
		sig, err := bt.step(stepCtx, i, price)
		if err != nil {
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
			if err := bt.progress(stepCtx, i, price, sig); err != nil {
				return Summary{}, err
			}
		}
	}
	return bt.summary(ctx, max(cfg.Steps, saved), saved)
}

// replay rebuilds the paper broker, the strategy and the risk engine by
// trading steps 1 to upTo again on scratch in-memory books.
func (bt *bot) replay(ctx context.Context, upTo int) error {
	if err := bt.attach(order.NewMemoryStore(), stoploss.NewMemoryStore(), stoploss.NewMemoryLock()); err != nil {
		return err
	}
	defer bt.detach()
	for i := 1; i <= upTo; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := bt.step(ctx, i, bt.feed.next()); err != nil {
			return fmt.Errorf("replaying step %d: %w", i, err)
		}
	}
	scratch, err := bt.tracker.BySymbol(ctx, bt.in.Symbol)
	if err != nil {
		return err
	}
	protections, err := bt.protections.List(ctx, account)
	if err != nil {
		return err
	}
	bt.replayed = &replayed{orders: scratch, protections: protections}
	return nil
}

// replayed is what the replay's scratch books held, to check the database
// against.
type replayed struct {
	orders      []order.Order
	protections []stoploss.Protection
}

// resume checks the database's books against the replay and reconciles
// them with the broker; on a fresh run it checks the database is empty.
func (bt *bot) resume(ctx context.Context, saved int) error {
	orders, err := bt.tracker.BySymbol(ctx, bt.in.Symbol)
	if err != nil {
		return err
	}
	protections, err := bt.protections.List(ctx, account)
	if err != nil {
		return err
	}
	if saved == 0 {
		if len(orders) > 0 || len(protections) > 0 {
			return configError(fmt.Sprintf("the database %s holds orders but no paperbot progress: use another -db", bt.cfg.DB))
		}
		_, err := fmt.Fprintf(bt.out, "trading %s from step 1 to %d; orders, stops and progress kept in %s\n",
			bt.in.Symbol, bt.cfg.Steps, bt.cfg.DB)
		return err
	}
	want := bt.replayed
	bt.replayed = nil
	if err := sameOrders(want.orders, orders); err != nil {
		return restartError(saved, err)
	}
	if err := sameProtections(want.protections, protections); err != nil {
		return restartError(saved, err)
	}
	rep, err := bt.tracker.Reconcile(ctx)
	if err != nil {
		return fmt.Errorf("reconcile on restart: %w", err)
	}
	if rep.Updated > 0 || rep.Unresolved > 0 || rep.NeverPlaced > 0 {
		return restartError(saved, fmt.Errorf("reconcile changed %d orders, %d unresolved, %d never placed",
			rep.Updated, rep.Unresolved, rep.NeverPlaced))
	}
	if _, err := fmt.Fprintf(bt.out, "resumed after step %d from %s: %d orders and %d protected positions match the rebuilt paper broker; reconciled %d open orders, none changed\n",
		saved, bt.cfg.DB, len(orders), len(protections), rep.Checked); err != nil {
		return err
	}
	if saved >= bt.cfg.Steps {
		_, err = fmt.Fprintf(bt.out, "nothing left to trade up to step %d: give a larger -steps to go on, or another -db to start afresh\n", bt.cfg.Steps)
	}
	return err
}

func restartError(saved int, err error) error {
	return configError(fmt.Sprintf("the database disagrees with the market replayed to step %d (was the bot killed in the middle of a step?): %v; start afresh with another -db", saved, err))
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

// loadProgress returns the last step completed in the database, 0 for a
// fresh one (which it marks with cfg's fingerprint). A database started with
// another configuration is refused.
func loadProgress(ctx context.Context, db *sqlstore.DB, cfg Config) (int, error) {
	if _, err := db.SQL().ExecContext(ctx, progressSchema); err != nil {
		return 0, storageError("create the progress table", err)
	}
	var fingerprint string
	var step int
	err := db.SQL().QueryRowContext(ctx, "SELECT fingerprint, step FROM paperbot_progress WHERE account = ?", account).
		Scan(&fingerprint, &step)
	if err == sql.ErrNoRows {
		_, err = db.SQL().ExecContext(ctx, "INSERT INTO paperbot_progress (account, fingerprint, step) VALUES (?, ?, 0)",
			account, cfg.fingerprint())
		return 0, storageError("save the progress", err)
	}
	if err != nil {
		return 0, storageError("read the progress", err)
	}
	if fingerprint != cfg.fingerprint() {
		return 0, configError(fmt.Sprintf("the database %s holds a run of another configuration (%s); use the same flags or another -db",
			cfg.DB, fingerprint))
	}
	return step, nil
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
