package coinbasetest

import (
	"fmt"
	"sort"
	"time"

	"github.com/shopspring/decimal"
)

// Product is a tradable pair and its rules. Decimal fields are exact; zero
// sizes mean "no limit" for maxima.
type Product struct {
	ID             string // "BTC-USD"
	Base, Quote    string // "BTC", "USD"
	BaseIncrement  decimal.Decimal
	QuoteIncrement decimal.Decimal
	PriceIncrement decimal.Decimal // default QuoteIncrement
	BaseMinSize    decimal.Decimal
	BaseMaxSize    decimal.Decimal
	QuoteMinSize   decimal.Decimal
	QuoteMaxSize   decimal.Decimal
	AliasTo        []string // other ids of the same book ("BTC-USDC")
	EchoAs         string   // the id create responses name (Coinbase echoes SOL-USD as SOL-USDC)
	Bid, Ask, Last decimal.Decimal
	BidSize        decimal.Decimal
	AskSize        decimal.Decimal
	// Flags that restrict trading.
	TradingDisabled, CancelOnly, LimitOnly, PostOnly bool
}

type product struct{ Product }

func (p *product) priceIncrement() decimal.Decimal {
	if p.PriceIncrement.IsPositive() {
		return p.PriceIncrement
	}
	return p.QuoteIncrement
}

type account struct {
	uuid      string
	currency  string
	available decimal.Decimal
	hold      decimal.Decimal
	created   time.Time
}

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func (s *Server) seedMarket() {
	type row struct{ id, base, quote, baseInc, quoteInc, bid, ask string }
	for _, r := range []row{
		{"BTC-USD", "BTC", "USD", "0.00000001", "0.01", "101716.47", "101722.02"},
		{"ETH-USD", "ETH", "USD", "0.00000001", "0.01", "3301.10", "3301.55"},
		{"SOL-USD", "SOL", "USD", "0.00000001", "0.01", "190.11", "190.14"},
		{"ADA-USD", "ADA", "USD", "0.00000001", "0.0001", "0.9801", "0.9803"},
		{"LTC-USD", "LTC", "USD", "0.00000001", "0.01", "120.40", "120.45"},
		{"DOGE-USD", "DOGE", "USD", "0.1", "0.00001", "0.31001", "0.31005"},
		{"AVAX-USD", "AVAX", "USD", "0.00000001", "0.01", "35.10", "35.12"},
		{"LINK-USD", "LINK", "USD", "0.01", "0.001", "21.101", "21.105"},
	} {
		p := Product{
			ID: r.id, Base: r.base, Quote: r.quote,
			BaseIncrement: d(r.baseInc), QuoteIncrement: d(r.quoteInc),
			BaseMinSize: d(r.baseInc), BaseMaxSize: d("1000000"),
			QuoteMinSize: d("1"), QuoteMaxSize: d("150000000"),
			Bid: d(r.bid), Ask: d(r.ask), Last: d(r.bid),
			BidSize: d("10"), AskSize: d("10"),
		}
		if r.id == "BTC-USD" {
			p.AliasTo = []string{"BTC-USDC"}
		}
		if r.id == "SOL-USD" {
			p.AliasTo, p.EchoAs = []string{"SOL-USDC"}, "SOL-USDC"
		}
		s.products[p.ID] = &product{p}
	}
	s.accountFor("USD").available = d("1000000")
}

// AddProduct adds or replaces a product.
func (s *Server) AddProduct(p Product) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.products[p.ID] = &product{p}
}

// SetQuote sets a product's best bid and ask (zero: that side is empty) and
// its last trade price.
func (s *Server) SetQuote(productID string, bid, ask, last decimal.Decimal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.products[productID]
	if !ok {
		return fmt.Errorf("coinbasetest: unknown product %s", productID)
	}
	p.Bid, p.Ask, p.Last = bid, ask, last
	s.publishTicker(p)
	return nil
}

// SetBalance sets a currency's available balance (the hold is unchanged).
func (s *Server) SetBalance(currency string, available decimal.Decimal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accountFor(currency).available = available
}

// Balance returns a currency's available and held amounts.
func (s *Server) Balance(currency string) (available, hold decimal.Decimal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accountFor(currency)
	return a.available, a.hold
}

func (s *Server) accountFor(currency string) *account {
	for _, a := range s.accounts {
		if a.currency == currency {
			return a
		}
	}
	a := &account{uuid: newUUID(), currency: currency, created: s.clock.Now()}
	s.accounts = append(s.accounts, a)
	return a
}

// order is one order the emulator accepted.
type order struct {
	id, clientID, productID, side string
	configKey                     string
	config                        map[string]any // the variant as received, echoed by GET
	baseSize, quoteSize           decimal.Decimal
	limitPrice, stopPrice         decimal.Decimal
	stopDirection                 string
	endTime                       time.Time
	postOnly                      bool
	status                        string
	triggerStatus                 string
	created                       time.Time
	lastFill                      time.Time
	filledSize                    decimal.Decimal // base units
	filledValue                   decimal.Decimal // quote, without fees
	fees                          decimal.Decimal
	numberOfFills                 int
	pendingCancel                 bool
	cancelMessage                 string
	holdLeft                      decimal.Decimal // still reserved in holdCurrency
	holdCurrency                  string
	editHistory                   []editRecord
	seq                           int64
	retailPortfolio               string
}

type editRecord struct {
	price, size decimal.Decimal
	at          time.Time
}

type fill struct {
	entryID, tradeID, orderID, productID, side string
	at                                         time.Time
	price, size, commission                    decimal.Decimal // size in base
	liquidity                                  string
	sizeInQuote                                bool
	seq                                        int64
}

func (o *order) terminal() bool {
	switch o.status {
	case "FILLED", "CANCELLED", "EXPIRED", "FAILED":
		return true
	}
	return false
}

func (o *order) remaining() decimal.Decimal { return o.baseSize.Sub(o.filledSize) }

// OrderRecord is the emulator's view of one accepted order, for assertions.
type OrderRecord struct {
	OrderID, ClientOrderID, ProductID, Side string
	Configuration                           string // the order_configuration key, e.g. "limit_limit_gtc"
	BaseSize, QuoteSize                     decimal.Decimal
	LimitPrice, StopPrice                   decimal.Decimal
	StopDirection                           string
	EndTime                                 time.Time
	PostOnly                                bool
	Status                                  string
	FilledSize, FilledValue, Fees           decimal.Decimal
	Fills                                   int
	Edits                                   int
	RetailPortfolioID                       string
}

// Orders returns every accepted order, oldest first.
func (s *Server) Orders() []OrderRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]OrderRecord, 0, len(s.orders))
	for _, o := range s.orders {
		out = append(out, OrderRecord{
			OrderID: o.id, ClientOrderID: o.clientID, ProductID: o.productID, Side: o.side,
			Configuration: o.configKey, BaseSize: o.baseSize, QuoteSize: o.quoteSize,
			LimitPrice: o.limitPrice, StopPrice: o.stopPrice, StopDirection: o.stopDirection,
			EndTime: o.endTime, PostOnly: o.postOnly, Status: o.status,
			FilledSize: o.filledSize, FilledValue: o.filledValue, Fees: o.fees, Fills: o.numberOfFills,
			Edits: len(o.editHistory), RetailPortfolioID: o.retailPortfolio,
		})
	}
	return out
}

// CreateAttempt is one POST /orders the server processed (faults that
// answer before processing are not listed).
type CreateAttempt struct {
	ClientOrderID string
	Body          string
	Outcome       string // "accepted", "existing", "rejected: <reason>", "invalid: <message>"
	OrderID       string
}

// CreateAttempts returns every processed create, in order.
func (s *Server) CreateAttempts() []CreateAttempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CreateAttempt(nil), s.creates...)
}

// Fill executes size (base units) of an open order at price as a maker, as
// the market would. It fails if the order is not open or size exceeds what
// remains.
func (s *Server) Fill(orderID string, size, price decimal.Decimal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.byID[orderID]
	switch {
	case !ok:
		return fmt.Errorf("coinbasetest: no order %s", orderID)
	case o.terminal():
		return fmt.Errorf("coinbasetest: order %s is %s", orderID, o.status)
	case o.quoteSize.IsPositive():
		return fmt.Errorf("coinbasetest: order %s is quote-sized; it fills on placement", orderID)
	case !size.IsPositive() || size.GreaterThan(o.remaining()):
		return fmt.Errorf("coinbasetest: fill %s of order %s with %s remaining", size, orderID, o.remaining())
	}
	if o.triggerStatus == "STOP_PENDING" {
		o.triggerStatus = "STOP_TRIGGERED"
	}
	s.execute(o, size, price, s.cfg.MakerFeeRate, "MAKER")
	s.publishLocked()
	return nil
}

// Expire ends an open order as its time in force would: status EXPIRED,
// cancel_message "Order expired", holds released.
func (s *Server) Expire(orderID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.byID[orderID]
	if !ok || o.terminal() {
		return fmt.Errorf("coinbasetest: no open order %s", orderID)
	}
	s.close(o, "EXPIRED", "Order expired")
	s.publishLocked()
	return nil
}

// SetStatus forces an order's raw status (for tests of statuses the book
// never produces by itself, such as QUEUED or an unknown value).
func (s *Server) SetStatus(orderID, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.byID[orderID]
	if !ok {
		return fmt.Errorf("coinbasetest: no order %s", orderID)
	}
	o.status = status
	s.publishLocked()
	return nil
}

// Settle carries out every queued cancel (Config.CancelQueued).
func (s *Server) Settle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.orders {
		if o.status == "CANCEL_QUEUED" {
			s.close(o, "CANCELLED", "User requested cancel")
		}
	}
	s.publishLocked()
}

// expireDue expires GTD orders whose end time has passed, and forgets the
// GTD orders that ended.
func (s *Server) expireDue() {
	now := s.clock.Now()
	kept := s.gtd[:0]
	for _, o := range s.gtd {
		if !o.terminal() && !now.Before(o.endTime) {
			s.close(o, "EXPIRED", "Order expired")
		}
		if !o.terminal() {
			kept = append(kept, o)
		}
	}
	s.gtd = kept
}

func (s *Server) nextSeq() int64 {
	s.seq++
	return s.seq
}

// execute books one fill of size base units at price: balances move, the
// order's totals grow, and it is FILLED when nothing remains.
func (s *Server) execute(o *order, size, price, feeRate decimal.Decimal, liquidity string) {
	p := s.products[o.productID]
	value := size.Mul(price)
	fee := value.Mul(feeRate)
	s.book(o, p, size, value, fee, price, liquidity, false)
	if !o.remaining().IsPositive() {
		s.close(o, "FILLED", "")
	}
}

// book records a fill and moves balances. For a BUY the hold is released in
// proportion and the cost plus fee is paid from it; for a SELL base leaves
// the hold and quote minus fee arrives.
func (s *Server) book(o *order, p *product, size, value, fee, price decimal.Decimal, liquidity string, sizeInQuote bool) {
	base, quote := s.accountFor(p.Base), s.accountFor(p.Quote)
	if o.side == "BUY" {
		release := value.Add(fee)
		if o.quoteSize.IsZero() && o.limitPrice.IsPositive() {
			release = size.Mul(o.limitPrice).Mul(decimal.NewFromInt(1).Add(s.cfg.TakerFeeRate))
		}
		if release.GreaterThan(o.holdLeft) {
			release = o.holdLeft
		}
		o.holdLeft = o.holdLeft.Sub(release)
		quote.hold = quote.hold.Sub(release)
		quote.available = quote.available.Add(release).Sub(value).Sub(fee)
		base.available = base.available.Add(size)
	} else {
		o.holdLeft = o.holdLeft.Sub(size)
		base.hold = base.hold.Sub(size)
		quote.available = quote.available.Add(value).Sub(fee)
	}
	now := s.clock.Now()
	o.filledSize = o.filledSize.Add(size)
	o.filledValue = o.filledValue.Add(value)
	o.fees = o.fees.Add(fee)
	o.numberOfFills++
	o.lastFill = now
	fsize := size
	if sizeInQuote {
		fsize = value
	}
	s.fills = append(s.fills, &fill{
		entryID: randomHex(32), tradeID: newUUID(), orderID: o.id, productID: o.productID, side: o.side,
		at: now, price: price, size: fsize, commission: fee, liquidity: liquidity, sizeInQuote: sizeInQuote,
		seq: s.nextSeq(),
	})
}

// close ends an order and releases what it still holds.
func (s *Server) close(o *order, status, message string) {
	o.status, o.cancelMessage, o.pendingCancel = status, message, false
	if o.holdLeft.IsPositive() {
		a := s.accountFor(o.holdCurrency)
		a.hold = a.hold.Sub(o.holdLeft)
		a.available = a.available.Add(o.holdLeft)
		o.holdLeft = decimal.Zero
	}
}

// sortedOrders returns the orders newest first (the listing order).
func (s *Server) sortedOrders() []*order {
	out := append([]*order(nil), s.orders...)
	sort.Slice(out, func(i, j int) bool { return out[i].seq > out[j].seq })
	return out
}
