package etradetest

import (
	"fmt"

	"github.com/shopspring/decimal"
)

// junkExecutedTime is the kind of meaningless executedTime live E*TRADE
// shows on unfilled cancelled orders.
const junkExecutedTime = 2023137072

// SetPartialStatus sets the status a partially filled working order shows:
// INDIVIDUAL_FILLS (the default) or PARTIAL.
func (s *Server) SetPartialStatus(status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partialStatus = status
}

// Fill executes qty of order id at price, as the market would: the order
// becomes partially filled (INDIVIDUAL_FILLS) or EXECUTED, the position and
// cash move. A cancel-requested order can still fill.
func (s *Server) Fill(id int64, qty, price decimal.Decimal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.state.orders[id]
	switch {
	case o == nil:
		return fmt.Errorf("etradetest: no order %d", id)
	case !o.working() && o.status != "CANCEL_REQUESTED":
		return fmt.Errorf("etradetest: order %d is %s", id, o.status)
	case !qty.IsPositive() || !price.IsPositive():
		return fmt.Errorf("etradetest: fill %s @ %s must be positive", qty, price)
	}
	l := o.spec.legs[0]
	if o.filled().Add(qty).GreaterThan(l.quantity) {
		return fmt.Errorf("etradetest: fill of %s overfills order %d (%s of %s filled)", qty, id, o.filled(), l.quantity)
	}
	o.fills = append(o.fills, fill{qty: qty, price: price})
	o.lastExecutionMs = s.now().UnixMilli()
	switch {
	case o.filled().Equal(l.quantity):
		o.status = "EXECUTED"
	case o.status != "CANCEL_REQUESTED":
		o.status = s.partial()
	}
	s.applyToPosition(l, qty, price)
	return nil
}

func (s *Server) partial() string {
	if s.partialStatus == "" {
		return "INDIVIDUAL_FILLS"
	}
	return s.partialStatus
}

func (s *Server) applyToPosition(l leg, qty, price decimal.Decimal) {
	p := s.state.positions[l.symbol]
	if p == nil {
		p = &position{id: s.state.positionSeq, symbol: l.symbol, acquired: s.now().UnixMilli()}
		s.state.positionSeq++
		s.state.positions[l.symbol] = p
	}
	notional := qty.Mul(price)
	if l.action == "BUY" || l.action == "BUY_TO_COVER" {
		p.quantity = p.quantity.Add(qty)
		p.cost = p.cost.Add(notional)
		s.state.cash = s.state.cash.Sub(notional)
		return
	}
	if p.quantity.IsPositive() {
		p.cost = p.cost.Sub(p.cost.Div(p.quantity).Mul(qty))
	} else {
		p.cost = p.cost.Sub(notional)
	}
	p.quantity = p.quantity.Sub(qty)
	s.state.cash = s.state.cash.Add(notional)
}

// Reject makes a working, unfilled order REJECTED.
func (s *Server) Reject(id int64) error { return s.close(id, "REJECTED", true) }

// Expire makes a working order EXPIRED (it keeps its fills).
func (s *Server) Expire(id int64) error { return s.close(id, "EXPIRED", false) }

// CancelBehindBack cancels a working order without the client asking (the
// user did it on the website); it keeps its fills, and an unfilled one gets
// a junk executedTime as live orders do.
func (s *Server) CancelBehindBack(id int64) error { return s.close(id, "CANCELLED", false) }

func (s *Server) close(id int64, status string, mustBeUnfilled bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.state.orders[id]
	switch {
	case o == nil:
		return fmt.Errorf("etradetest: no order %d", id)
	case !o.working() && o.status != "CANCEL_REQUESTED":
		return fmt.Errorf("etradetest: order %d is %s", id, o.status)
	case mustBeUnfilled && o.filled().IsPositive():
		return fmt.Errorf("etradetest: order %d has fills", id)
	}
	o.status = status
	if status == "CANCELLED" && o.filled().IsZero() {
		o.junkExecutedMs = junkExecutedTime
	}
	return nil
}

// ForceStatus sets an order's raw status to any string, for tests of a
// client's handling of statuses it does not know (INVALID, a new value).
func (s *Server) ForceStatus(id int64, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.state.orders[id]
	if o == nil {
		return fmt.Errorf("etradetest: no order %d", id)
	}
	o.status = status
	return nil
}
