package main

import (
	"math/rand/v2"

	"github.com/shopspring/decimal"
)

// walk is a seeded random walk of prices in cents: each step moves the price
// by a whole number of cents drawn uniformly from [-maxStep, +maxStep], never
// below floor. No float touches a price.
type walk struct {
	rng     *rand.Rand
	price   decimal.Decimal
	maxStep int64 // cents
	floor   decimal.Decimal
}

func newWalk(seed uint64, start decimal.Decimal, maxStepCents int64) *walk {
	return &walk{
		rng:     rand.New(rand.NewPCG(seed, 0x5eed)),
		price:   start.Round(2),
		maxStep: maxStepCents,
		floor:   decimal.New(1, 0),
	}
}

// next moves the walk one step and returns the new price.
func (w *walk) next() decimal.Decimal {
	cents := w.rng.Int64N(2*w.maxStep+1) - w.maxStep
	w.price = decimal.Max(w.price.Add(decimal.New(cents, -2)), w.floor)
	return w.price
}
