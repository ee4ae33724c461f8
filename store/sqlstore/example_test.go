package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/store/sqlstore"
	"github.com/shopspring/decimal"
)

// A tracker whose orders survive a restart: open SQLite (a file path is all
// it needs), hand its order store to the tracker, and reopen it later.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "arbion-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "bot.db")

	db, err := sqlstore.Open(ctx, sqlstore.Config{Dialect: sqlstore.SQLite, DSN: path})
	if err != nil {
		fmt.Println(err)
		return
	}
	p, _ := paper.New(paper.Config{})
	p.SetPrice("AAPL", decimal.RequireFromString("187.25"))
	tracker, _ := order.NewTracker(order.Config{Broker: p, Store: db.Orders()})
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
	db, _ = sqlstore.Open(ctx, sqlstore.Config{Dialect: sqlstore.SQLite, DSN: path})
	defer db.Close()
	tracker, _ = order.NewTracker(order.Config{Broker: p, Store: db.Orders()})
	got, _ := tracker.Get(ctx, placed.LocalID)
	fmt.Println(got.Status, got.FilledQuantity, got.AvgFillPrice, len(got.Fills))
	// Output: filled 10 187.25 1
}
