package etrade_test

import (
	"context"
	"fmt"
	"log"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/etrade"
	"github.com/arbiontrader/arbion/etrade/etradetest"
	"github.com/shopspring/decimal"
)

// Log in with the PIN flow and trade, here against the emulator. Against
// E*TRADE, leave the URLs unset and show authURL to the user, who types
// the verification code back.
func Example() {
	ctx := context.Background()
	srv, err := etradetest.New(etradetest.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	b, err := etrade.New(etrade.Config{
		ConsumerKey: srv.ConsumerKey(), ConsumerSecret: srv.ConsumerSecret(),
		AccountIDKey: srv.AccountIDKey(), Store: auth.NewMemoryStore(),
		APIURL: srv.URL(), OAuthURL: srv.URL(), AuthorizeURL: srv.URL() + "/e/t/etws/authorize",
		HTTPClient: srv.Client(),
	})
	if err != nil {
		log.Fatal(err)
	}
	rt, authURL, err := b.StartLogin(ctx)
	if err != nil {
		log.Fatal(err)
	}
	_ = authURL                      // the user opens it and reads the code
	code, _ := srv.Approve(rt.Token) // stands in for the user
	if err := b.CompleteLogin(ctx, rt, code); err != nil {
		log.Fatal(err)
	}

	quotes, err := b.Quotes(ctx, "AAPL")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(quotes[0].Symbol, quotes[0].Bid, quotes[0].Ask)

	ack, err := b.PlaceOrder(ctx, broker.OrderRequest{
		ClientOrderID: broker.NewClientOrderID(),
		Instrument:    broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity},
		Side:          broker.Buy, Type: broker.Limit, TimeInForce: broker.Day,
		Quantity: decimal.NewFromInt(5), LimitPrice: decimal.RequireFromString("120.00"),
	})
	if err != nil {
		log.Fatal(err)
	}
	o, err := b.GetOrder(ctx, ack.OrderID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(o.Status, o.RawStatus, o.Quantity, o.LimitPrice)
	// Output:
	// AAPL 132.29 132.31
	// new OPEN 5 120
}
