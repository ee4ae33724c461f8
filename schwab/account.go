package schwab

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/internal/httpx"
	"github.com/shopspring/decimal"
)

// accountHash returns the account's hash, looking it up once.
func (b *Broker) accountHash(ctx context.Context) (string, error) {
	b.hashMu.Lock()
	defer b.hashMu.Unlock()
	if b.hash != "" {
		return b.hash, nil
	}
	resp, err := b.do(ctx, httpx.Request{Op: "account numbers", Path: "/trader/v1/accounts/accountNumbers",
		Bucket: b.readBucket, Idempotent: true})
	if err != nil {
		return "", err
	}
	var list []wireAccountNumber
	if err := decodeStrict(resp.Body, &list); err != nil {
		return "", malformed("account numbers", err)
	}
	for _, a := range list {
		if string(a.AccountNumber) == b.cfg.AccountNumber && a.HashValue != "" {
			b.hash = a.HashValue
			return b.hash, nil
		}
	}
	return "", &errors.BrokerError{Broker: Name, Op: "account numbers", Kind: errors.ErrConfiguration,
		Message: "the account is not linked to this app (log in again and tick it)"}
}

// forgetHash drops a hash Schwab called invalid, so that the next call looks
// it up again (only when it was looked up, not configured).
func (b *Broker) forgetHash(err error) {
	var be *errors.BrokerError
	if !errors.As(err, &be) || be.Code != codeInvalidAccount || b.cfg.AccountHash != "" {
		return
	}
	b.hashMu.Lock()
	b.hash = ""
	b.hashMu.Unlock()
}

// read performs an idempotent GET under the account path (suffix may be ""),
// re-looking the hash up once if Schwab calls it invalid.
func (b *Broker) read(ctx context.Context, op, suffix string, query url.Values) (*httpx.Response, error) {
	for attempt := 0; ; attempt++ {
		hash, err := b.accountHash(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := b.do(ctx, httpx.Request{Op: op, Path: "/trader/v1/accounts/" + hash + suffix, Query: query,
			Bucket: b.readBucket, Idempotent: true})
		if err != nil && attempt == 0 && b.cfg.AccountHash == "" && isInvalidAccount(err) {
			b.forgetHash(err)
			continue
		}
		return resp, err
	}
}

func isInvalidAccount(err error) bool {
	var be *errors.BrokerError
	return errors.As(err, &be) && be.Code == codeInvalidAccount
}

func malformed(op string, err error) error {
	return &errors.BrokerError{Broker: Name, Op: op, Kind: errors.ErrMalformedResponse,
		Message: "answer could not be decoded", Err: err}
}

func (b *Broker) fetchAccount(ctx context.Context, withPositions bool) (wireAccount, error) {
	var q url.Values
	if withPositions {
		q = url.Values{"fields": {"positions"}}
	}
	resp, err := b.read(ctx, "account", "", q)
	if err != nil {
		return wireAccount{}, err
	}
	var a wireAccount
	if err := decodeStrict(resp.Body, &a); err != nil {
		return wireAccount{}, malformed("account", err)
	}
	return a, nil
}

// Positions returns the account's open positions; net quantity = long −
// short. ETFs (held as COLLECTIVE_INVESTMENT) are equities.
func (b *Broker) Positions(ctx context.Context) ([]broker.Position, error) {
	a, err := b.fetchAccount(ctx, true)
	if err != nil {
		return nil, err
	}
	return decodePositions(a.SecuritiesAccount.Positions), nil
}

func decodePositions(ps []wirePosition) []broker.Position {
	out := make([]broker.Position, 0, len(ps))
	for _, p := range ps {
		qty := p.LongQuantity.Sub(p.ShortQuantity.Decimal)
		if qty.IsZero() {
			continue
		}
		out = append(out, broker.Position{
			Instrument: broker.Instrument{Symbol: p.Instrument.Symbol, AssetClass: assetClassOf(p.Instrument.AssetType)},
			Quantity:   qty,
			AvgCost:    p.avgCost(qty.IsNegative()),
		})
	}
	return out
}

// avgCost picks the first average price present: which ones Schwab sends
// varies.
func (p wirePosition) avgCost(short bool) decimal.Decimal {
	candidates := []num{p.AveragePrice, p.AverageLongPrice, p.TaxLotAverageLongPrice}
	if short {
		candidates = []num{p.AveragePrice, p.AverageShortPrice, p.TaxLotAverageShortPx}
	}
	for _, c := range candidates {
		if !c.IsZero() {
			return c.Decimal
		}
	}
	return decimal.Zero
}

// Account returns the balances: cash, buying power and liquidation value.
func (b *Broker) Account(ctx context.Context) (broker.Account, error) {
	a, err := b.fetchAccount(ctx, false)
	if err != nil {
		return broker.Account{}, err
	}
	acct := decodeAccount(a)
	if acct.ID == "" {
		acct.ID = b.cfg.AccountNumber
	}
	return acct, nil
}

func decodeAccount(a wireAccount) broker.Account {
	cur := a.SecuritiesAccount.CurrentBalances
	return broker.Account{
		ID:          string(a.SecuritiesAccount.AccountNumber),
		Currency:    "USD",
		Cash:        first(cur.CashBalance, cur.TotalCash, cur.CashAvailableForTrading),
		BuyingPower: first(cur.BuyingPower, cur.CashAvailableForTrading, cur.AvailableFunds),
		Equity: first(cur.LiquidationValue, cur.Equity, a.AggregatedBalance.LiquidationValue,
			a.AggregatedBalance.CurrentLiquidationValue),
	}
}

func first(vals ...*num) decimal.Decimal {
	for _, v := range vals {
		if v != nil {
			return v.Decimal
		}
	}
	return decimal.Zero
}

// Quotes returns quotes for the symbols, QuoteBatchSize symbols per request.
// Symbols Schwab does not know (listed under "errors") are left out.
func (b *Broker) Quotes(ctx context.Context, symbols ...string) ([]broker.Quote, error) {
	uniq := make([]string, 0, len(symbols))
	for _, s := range symbols {
		if s != "" && !slices.Contains(uniq, s) {
			uniq = append(uniq, s)
		}
	}
	var out []broker.Quote
	for batch := range slices.Chunk(uniq, b.cfg.QuoteBatchSize) {
		qs, err := b.quoteBatch(ctx, batch)
		if err != nil {
			return nil, err
		}
		out = append(out, qs...)
	}
	return out, nil
}

func (b *Broker) quoteBatch(ctx context.Context, symbols []string) ([]broker.Quote, error) {
	q := url.Values{"symbols": {strings.Join(symbols, ",")}, "fields": {"quote"}, "indicative": {"false"}}
	resp, err := b.do(ctx, httpx.Request{Op: "quotes", Path: "/marketdata/v1/quotes", Query: q,
		Bucket: b.readBucket, Idempotent: true})
	if err != nil {
		var be *errors.BrokerError
		if errors.As(err, &be) && be.HTTPStatus == http.StatusNotFound && errors.Is(err, errors.ErrOrderNotFound) {
			return nil, nil // every symbol unknown (JSON 404)
		}
		return nil, err
	}
	return decodeQuotes(resp.Body, symbols)
}

// decodeQuotes reads the /quotes map, keeping only requested symbols, in
// the order requested.
func decodeQuotes(body []byte, requested []string) ([]broker.Quote, error) {
	var m map[string]jsonRaw
	if err := decodeStrict(body, &m); err != nil {
		return nil, malformed("quotes", err)
	}
	out := make([]broker.Quote, 0, len(requested))
	for _, sym := range requested {
		raw, ok := m[sym]
		if !ok || sym == "errors" {
			continue
		}
		var e wireQuoteEntry
		if err := decodeStrict(raw, &e); err != nil {
			return nil, malformed("quotes", err)
		}
		out = append(out, broker.Quote{Symbol: sym, Bid: e.Quote.BidPrice.Decimal, Ask: e.Quote.AskPrice.Decimal,
			Last: e.Quote.LastPrice.Decimal, Time: quoteTime(e)})
	}
	return out, nil
}

// quoteTime is the quote's time, or the last trade's where there is no
// quote time (indices); epoch ms 0 means none.
func quoteTime(e wireQuoteEntry) time.Time {
	for _, n := range []string{string(e.Quote.QuoteTime), string(e.Quote.TradeTime)} {
		if ms, err := strconv.ParseInt(n, 10, 64); err == nil && ms > 0 {
			return time.UnixMilli(ms).UTC()
		}
	}
	return time.Time{}
}
