package schwabtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

type account struct {
	number     string
	hash       string
	typ        string
	cash       decimal.Decimal
	positions  map[string]*position // by symbol
	orderCalls []time.Time          // order requests in the current window
	orderLog   []time.Time          // every accepted order request
}

type position struct {
	symbol    string
	assetType string
	long      decimal.Decimal
	short     decimal.Decimal
	avgPrice  decimal.Decimal
}

func newAccount(a Account) *account {
	acct := &account{number: a.Number, hash: a.Hash, typ: a.Type, cash: a.Cash, positions: make(map[string]*position)}
	if acct.hash == "" {
		acct.hash = HashFor(a.Number)
	}
	if acct.typ == "" {
		acct.typ = "MARGIN"
	}
	return acct
}

// applyFill moves cash and the position for an execution of qty at price.
func (a *account) applyFill(symbol, assetType, instruction string, qty, price decimal.Decimal) {
	p := a.positions[symbol]
	if p == nil {
		p = &position{symbol: symbol, assetType: assetType}
		a.positions[symbol] = p
	}
	notional := qty.Mul(price)
	switch instruction {
	case "BUY", "BUY_TO_OPEN":
		cost := p.avgPrice.Mul(p.long).Add(notional)
		p.long = p.long.Add(qty)
		p.avgPrice = cost.Div(p.long)
		a.cash = a.cash.Sub(notional)
	case "BUY_TO_COVER", "BUY_TO_CLOSE":
		p.short = decimal.Max(p.short.Sub(qty), decimal.Zero)
		a.cash = a.cash.Sub(notional)
	case "SELL", "SELL_TO_CLOSE":
		p.long = decimal.Max(p.long.Sub(qty), decimal.Zero)
		a.cash = a.cash.Add(notional)
	case "SELL_SHORT", "SELL_SHORT_EXEMPT", "SELL_TO_OPEN":
		p.short = p.short.Add(qty)
		p.avgPrice = price
		a.cash = a.cash.Add(notional)
	}
	if p.long.IsZero() && p.short.IsZero() {
		delete(a.positions, symbol)
	}
}

// SetPosition sets a long (qty > 0) or short (qty < 0) position in an
// account, at an average price; qty 0 removes it.
func (s *Server) SetPosition(accountNumber, symbol, assetType string, qty, avgPrice decimal.Decimal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.accounts {
		if a.number != accountNumber {
			continue
		}
		if qty.IsZero() {
			delete(a.positions, symbol)
			return
		}
		p := &position{symbol: symbol, assetType: assetType, avgPrice: avgPrice}
		if qty.IsPositive() {
			p.long = qty
		} else {
			p.short = qty.Neg()
		}
		a.positions[symbol] = p
	}
}

func (s *Server) accountNumbers(*http.Request, []byte) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]map[string]string, 0, len(s.accounts))
	for _, a := range s.accounts {
		out = append(out, map[string]string{"accountNumber": a.number, "hashValue": a.hash})
	}
	return jsonResponse(http.StatusOK, out)
}

func (s *Server) listAccounts(r *http.Request, _ []byte) response {
	withPositions := hasField(r, "positions")
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]any, 0, len(s.accounts))
	for _, a := range s.accounts {
		out = append(out, s.accountJSONLocked(a, withPositions))
	}
	return jsonResponse(http.StatusOK, out)
}

func (s *Server) getAccount(r *http.Request, _ []byte) response {
	withPositions := hasField(r, "positions")
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.byHash[r.PathValue("hash")]
	if a == nil {
		return messageError(http.StatusBadRequest, "Invalid account number")
	}
	return jsonResponse(http.StatusOK, s.accountJSONLocked(a, withPositions))
}

func hasField(r *http.Request, name string) bool {
	for _, f := range strings.Split(r.URL.Query().Get("fields"), ",") {
		if strings.TrimSpace(f) == name {
			return true
		}
	}
	return false
}

// num writes a decimal as a JSON number the way Schwab's doubles look:
// always with a fractional part ("1.0", "22.7299").
func num(d decimal.Decimal) json.Number {
	s := d.String()
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return json.Number(s)
}

func (s *Server) accountJSONLocked(a *account, withPositions bool) map[string]any {
	marketValue := decimal.Zero
	positions := make([]any, 0, len(a.positions))
	symbols := make([]string, 0, len(a.positions))
	for sym := range a.positions {
		symbols = append(symbols, sym)
	}
	slices.Sort(symbols)
	for _, sym := range symbols {
		p := a.positions[sym]
		mark := p.avgPrice
		if q, ok := s.quotes[sym]; ok && q.Last.IsPositive() {
			mark = q.Last
		}
		mv := p.long.Sub(p.short).Mul(mark)
		marketValue = marketValue.Add(mv)
		positions = append(positions, map[string]any{
			"shortQuantity":                  num(p.short),
			"averagePrice":                   num(p.avgPrice),
			"currentDayProfitLoss":           num(decimal.Zero),
			"currentDayProfitLossPercentage": num(decimal.Zero),
			"longQuantity":                   num(p.long),
			"settledLongQuantity":            num(p.long),
			"settledShortQuantity":           num(p.short),
			"instrument": map[string]any{
				"assetType": p.assetType,
				"cusip":     "000000000",
				"symbol":    p.symbol,
				"netChange": num(decimal.Zero),
			},
			"marketValue":                 num(mv),
			"maintenanceRequirement":      num(decimal.Zero),
			"averageLongPrice":            num(p.avgPrice),
			"taxLotAverageLongPrice":      num(p.avgPrice),
			"longOpenProfitLoss":          num(decimal.Zero),
			"previousSessionLongQuantity": num(p.long),
			"currentDayCost":              num(decimal.Zero),
		})
	}
	equity := a.cash.Add(marketValue)
	current := map[string]any{
		"cashBalance":      num(a.cash),
		"liquidationValue": num(equity),
		"longMarketValue":  num(marketValue),
		"equity":           num(equity),
		"buyingPower":      num(a.cash),
		"availableFunds":   num(a.cash),
		"isInCall":         false,
	}
	if a.typ == "CASH" {
		current = map[string]any{
			"cashAvailableForTrading":    num(a.cash),
			"cashAvailableForWithdrawal": num(a.cash),
			"totalCash":                  num(a.cash),
			"unsettledCash":              num(decimal.Zero),
			"liquidationValue":           num(equity),
			"longMarketValue":            num(marketValue),
		}
	}
	sec := map[string]any{
		"type":                    a.typ,
		"accountNumber":           a.number, // a string here, a number inside orders
		"roundTrips":              0,
		"isDayTrader":             false,
		"isClosingOnlyRestricted": false,
		"pfcbFlag":                false,
		"initialBalances":         current,
		"currentBalances":         current,
		"projectedBalances":       map[string]any{"buyingPower": num(a.cash), "isInCall": false},
	}
	if withPositions {
		sec["positions"] = positions
	}
	return map[string]any{
		"securitiesAccount": sec,
		"aggregatedBalance": map[string]any{"currentLiquidationValue": num(equity), "liquidationValue": num(equity)},
	}
}

// QuoteValue is the market the emulator reports for one symbol.
type QuoteValue struct {
	AssetMainType string // "EQUITY" (default), "OPTION", "INDEX", ...
	Bid, Ask      decimal.Decimal
	Last          decimal.Decimal
	Time          time.Time // quote time; zero means the emulator's clock at answer time
	Delayed       bool      // realtime:false, quoteType NFL
}

// SetQuote sets (or replaces) the quote for symbol.
func (s *Server) SetQuote(symbol string, q QuoteValue) {
	defer s.publishQuotes()
	s.mu.Lock()
	defer s.mu.Unlock()
	if q.AssetMainType == "" {
		q.AssetMainType = "EQUITY"
	}
	s.quotes[symbol] = q
}

// QuoteRequestSizes returns the number of symbols in each /quotes request
// received, oldest first.
func (s *Server) QuoteRequestSizes() []int {
	var out []int
	for _, r := range s.Requests() {
		if r.Route == RouteQuotes {
			out = append(out, len(splitSymbols(queryValue(r.Query, "symbols"))))
		}
	}
	return out
}

func queryValue(rawQuery, key string) string {
	v, _ := url.ParseQuery(rawQuery)
	return v.Get(key)
}

func splitSymbols(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

var validQuoteFields = []string{"quote", "fundamental", "extended", "reference", "regular", "all"}

func (s *Server) getQuotes(r *http.Request, _ []byte) response {
	q := r.URL.Query()
	symbols := splitSymbols(q.Get("symbols"))
	if len(symbols) == 0 {
		return gatewayError(http.StatusBadRequest, "400", "Bad Request", "Search combination should have min of 1.",
			map[string]any{"pointer": []string{"/data/attributes/symbols", "/data/attributes/cusips", "/data/attributes/ssids"}})
	}
	for _, f := range splitSymbols(q.Get("fields")) {
		if !slices.Contains(validQuoteFields, f) {
			return gatewayError(http.StatusBadRequest, "400", "Bad Request", "Invalid field: "+f,
				map[string]any{"parameter": "fields"})
		}
	}
	if s.cfg.MaxQuoteSymbols > 0 && len(symbols) > s.cfg.MaxQuoteSymbols {
		return gatewayError(http.StatusBadRequest, "400", "Bad Request", "Too many symbols",
			map[string]any{"parameter": "symbols"})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]any, len(symbols)+1)
	var invalid []string
	for _, sym := range symbols {
		v, ok := s.quotes[sym]
		if !ok {
			invalid = append(invalid, sym)
			continue
		}
		out[sym] = s.quoteJSONLocked(sym, v)
	}
	if len(invalid) > 0 {
		out["errors"] = map[string]any{"invalidSymbols": invalid}
	}
	return jsonResponse(http.StatusOK, out)
}

func (s *Server) quoteJSONLocked(sym string, v QuoteValue) map[string]any {
	at := v.Time
	if at.IsZero() {
		at = s.clock.Now()
	}
	ms := at.UnixMilli()
	quote := map[string]any{
		"lastPrice":      num(v.Last),
		"tradeTime":      ms,
		"closePrice":     num(v.Last),
		"securityStatus": "Normal",
		"totalVolume":    0,
	}
	entry := map[string]any{
		"assetMainType": v.AssetMainType,
		"realtime":      !v.Delayed,
		"ssid":          ssidOf(sym),
		"symbol":        sym,
		"quote":         quote,
		"reference":     map[string]any{"description": sym, "exchange": "Q", "exchangeName": "NASDAQ"},
	}
	if v.AssetMainType == "INDEX" {
		quote["securityStatus"] = "Unknown"
		return entry // an index has no bid, ask, mark or quoteTime
	}
	quote["bidPrice"] = num(v.Bid)
	quote["askPrice"] = num(v.Ask)
	quote["bidTime"] = ms
	quote["askTime"] = ms
	quote["quoteTime"] = ms
	quote["mark"] = num(v.Bid.Add(v.Ask).Div(decimal.NewFromInt(2)))
	quote["bidSize"] = 100
	quote["askSize"] = 100
	if v.AssetMainType == "EQUITY" {
		if v.Delayed {
			entry["quoteType"] = "NFL"
		} else {
			entry["quoteType"] = "NBBO"
		}
	}
	return entry
}

func ssidOf(sym string) int64 {
	var h int64 = 7
	for _, c := range sym {
		h = (h*31 + int64(c)) % 2_000_000_000
	}
	return h
}
