package schwabtest

import (
	"net/http"

	"github.com/shopspring/decimal"
)

// previewOrder answers POST previewOrder as Schwab does (schwab.md §6.9):
// 200 with the order's value and projected commission (equities trade
// commission-free), and in orderValidationResult.rejects what the place
// would refuse (a body the place answers 400, buying power it lacks), with
// orderStrategy.status REJECTED. Nothing is placed or counted as an order.
func (s *Server) previewOrder(r *http.Request, body []byte) response {
	ob, problem := decodeOrderBody(body)
	s.mu.Lock()
	defer s.mu.Unlock()
	a, bad := s.accountFor(r)
	if a == nil {
		return bad
	}
	var rejects []map[string]any
	reject := func(msg string) {
		rejects = append(rejects, map[string]any{"activityMessage": msg, "originalSeverity": "REJECT"})
	}
	value := decimal.Zero
	if problem != "" {
		reject(problem)
	} else if len(ob.OrderLegCollection) > 0 {
		leg := ob.OrderLegCollection[0]
		price := ob.Price.value
		if price.IsZero() {
			price = s.quotes[leg.Instrument.Symbol].Last
		}
		value = leg.Quantity.value.Mul(price)
		if leg.Instruction == "BUY" && value.GreaterThan(a.cash) {
			reject("Your order exceeds your available buying power.")
		}
	}
	status := "ACCEPTED"
	if len(rejects) > 0 {
		status = "REJECTED"
	}
	return jsonResponse(http.StatusOK, map[string]any{
		"orderId": 0,
		"orderStrategy": map[string]any{"accountNumber": a.number, "status": status,
			"orderBalance": map[string]any{"orderValue": num(value), "projectedCommission": 0}},
		"orderValidationResult": map[string]any{"alerts": []any{}, "accepts": []any{},
			"rejects": orEmpty(rejects), "reviews": []any{}, "warns": []any{}},
	})
}

func orEmpty(v []map[string]any) any {
	if v == nil {
		return []any{}
	}
	return v
}
