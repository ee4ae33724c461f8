package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/store/sqlstore"
	"github.com/arbiontrader/arbion/store/sqlstore/sqlite"
	"github.com/shopspring/decimal"
	_ "modernc.org/sqlite" // the driver ExampleNew's host chose
)

// A tracker whose orders survive a restart: open SQLite (a file path is all
// it needs), hand its order store to the tracker, and reopen it later.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "arbion-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "bot.db")

	db, err := sqlite.Open(ctx, path)
	if err != nil {
		fmt.Println(err)
		return
	}
	p, _ := paper.New(paper.Config{})
	p.SetPrice("AAPL", decimal.RequireFromString("187.25"))
	tracker, _ := order.NewTracker(order.Config{Broker: p, Store: db.Orders(), Account: "acct-1"})
	placed, err := tracker.Submit(ctx, order.Request{OrderRequest: broker.OrderRequest{
		Instrument: broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity},
		Side:       broker.Buy, Type: broker.Market, TimeInForce: broker.Day,
		Quantity: decimal.NewFromInt(10),
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	db.Close()

	// After a restart: the same file, a new tracker, the same order.
	db, _ = sqlite.Open(ctx, path)
	defer db.Close()
	tracker, _ = order.NewTracker(order.Config{Broker: p, Store: db.Orders(), Account: "acct-1"})
	got, _ := tracker.Get(ctx, placed.LocalID)
	fmt.Println(got.Status, got.FilledQuantity, got.AvgFillPrice, len(got.Fills))
	// Output: filled 10 187.25 1
}

// Replicas that take turns trading an account: each asks for the account's
// leadership; the one that gets it trades through stores fenced by it, so
// that if it ever loses the lease (a long pause, a partition) its writes are
// refused instead of racing the new leader's. The others are standbys.
func ExampleLease_Lead() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "arbion-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "bot.db")

	db, _ := sqlite.Open(ctx, path)
	defer db.Close()
	lease, _ := db.Lease(sqlstore.LeaseConfig{})
	ld, err := lease.Lead(ctx, "acct-1")
	if err != nil {
		fmt.Println(err)
		return
	}
	p, _ := paper.New(paper.Config{})
	tracker, _ := order.NewTracker(order.Config{
		Broker: p, Account: "acct-1",
		Store:  db.FencedOrders(ld), // writes checked against the lease
		Leader: ld,                  // sends refused once the lease is lost
	})
	_ = tracker

	// A second replica (its own connection) is a standby while ld is held.
	other, _ := sqlite.Open(ctx, path)
	defer other.Close()
	otherLease, _ := other.Lease(sqlstore.LeaseConfig{})
	_, err = otherLease.Lead(ctx, "acct-1")
	fmt.Println("standby:", errors.Is(err, errors.ErrNotLeader))

	// Releasing hands the account over at once, with a larger token.
	first := ld.Token()
	_ = ld.Release()
	fmt.Println("released:", errors.Is(ld.Err(), errors.ErrNotLeader))
	next, err := otherLease.Lead(ctx, "acct-1")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer next.Release()
	fmt.Println("new leader, larger token:", next.Token() > first)
	// Output:
	// standby: true
	// released: true
	// new leader, larger token: true
}

// A host that opens the database itself, as database/sql intends: it
// imports the driver it chose (here modernc.org/sqlite) and hands the
// *sql.DB and its dialect to New. The sqlite and postgres subpackages do
// exactly this in one call.
func ExampleNew() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "arbion-example")
	defer os.RemoveAll(dir)

	sqldb, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "bot.db")+"?_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		fmt.Println(err)
		return
	}
	db, err := sqlstore.New(ctx, sqldb, sqlstore.SQLite)
	if err != nil {
		sqldb.Close() // on an error the *sql.DB is still the host's
		fmt.Println(err)
		return
	}
	defer db.Close() // closes sqldb
	open, err := db.Orders().Open(ctx, "acct-1")
	fmt.Println(db.Dialect(), "schema created, open orders:", len(open), err)
	// Output: sqlite schema created, open orders: 0 <nil>
}
