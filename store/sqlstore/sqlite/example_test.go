package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/store/sqlstore/sqlite"
	"github.com/shopspring/decimal"
)

// The embedded default: a file path is all a bot gives. The schema is
// created on first open; what was stored is there after a restart.
func ExampleOpen() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "arbion-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "bot.db")

	db, err := sqlite.Open(ctx, path)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = db.Orders().Create(ctx, order.Order{
		LocalID: "L1", ClientOrderID: "C1", Account: "acct-1",
		Instrument: broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity},
		Side:       broker.Buy, Type: broker.Limit, TimeInForce: broker.GTC,
		Quantity: decimal.NewFromInt(10), LimitPrice: decimal.RequireFromString("187.25"),
		Status: broker.StatusNew,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	db.Close()

	db, err = sqlite.Open(ctx, path) // a restart
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	o, err := db.Orders().ByClientOrderID(ctx, "acct-1", "C1")
	fmt.Println(db.Dialect(), o.LocalID, o.Status, o.Quantity, o.LimitPrice, err)
	// Output: sqlite L1 new 10 187.25 <nil>
}
