package stoploss

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/shopspring/decimal"
)

// Mode is how a position is protected.
type Mode uint8

// Protection modes.
const (
	// ModeAuto chooses from the broker's capabilities: a native stop where
	// the broker has GTC stop orders, a native stop-limit where it has only
	// stop-limit orders, synthetic otherwise. It is only a configuration
	// value; a record carries the mode chosen.
	ModeAuto Mode = iota
	// ModeNativeStop rests a GTC stop (stop-market) order at the broker.
	ModeNativeStop
	// ModeNativeStopLimit rests a GTC stop-limit order at the broker.
	ModeNativeStopLimit
	// ModeSynthetic watches quotes and closes with a market order.
	ModeSynthetic
)

// String returns "auto", "native_stop", "native_stop_limit" or "synthetic".
func (m Mode) String() string {
	switch m {
	case ModeAuto:
		return "auto"
	case ModeNativeStop:
		return "native_stop"
	case ModeNativeStopLimit:
		return "native_stop_limit"
	case ModeSynthetic:
		return "synthetic"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// native reports whether the mode rests an order at the broker.
func (m Mode) native() bool { return m == ModeNativeStop || m == ModeNativeStopLimit }

// Protection is the supervisor's record of one protected position: what it
// protects and how. It is a value: stores hand out copies.
type Protection struct {
	Account    string            // Config.Account of the supervisor that protects it
	Symbol     string            // the position's symbol
	AssetClass broker.AssetClass // the position's asset class
	// Quantity is the signed position (negative for a short) as the broker
	// last reported it.
	Quantity decimal.Decimal
	// EntryPrice is the position's average cost.
	EntryPrice decimal.Decimal
	// Epoch identifies this position's life, from the moment it opened until
	// it is flat again; protective order ids are derived from it.
	Epoch string
	// Mode is how the stop is kept: resting at the broker or watched here.
	Mode Mode

	StopPrice       decimal.Decimal // the current stop level
	TakeProfitPrice decimal.Decimal // zero when none
	// BestPrice is the best price seen since entry (highest for a long,
	// lowest for a short): the trailing stop's anchor.
	BestPrice decimal.Decimal

	// StopOrderID is the order tracker's local id of the protective order
	// resting at the broker; empty when none is (synthetic mode, or the stop
	// must be placed again).
	StopOrderID string
	// StopClientOrderID is the client order id of the latest protective
	// order, derived from Epoch and StopSeq.
	StopClientOrderID string
	// StopSeq counts the protective orders sent in this epoch. It is saved
	// before each order is sent, so that a restart reuses the same id.
	StopSeq int
	// StopQuantity and StopOrderPrice are what the resting order was sent
	// with (its size and trigger), to tell when it must be resized.
	StopQuantity   decimal.Decimal
	StopOrderPrice decimal.Decimal

	// CloseClientOrderID is the id of the closing market order once one was
	// decided (saved before it is sent); CloseAttempt numbers it, and
	// CloseReason says why ("stop breach", "take profit").
	CloseClientOrderID string
	CloseAttempt       int
	CloseReason        string

	// UpdatedAt is when the record last changed, on the supervisor's clock.
	UpdatedAt time.Time
	// Version is the optimistic concurrency counter: 0 for a record not yet
	// stored, 1 after its first Save, +1 per Save.
	Version int64
}

// Long reports whether the position is long.
func (p Protection) Long() bool { return p.Quantity.IsPositive() }

// Store persists protection records with optimistic concurrency. It is
// small on purpose so that a SQL implementation is easy; the contract is
// checked by stoplosstest.StoreContract. Implementations are safe for
// concurrent use and hand out copies.
type Store interface {
	// Get returns the record for the account's symbol; found is false when
	// there is none.
	Get(ctx context.Context, account, symbol string) (p Protection, found bool, err error)
	// List returns every record of the account, ordered by symbol.
	List(ctx context.Context, account string) ([]Protection, error)
	// Save stores p if the stored version equals p.Version (0: no record
	// yet) and returns it with Version p.Version+1. Otherwise it stores
	// nothing and returns an error matching errors.ErrStaleVersion.
	Save(ctx context.Context, p Protection) (Protection, error)
	// Delete removes the record if its stored version equals version; a
	// different version matches errors.ErrStaleVersion; no record is not an
	// error.
	Delete(ctx context.Context, account, symbol string, version int64) error
}

// MemoryStore is the in-memory [Store], the default.
type MemoryStore struct {
	mu      sync.Mutex
	records map[storeKey]Protection
	// sorted caches each account's records in List's order, so that a
	// sweep of an unchanged book copies one slice instead of walking the
	// map and sorting again. Save and Delete drop the account's entry.
	sorted map[string][]Protection
}

type storeKey struct{ account, symbol string }

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{records: make(map[storeKey]Protection), sorted: make(map[string][]Protection)}
}

// Get implements [Store].
func (s *MemoryStore) Get(ctx context.Context, account, symbol string) (Protection, bool, error) {
	if err := ctx.Err(); err != nil {
		return Protection{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.records[storeKey{account, symbol}]
	return p, ok, nil
}

// List implements [Store].
func (s *MemoryStore) List(ctx context.Context, account string) ([]Protection, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	list, ok := s.sorted[account]
	if !ok {
		for k, p := range s.records {
			if k.account == account {
				list = append(list, p)
			}
		}
		slices.SortFunc(list, func(a, b Protection) int { return cmp.Compare(a.Symbol, b.Symbol) })
		s.sorted[account] = list
	}
	return slices.Clone(list), nil
}

// Save implements [Store].
func (s *MemoryStore) Save(ctx context.Context, p Protection) (Protection, error) {
	if err := ctx.Err(); err != nil {
		return Protection{}, err
	}
	if p.Account == "" || p.Symbol == "" {
		return Protection{}, &errors.StopLossError{Account: p.Account, Symbol: p.Symbol,
			Kind: errors.ErrConfiguration, Reason: "store: record needs an account and a symbol"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := storeKey{p.Account, p.Symbol}
	if cur := s.records[k]; cur.Version != p.Version {
		return Protection{}, staleVersion(p.Account, p.Symbol, p.Version, cur.Version)
	}
	p.Version++
	s.records[k] = p
	delete(s.sorted, p.Account)
	return p, nil
}

// Delete implements [Store].
func (s *MemoryStore) Delete(ctx context.Context, account, symbol string, version int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := storeKey{account, symbol}
	cur, ok := s.records[k]
	if !ok {
		return nil
	}
	if cur.Version != version {
		return staleVersion(account, symbol, version, cur.Version)
	}
	delete(s.records, k)
	delete(s.sorted, account)
	return nil
}

func staleVersion(account, symbol string, have, stored int64) error {
	return &errors.StopLossError{Account: account, Symbol: symbol, Kind: errors.ErrStaleVersion,
		Reason: fmt.Sprintf("store: version %d, stored %d", have, stored)}
}
