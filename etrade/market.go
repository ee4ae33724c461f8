package etrade

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/internal/httpx"
)

// Account returns the account's balances: cash (net cash), buying power
// (cash or margin by the account mode) and total account value.
func (b *Broker) Account(ctx context.Context) (broker.Account, error) {
	resp, err := b.call(ctx, httpx.Request{
		Op: "balance", Path: b.apiPath("/balance.json"), Bucket: bucketAccounts, Idempotent: true,
		Query: url.Values{"instType": {"BROKERAGE"}, "realTimeNAV": {"true"}},
	})
	if err != nil {
		return broker.Account{}, err
	}
	r, err := decodeBalance(resp.Body)
	if err != nil {
		return broker.Account{}, withOp(err, "balance")
	}
	br := r.BalanceResponse
	c := br.Computed
	acct := broker.Account{
		ID:          br.AccountID,
		Currency:    "USD",
		Cash:        first(c.NetCash, c.CashBalance, c.CashAvailableForInvestment),
		BuyingPower: first(c.CashBuyingPower),
		Equity:      first(c.RealTimeValues.TotalAccountValue, c.AccountBalance),
	}
	if br.AccountMode == "MARGIN" || br.AccountType == "MARGIN" {
		acct.BuyingPower = first(c.MarginBuyingPower, c.CashBuyingPower)
	}
	return acct, nil
}

// Positions returns the open positions, every page of the portfolio.
// Quantities are signed: negative for a short.
func (b *Broker) Positions(ctx context.Context) ([]broker.Position, error) {
	var out []broker.Position
	for page := int64(1); ; page++ {
		resp, err := b.call(ctx, httpx.Request{
			Op: "portfolio", Path: b.apiPath("/portfolio.json"), Bucket: bucketAccounts, Idempotent: true,
			Query: url.Values{"pageNumber": {strconv.FormatInt(page, 10)}},
		})
		if err != nil {
			return nil, err
		}
		if resp.Status == http.StatusNoContent || len(resp.Body) == 0 {
			return out, nil
		}
		positions, pages, err := decodePortfolio(resp.Body)
		if err != nil {
			return nil, withOp(err, "portfolio")
		}
		for _, p := range positions {
			if p.Quantity.d.IsZero() {
				continue
			}
			cost := p.CostPerShare.d
			if cost.IsZero() {
				cost = p.PricePaid.d
			}
			out = append(out, broker.Position{Instrument: instrumentOf(p.Product), Quantity: p.Quantity.d, AvgCost: cost})
		}
		if page >= pages || page >= 1000 {
			return out, nil
		}
	}
}

// Quotes returns quotes in batches of QuoteBatchSize symbols per request
// (one request each, as E*TRADE counts them). Symbols E*TRADE does not know
// are left out; each quote is matched to the request by its symbol.
func (b *Broker) Quotes(ctx context.Context, symbols ...string) ([]broker.Quote, error) {
	var unique []string
	seen := map[string]bool{}
	for _, s := range symbols {
		if s == "" || strings.ContainsAny(s, ",/?#% \t") {
			return nil, &errors.BrokerError{Broker: brokerName, Op: "quote", Kind: errors.ErrInvalidOrder,
				Message: "invalid symbol " + strconv.Quote(s)}
		}
		if !seen[s] {
			seen[s] = true
			unique = append(unique, s)
		}
	}
	byText := map[string]broker.Quote{}
	for start := 0; start < len(unique); start += QuoteBatchSize {
		batch := unique[start:min(start+QuoteBatchSize, len(unique))]
		resp, err := b.call(ctx, httpx.Request{
			Op: "quote", Path: "/v1/market/quote/" + strings.Join(batch, ",") + ".json",
			Bucket: bucketMarket, Idempotent: true,
		})
		if err != nil {
			return nil, err
		}
		if resp.Status == http.StatusNoContent || len(resp.Body) == 0 {
			continue
		}
		data, _, err := decodeQuotes(resp.Body)
		if err != nil {
			return nil, withOp(err, "quote")
		}
		for _, q := range data {
			sym := q.Product.Symbol
			if !seen[sym] {
				continue // never return a symbol that was not asked for
			}
			byText[sym] = quoteOf(q)
		}
	}
	out := make([]broker.Quote, 0, len(byText))
	for _, s := range unique {
		if q, ok := byText[s]; ok {
			out = append(out, q)
		}
	}
	return out, nil
}

func quoteOf(q wireQuote) broker.Quote {
	at := q.DateTimeUTC.v
	if at == 0 {
		at = q.All.TimeOfLastTrade.v
	}
	var t time.Time
	if at > 0 {
		t = time.Unix(at, 0).UTC()
	}
	return broker.Quote{Symbol: q.Product.Symbol, Bid: q.All.Bid.d, Ask: q.All.Ask.d, Last: q.All.LastTrade.d, Time: t}
}
