package etradetest

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/shopspring/decimal"
)

// Quote is the market the emulator reports for one symbol.
type Quote struct {
	Bid, Ask, Last decimal.Decimal
	BidSize        int64
	AskSize        int64
	Description    string
}

func defaultQuotes() map[string]Quote {
	d := decimal.RequireFromString
	q := func(bid, ask, last, desc string) Quote {
		return Quote{Bid: d(bid), Ask: d(ask), Last: d(last), BidSize: 700, AskSize: 600, Description: desc}
	}
	return map[string]Quote{
		"AAPL": q("132.29", "132.31", "132.3047", "APPLE INC COM"),
		"MSFT": q("222.40", "222.45", "222.42", "MICROSOFT CORP COM"),
		"SPY":  q("368.10", "368.12", "368.11", "SPDR S&P 500 ETF TRUST"),
		"PLTR": q("20.98", "21.00", "20.99", "PALANTIR TECHNOLOGIES INC CL A"),
		"COCP": q("1.3980", "1.3990", "1.3984", "COCRYSTAL PHARMA INC COM"),
	}
}

// SetQuote sets (or adds) the market for symbol.
func (s *Server) SetQuote(symbol string, q Quote) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.quotes[symbol] = q
}

type position struct {
	id       int64
	symbol   string
	quantity decimal.Decimal
	cost     decimal.Decimal // total cost
	acquired int64           // ms
}

func (s *Server) listAccounts(*http.Request) result {
	return ok(map[string]any{"AccountListResponse": map[string]any{"Accounts": map[string]any{"Account": []any{
		map[string]any{
			"accountId": s.cfg.AccountID, "accountIdKey": s.cfg.AccountIDKey, "accountMode": "CASH",
			"accountDesc": "Individual Brokerage", "accountName": "", "accountType": "INDIVIDUAL",
			"institutionType": "BROKERAGE", "accountStatus": "ACTIVE", "closedDate": 0,
		},
		map[string]any{
			"accountId": "11112222", "accountIdKey": ClosedAccountIDKey, "accountMode": "CASH",
			"accountDesc": "Retirement IRA", "accountName": "Retirement IRA", "accountType": "IRA_ROLLOVER",
			"institutionType": "BROKERAGE", "accountStatus": "CLOSED", "closedDate": 1400756700,
		},
	}}}})
}

// marketValue is the positions' value at the last prices. Caller holds s.mu.
func (s *Server) marketValue() decimal.Decimal {
	total := decimal.Zero
	for _, p := range s.state.positions {
		total = total.Add(p.quantity.Mul(s.state.quotes[p.symbol].Last))
	}
	return total
}

func (s *Server) balance(r *http.Request) result {
	if e := s.accountOK(r); e != nil {
		return result{err: e}
	}
	if r.URL.Query().Get("instType") == "" {
		return fail(http.StatusBadRequest, 7002, "Invalid institution type")
	}
	cash, mv := s.state.cash, s.marketValue()
	return ok(map[string]any{"BalanceResponse": map[string]any{
		"accountId": s.cfg.AccountID, "accountType": "INDIVIDUAL", "optionLevel": "LEVEL_2",
		"accountDescription": "INDIVIDUAL BROKERAGE", "quoteMode": 0, "dayTraderStatus": "NO_PDT",
		"accountMode": "CASH",
		"Cash":        map[string]any{"fundsForOpenOrdersCash": 0, "moneyMktBalance": 0},
		"Computed": map[string]any{
			"cashAvailableForInvestment": num(cash), "cashAvailableForWithdrawal": num(cash),
			"totalAvailableForWithdrawal": num(cash), "netCash": num(cash), "cashBalance": num(cash),
			"cashBuyingPower": num(cash), "marginBuyingPower": 0, "dtCashBuyingPower": 0, "dtMarginBuyingPower": 0,
			"accountBalance": num(cash), "regtEquity": num(cash.Add(mv)),
			"OpenCalls": map[string]any{"minEquityCall": 0, "fedCall": 0, "cashCall": 0, "houseCall": 0},
			"RealTimeValues": map[string]any{
				"totalAccountValue": num(cash.Add(mv)), "netMv": num(mv), "netMvLong": num(mv), "netMvShort": 0,
			},
		},
	}})
}

func (s *Server) portfolio(r *http.Request) result {
	if e := s.accountOK(r); e != nil {
		return result{err: e}
	}
	symbols := make([]string, 0, len(s.state.positions))
	for sym, p := range s.state.positions {
		if !p.quantity.IsZero() {
			symbols = append(symbols, sym)
		}
	}
	if len(symbols) == 0 {
		return noContent() // assumed: like the lists, nothing to show is 204
	}
	sort.Strings(symbols)
	positions := make([]any, 0, len(symbols))
	for _, sym := range symbols {
		p, q := s.state.positions[sym], s.state.quotes[sym]
		mv := p.quantity.Mul(q.Last)
		side := "LONG"
		if p.quantity.IsNegative() {
			side = "SHORT"
		}
		perShare := p.cost.DivRound(p.quantity, 4)
		positions = append(positions, map[string]any{
			"positionId": p.id, "symbolDescription": sym, "dateAcquired": p.acquired,
			"pricePaid": num(perShare), "commissions": 0, "otherFees": 0, "quantity": num(p.quantity),
			"positionIndicator": "TYPE2", "positionType": side, "daysGain": 0, "daysGainPct": 0,
			"marketValue": num(mv), "totalCost": num(p.cost), "totalGain": num(mv.Sub(p.cost)), "totalGainPct": 0,
			"pctOfPortfolio": 0, "costPerShare": num(perShare), "todayCommissions": 0, "todayFees": 0,
			"todayPricePaid": 0, "todayQuantity": 0, "adjPrevClose": num(q.Last),
			"lotsDetails":  fmt.Sprintf("%s/v1/accounts/%s/portfolio/%d.json", s.URL(), s.cfg.AccountIDKey, p.id),
			"quoteDetails": fmt.Sprintf("%s/v1/market/quote/%s.json", s.URL(), sym),
			"Product": map[string]any{"symbol": sym, "securityType": "EQ", "expiryYear": 0, "expiryMonth": 0,
				"expiryDay": 0, "strikePrice": 0},
			"Quick": map[string]any{"lastTrade": num(q.Last), "lastTradeTime": s.now().Unix(), "change": 0,
				"changePct": 0, "volume": 1000, "quoteStatus": "REALTIME"},
		})
	}
	return ok(map[string]any{"PortfolioResponse": map[string]any{"AccountPortfolio": []any{
		map[string]any{"accountId": s.cfg.AccountID, "totalPages": 1, "pageNumber": 1, "Position": positions},
	}}})
}

func (s *Server) quote(r *http.Request) result {
	symbols := strings.Split(trimJSON(r.PathValue("symbols")), ",")
	limit := 25
	if r.URL.Query().Get("overrideSymbolCount") == "true" {
		limit = 50
	}
	if len(symbols) > limit {
		return fail(http.StatusBadRequest, 1019, fmt.Sprintf("Number of symbols exceeds the limit of %d", limit))
	}
	now := s.now()
	var data, messages []any
	for _, sym := range symbols {
		q, known := s.state.quotes[sym]
		if !known {
			messages = append(messages, map[string]any{
				"description": sym + " is not a valid symbol", "code": 10033, "type": "WARNING"})
			continue
		}
		display := now.In(s.loc).Format("15:04:05 MST 01-02-2006")
		data = append(data, map[string]any{
			"dateTime": display, "dateTimeUTC": now.Unix(), "quoteStatus": "REALTIME", "ahFlag": "false",
			"hasMiniOptions": false,
			"All": map[string]any{
				"adjustedFlag": false, "ask": num(q.Ask), "askSize": q.AskSize, "askTime": display,
				"bid": num(q.Bid), "bidExchange": " ", "bidSize": q.BidSize, "bidTime": display,
				"companyName": q.Description, "dirLast": "1", "lastTrade": num(q.Last),
				"previousClose": num(q.Last), "primaryExchange": "NSDQ", "symbolDescription": q.Description,
				"totalVolume": 1000, "nextEarningDate": "", "timeOfLastTrade": now.Unix(),
			},
			"Product": map[string]any{"symbol": sym, "securityType": "EQ"},
		})
	}
	resp := map[string]any{}
	if data != nil {
		resp["QuoteData"] = data
	}
	if messages != nil {
		resp["Messages"] = map[string]any{"Message": messages}
	}
	return ok(map[string]any{"QuoteResponse": resp})
}
