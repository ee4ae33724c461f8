package main

import "github.com/shopspring/decimal"

// signalKind is what the strategy wants after a price.
type signalKind int

const (
	hold   signalKind = iota
	goLong            // the fast average crossed above the slow one
	goFlat            // the fast average crossed below the slow one
)

func (s signalKind) String() string {
	return [...]string{"hold", "go long", "go flat"}[s]
}

// crossover is a moving-average crossover over the last slow prices.
type crossover struct {
	fast, slow int
	prices     []decimal.Decimal // the last slow prices, oldest first
	wasAbove   *bool             // fast above slow at the previous price; nil until both averages exist
}

func newCrossover(fast, slow int) *crossover {
	return &crossover{fast: fast, slow: slow, prices: make([]decimal.Decimal, 0, slow)}
}

// next takes a price and returns the signalKind: goLong or goFlat on the price
// where the averages cross, hold otherwise.
func (c *crossover) next(p decimal.Decimal) signalKind {
	if len(c.prices) == c.slow {
		c.prices = append(c.prices[:0], c.prices[1:]...)
	}
	c.prices = append(c.prices, p)
	if len(c.prices) < c.slow {
		return hold
	}
	above := mean(c.prices[c.slow-c.fast:]).GreaterThan(mean(c.prices))
	was := c.wasAbove
	c.wasAbove = &above
	switch {
	case was == nil || *was == above:
		return hold
	case above:
		return goLong
	default:
		return goFlat
	}
}

// mean is the arithmetic mean of ps (which is not empty).
func mean(ps []decimal.Decimal) decimal.Decimal {
	sum := decimal.Zero
	for _, p := range ps {
		sum = sum.Add(p)
	}
	return sum.DivRound(decimal.NewFromInt(int64(len(ps))), 8)
}
