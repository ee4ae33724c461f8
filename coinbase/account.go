package coinbase

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/shopspring/decimal"
)

// Balance is one currency's balance in the portfolio.
type Balance struct {
	AccountID string
	Currency  string
	Available decimal.Decimal // free to trade
	Hold      decimal.Decimal // reserved by open orders and pending transfers
}

// Total is available plus hold.
func (b Balance) Total() decimal.Decimal { return b.Available.Add(b.Hold) }

// Balances lists every currency account of the portfolio, all pages.
func (b *Broker) Balances(ctx context.Context) ([]Balance, error) {
	q := url.Values{"limit": {"250"}}
	var out []Balance
	seen := map[string]bool{}
	for page := 0; page < maxPages; page++ {
		var w wireAccountsPage
		if err := b.get(ctx, "list accounts", "/accounts", q, &w); err != nil {
			return nil, err
		}
		for _, a := range w.Accounts {
			if !a.DeletedAt.IsZero() {
				continue
			}
			out = append(out, Balance{AccountID: a.UUID, Currency: a.Currency,
				Available: a.AvailableBalance.Value.Decimal, Hold: a.Hold.Value.Decimal})
		}
		if !w.HasNext {
			return out, nil
		}
		if w.Cursor == "" || seen[w.Cursor] {
			return nil, malformed("list accounts", "has_next without a new cursor")
		}
		seen[w.Cursor] = true
		q.Set("cursor", w.Cursor)
	}
	return nil, malformed("list accounts", "too many pages")
}

// Account reports the portfolio in Config.QuoteCurrency: Cash is that
// currency's total (available + hold), BuyingPower its available part, and
// Equity Cash plus every other holding valued at its best bid in the quote
// currency. A holding with no BASE-QUOTE product or no bid is left out of
// Equity (logged), so Equity can understate; Cash and BuyingPower are exact.
func (b *Broker) Account(ctx context.Context) (broker.Account, error) {
	balances, err := b.Balances(ctx)
	if err != nil {
		return broker.Account{}, err
	}
	acct := broker.Account{Currency: b.cfg.QuoteCurrency}
	var held []string
	amounts := map[string]decimal.Decimal{}
	for _, bal := range balances {
		if bal.Currency == b.cfg.QuoteCurrency {
			acct.Cash = acct.Cash.Add(bal.Total())
			acct.BuyingPower = acct.BuyingPower.Add(bal.Available)
			if acct.ID == "" {
				acct.ID = bal.AccountID
			}
			continue
		}
		if bal.Total().IsPositive() {
			sym := bal.Currency + "-" + b.cfg.QuoteCurrency
			held = append(held, sym)
			amounts[sym] = amounts[sym].Add(bal.Total())
		}
	}
	if b.cfg.OAuth != nil {
		acct.ID = b.cfg.RetailPortfolioID
	}
	acct.Equity = acct.Cash
	quotes, err := b.Quotes(ctx, held...)
	if err != nil {
		return broker.Account{}, err
	}
	valued := map[string]bool{}
	for _, q := range quotes {
		if q.Bid.IsPositive() {
			acct.Equity = acct.Equity.Add(amounts[q.Symbol].Mul(q.Bid))
			valued[q.Symbol] = true
		}
	}
	for _, sym := range held {
		if !valued[sym] {
			b.logger.Warn("coinbase: holding left out of equity: no bid", "symbol", sym)
		}
	}
	return acct, nil
}

// Positions lists every non-zero holding other than the quote currency as
// a long position in BASE-QuoteCurrency (available + hold). Coinbase spot
// reports no cost basis: AvgCost is zero unless Config.CostBasisFromFills
// asks to derive it from the fills (one fills listing per holding).
func (b *Broker) Positions(ctx context.Context) ([]broker.Position, error) {
	balances, err := b.Balances(ctx)
	if err != nil {
		return nil, err
	}
	qty := map[string]decimal.Decimal{}
	var order []string
	for _, bal := range balances {
		if bal.Currency == b.cfg.QuoteCurrency || !bal.Total().IsPositive() {
			continue
		}
		sym := bal.Currency + "-" + b.cfg.QuoteCurrency
		if _, ok := qty[sym]; !ok {
			order = append(order, sym)
		}
		qty[sym] = qty[sym].Add(bal.Total())
	}
	out := make([]broker.Position, 0, len(order))
	for _, sym := range order {
		p := broker.Position{Instrument: broker.Instrument{Symbol: sym, AssetClass: broker.Crypto}, Quantity: qty[sym]}
		if b.cfg.CostBasisFromFills {
			cost, err := b.costBasis(ctx, sym, p.Quantity)
			if err != nil {
				return nil, err
			}
			p.AvgCost = cost
		}
		out = append(out, p)
	}
	return out, nil
}

// costBasis replays the product's fills, oldest first, with the average-cost
// method (fees excluded, like an order's average fill price): buys add to
// the holding at their price, sells take from it at the running average.
// The result is reported only when the fills explain the whole holding;
// otherwise (deposits, transfers, trades in an alias product) it is zero,
// "unknown", and logged.
func (b *Broker) costBasis(ctx context.Context, symbol string, holding decimal.Decimal) (decimal.Decimal, error) {
	execs, err := b.Fills(ctx, FillFilter{ProductIDs: []string{symbol}})
	if err != nil {
		return decimal.Zero, err
	}
	slices.SortStableFunc(execs, func(x, y Execution) int { return x.Time.Compare(y.Time) })
	qty, cost := decimal.Zero, decimal.Zero
	for _, e := range execs {
		if e.TradeType != "" && e.TradeType != "FILL" {
			continue
		}
		switch e.Side {
		case broker.Buy:
			qty, cost = qty.Add(e.Quantity), cost.Add(e.Quantity.Mul(e.Price))
		case broker.Sell:
			if e.Quantity.GreaterThan(qty) {
				qty, cost = decimal.Zero, decimal.Zero // sold what the fills never bought
				continue
			}
			cost = cost.Sub(cost.Mul(e.Quantity).DivRound(qty, baseDivisionPlaces))
			qty = qty.Sub(e.Quantity)
		}
	}
	if !qty.Equal(holding) || !qty.IsPositive() {
		b.logger.Warn("coinbase: fills do not explain the holding; cost basis unknown", "symbol", symbol,
			"holding", holding.String(), "from_fills", qty.String())
		return decimal.Zero, nil
	}
	return cost.DivRound(qty, baseDivisionPlaces), nil
}

// Quotes returns the best bid and ask of each known symbol, in batches of
// Config.QuoteBatchSize products per best_bid_ask call. A symbol Coinbase
// does not trade is left out; an empty side is a zero price. Last is not
// reported by best_bid_ask and stays zero.
func (b *Broker) Quotes(ctx context.Context, symbols ...string) ([]broker.Quote, error) {
	var known []string
	for _, s := range symbols {
		if slices.Contains(known, s) {
			continue
		}
		if _, err := b.Product(ctx, s); err != nil {
			if errors.Is(err, errUnknownProduct) {
				continue
			}
			return nil, err
		}
		known = append(known, s)
	}
	var out []broker.Quote
	for batch := range slices.Chunk(known, b.cfg.QuoteBatchSize) {
		var w wireBestBidAsk
		if err := b.get(ctx, "quotes", "/best_bid_ask", url.Values{"product_ids": batch}, &w); err != nil {
			return nil, err
		}
		quoted := map[string]bool{}
		for _, book := range w.Pricebooks {
			sym, ok := b.requested(ctx, batch, book.ProductID)
			if !ok || quoted[sym] {
				continue // not asked for, or already answered under another alias
			}
			quoted[sym] = true
			q := broker.Quote{Symbol: sym, Time: book.Time.Time}
			if len(book.Bids) > 0 {
				q.Bid = book.Bids[0].Price.Decimal
			}
			if len(book.Asks) > 0 {
				q.Ask = book.Asks[0].Price.Decimal
			}
			if q.Bid.IsPositive() || q.Ask.IsPositive() {
				out = append(out, q)
			}
		}
	}
	return out, nil
}

// requested maps a pricebook's product id to the symbol asked for: the
// same id, or one whose product names it as an alias (Coinbase may answer
// SOL-USD with the SOL-USDC book).
func (b *Broker) requested(ctx context.Context, batch []string, id string) (string, bool) {
	if slices.Contains(batch, id) {
		return id, true
	}
	for _, sym := range batch {
		if p, err := b.Product(ctx, sym); err == nil && p.sameBook(id) {
			return sym, true
		}
	}
	return "", false
}

// ServerTime returns Coinbase's clock (GET /time, public), to measure the
// offset of the local clock that signs the JWTs' nbf.
func (b *Broker) ServerTime(ctx context.Context) (time.Time, error) {
	var w struct {
		EpochSeconds string `json:"epochSeconds"`
	}
	if err := b.get(ctx, "server time", "/time", nil, &w); err != nil {
		return time.Time{}, err
	}
	n, err := strconv.ParseInt(w.EpochSeconds, 10, 64)
	if err != nil {
		return time.Time{}, malformed("server time", "epochSeconds is not an integer")
	}
	return time.Unix(n, 0), nil
}
