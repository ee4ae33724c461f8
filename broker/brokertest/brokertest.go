// Package brokertest is a conformance suite that any [broker.Broker] must
// pass, in the spirit of testing/fstest: an adapter's tests (or an
// emulator's) build a [Harness] around the broker and call [Run].
//
//	func TestConformance(t *testing.T) {
//		b := newBrokerAgainstEmulator(t)
//		brokertest.Run(t, brokertest.Harness{
//			Broker:          b,
//			Instrument:      broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity},
//			Quantity:        decimal.NewFromInt(10),
//			RestingLimitBuy: decimal.RequireFromString("100.00"), // well below the market
//			Fill: func(ctx context.Context, orderID string, qty, price decimal.Decimal) error {
//				return emulator.Execute(orderID, qty, price) // drive the emulator's book
//			},
//			QuoteSymbols: []string{"AAPL", "MSFT", "SPY", ...},
//		})
//	}
//
// The suite runs its checks as subtests (t.Run), one order flow each, with a
// fresh client order id per order (broker.NewClientOrderID). It places only
// limit buys of Harness.Quantity at prices at or below
// Harness.RestingLimitBuy, fills some of them through Harness.Fill, and
// leaves the resulting long positions in place: run it against an emulator
// or a paper account funded for a few times Quantity × RestingLimitBuy.
// Orders a check leaves working are cancelled when the check ends.
//
// What is checked (each a subtest):
//
//   - place-get-cancel: an Ack with an order id; GetOrder reports the request's
//     fields and status new; the order is in OpenOrders; CancelOrder moves it to
//     pending_cancel or canceled, and to canceled after Harness.Settle; it
//     leaves OpenOrders; a second cancel is refused with ErrOrderNotCancelable.
//   - replace (skipped when Capabilities().Replace is false): ReplaceOrder gives
//     a new order id (the same one when Harness.ReplaceKeepsID); the old order
//     becomes replaced with ReplacedBy naming the new one (when the broker
//     reports it); GetOrder of the new id shows the new limit price and no
//     fills; OpenOrders holds the new order and not the old.
//   - idempotent-client-order-id: placing the same request twice never yields
//     two orders. The second call returns the same order id, or (only when
//     Capabilities().IdempotentClientOrderID is false) an error matching
//     errors.ErrDuplicateOrder; OpenOrders grows by exactly one.
//   - errors-classified: GetOrder and CancelOrder of Harness.UnknownOrderID
//     match errors.ErrOrderNotFound; GetOrder of an empty id returns an error
//     of some arbion kind; an invalid request (negative quantity) matches
//     errors.ErrInvalidOrder and places nothing (OpenOrders is unchanged and,
//     on an [broker.OrderFinder], FindOrder answers without error and with no
//     candidate: a lookup never validates).
//   - partial-then-full-fill: after Fill of part of the order the status is
//     partially_filled and FilledQuantity is that part; after Fill of the rest
//     it is filled, FilledQuantity equals the sum of Fills' quantities (when the
//     broker lists fills), AvgFillPrice is the quantity-weighted mean of the
//     executed prices, exec ids are non-empty and unique; Remaining() is the
//     unfilled part while working and zero once filled, and LeavesQuantity is
//     zero on every terminal order (cancelled ones too); cancelling the filled
//     order matches errors.ErrOrderNotCancelable; the order is not in
//     OpenOrders; Positions grew by Quantity.
//   - quotes: Quotes of Harness.QuoteSymbols returns one quote per symbol and
//     only requested symbols (use more symbols than
//     Capabilities().QuoteBatchSize to exercise batching); no symbols gives no
//     quotes and no error; Harness.UnknownSymbol is left out of the result.
//   - find-order (skipped unless [broker.Find] reaches a [broker.OrderFinder]):
//     the lookup of a placed order lists it among the candidates, oldest
//     first, and a second lookup still does (a lookup never claims what it
//     found); the lookup of a request never sent (at a price no check uses)
//     is Complete with no candidate.
//   - order-lister (skipped unless [broker.Find] reaches a [broker.OrderLister]):
//     with one working and one cancelled order, Orders selects by filter
//     (all, open, canceled, filled), by symbol and by window; every listed
//     order passes the query, and terminal ones have no LeavesQuantity.
//     Paging and splitting are the adapter's business.
//   - order-checker (skipped unless [broker.Find] reaches a [broker.OrderChecker]):
//     CheckOrder accepts a plain resting limit buy.
//   - preview (skipped unless [broker.Find] reaches a [broker.Previewer]):
//     PreviewOrder of a plain limit buy has no rejects, a total not below
//     its notional, no negative charge, and places nothing.
//   - capabilities-and-account: Name is non-empty and lower case;
//     QuoteBatchSize is positive; Account answers.
package brokertest

import (
	"context"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/shopspring/decimal"
)

// Harness describes the broker under test and how the suite moves its market.
// Broker, Instrument, Quantity, RestingLimitBuy and Fill are required; the
// other fields have documented defaults.
type Harness struct {
	// Broker is the implementation under test.
	Broker broker.Broker
	// Instrument is a symbol the broker trades and knows a price for.
	Instrument broker.Instrument
	// Quantity is a valid order size for Instrument. The partial-fill check
	// splits it in two (see PartialQuantity), so prefer a quantity of at least
	// 2 units on brokers without fractional quantities.
	Quantity decimal.Decimal
	// RestingLimitBuy is the limit price of a buy that will not fill by
	// itself (below the market), on the instrument's price grid.
	RestingLimitBuy decimal.Decimal
	// ReplaceLimitBuy is the limit price the replace check moves the resting
	// buy to; it must not fill by itself either. Default: RestingLimitBuy
	// minus PriceTick.
	ReplaceLimitBuy decimal.Decimal
	// PriceTick is the instrument's smallest price increment. The second fill
	// of the partial-fill check executes at RestingLimitBuy - PriceTick, so
	// that the average price is a true mean of two prices. Default 0.01.
	PriceTick decimal.Decimal
	// PartialQuantity is the size of the first of two fills in the
	// partial-fill check; it must be positive and below Quantity. Default:
	// half of Quantity, rounded down to Quantity's decimal places (the check
	// is skipped when that is zero).
	PartialQuantity decimal.Decimal

	// Fill makes the broker execute qty of the open order orderID at price,
	// as the market would: an emulator drives its order book or injects an
	// execution, the paper broker executes directly. When Fill returns nil,
	// GetOrder must already report the execution. Required.
	Fill func(ctx context.Context, orderID string, qty, price decimal.Decimal) error
	// Settle makes the broker confirm what it has pending (cancels and
	// replaces it acknowledged but has not yet carried out), for brokers that
	// confirm asynchronously. nil means the broker confirms before its next
	// answer: an order CancelOrder accepted reads canceled at once.
	Settle func(ctx context.Context) error

	// QuoteSymbols are symbols the broker quotes. Give more than
	// Capabilities().QuoteBatchSize to check that Quotes splits a request
	// into batches and joins the answers. Default: Instrument's symbol alone.
	QuoteSymbols []string
	// UnknownSymbol is a well-formed symbol the broker does not know; Quotes
	// must leave it out. Default "ZZZZQX".
	UnknownSymbol string
	// UnknownOrderID is an order id in the broker's id format that it does
	// not hold; GetOrder and CancelOrder must report errors.ErrOrderNotFound.
	// Default "987654321012".
	UnknownOrderID string

	// Clock is the broker's clock: the time it stamps an order entered now.
	// The find-order and order-lister checks build their windows from it.
	// Nil means clock.Real; pass the clocktest.Fake an emulator runs on.
	Clock clock.Clock

	// ReplaceKeepsID is true for brokers that edit an order in place
	// (Coinbase): ReplaceOrder returns the same order id, and the order is
	// never reported as replaced.
	ReplaceKeepsID bool
}

// Run runs the conformance suite against h.Broker, each check as a subtest of
// t. A Harness missing a required field fails the test at once.
func Run(t *testing.T, h Harness) {
	t.Helper()
	run(testingT{t}, h)
}
