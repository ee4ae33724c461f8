package order

import (
	"github.com/arbiontrader/arbion/broker"
	"github.com/shopspring/decimal"
)

// matchOther returns the index of a recorded confirmed fill that is the
// same execution as f under another id: equal quantity and price, times
// within SameExecutionWindow. skip excludes candidates (those already
// matched, or seen by f's own source). -1 when none.
func (a *applier) matchOther(f broker.Fill, skip func(i int) bool) int {
	for i, r := range a.o.Fills {
		if IsProvisional(r) || skip(i) || !r.Quantity.Equal(f.Quantity) || !r.Price.Equal(f.Price) {
			continue
		}
		if d := r.Time.Sub(f.Time); d <= SameExecutionWindow && d >= -SameExecutionWindow {
			return i
		}
	}
	return -1
}

func (a *applier) hasProvisional() bool {
	for i := range a.o.Fills {
		if IsProvisional(a.o.Fills[i]) {
			return true
		}
	}
	return false
}

// dropProvisional removes the provisional fills and recomputes the sums
// from the confirmed ones. The removed fills go with the next update. The
// record's fills are copied, never written into: the memory store shares
// them.
func (a *applier) dropProvisional() {
	if !a.hasProvisional() {
		return
	}
	kept := make([]broker.Fill, 0, len(a.o.Fills))
	filled, notional, fees := decimal.Zero, decimal.Zero, decimal.Zero
	for _, f := range a.o.Fills {
		if IsProvisional(f) {
			a.superseded = append(a.superseded, f)
			continue
		}
		kept = append(kept, f)
		filled = filled.Add(f.Quantity)
		notional = notional.Add(f.Quantity.Mul(f.Price))
		fees = fees.Add(f.Fee)
	}
	a.o.Fills, a.o.FilledQuantity, a.o.Notional, a.o.Fees = kept, filled, notional, fees
	switch len(kept) {
	case 0:
		a.o.AvgFillPrice = decimal.Zero
	case 1:
		a.o.AvgFillPrice = kept[0].Price
	default:
		a.o.AvgFillPrice = notional.DivRound(filled, AvgPricePlaces)
	}
	a.touch()
}

// streamFill applies one execution pushed by a stream, whose order had
// filled cum in total after it (zero when the stream does not say). The
// same execution may already be counted by REST under another id: it is
// when a recorded fill matches it (quantity, price, time) and the record
// has reached cum, or, failing a match, when the record has reached cum
// (the cumulative guard). Provisional fills that counted it are replaced
// by it. hole reports that the record is still short of cum after it:
// executions before it were missed (lost or reordered) and the order must
// be read by REST.
func (a *applier) streamFill(f broker.Fill, cum decimal.Decimal, brokerID string) (hole bool, err error) {
	if f.ExecID != "" && a.hasFill(f.ExecID) {
		return false, nil
	}
	counted := cum.IsPositive() && a.o.FilledQuantity.GreaterThanOrEqual(cum)
	if f.ExecID != "" && f.Quantity.IsPositive() {
		same := a.matchOther(f, func(int) bool { return false }) >= 0
		switch {
		case same && (counted || cum.IsZero()), counted && !a.hasProvisional():
			a.adopt(brokerID, "")
			return false, nil
		case counted:
			return false, a.confirmProvisional(f, brokerID)
		}
	}
	if err := a.fill(f, brokerID); err != nil {
		return false, err
	}
	return cum.IsPositive() && a.o.FilledQuantity.LessThan(cum), nil
}

// confirmProvisional replaces the provisional fills by the confirmed
// execution f; what they counted beyond f stays counted, provisionally.
func (a *applier) confirmProvisional(f broker.Fill, brokerID string) error {
	before := broker.Order{OrderID: a.o.BrokerOrderID, FilledQuantity: a.o.FilledQuantity,
		Fees: a.o.Fees, AvgFillPrice: a.o.AvgFillPrice, UpdatedAt: a.now}
	a.dropProvisional()
	if err := a.fill(f, brokerID); err != nil {
		return err
	}
	if rest := before.FilledQuantity.Sub(a.o.FilledQuantity); rest.IsPositive() {
		return a.fill(a.syntheticFill(before, rest), "")
	}
	return nil
}
