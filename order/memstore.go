package order

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/arbiontrader/arbion/errors"
)

// MemoryStore is the in-memory [Store], the tracker's default. It keeps every
// order for the life of the process. Every index but the local id's is
// keyed by account.
type MemoryStore struct {
	mu       sync.RWMutex
	seq      int64                          // creation counter, for oldest-first listings
	byLocal  map[string]*entry              // local id → record
	byClient map[scoped]string              // (account, client order id) → local id
	byBroker map[scoped]string              // (account, broker order id) → local id
	bySymbol map[scoped][]string            // (account, symbol) → local ids, oldest first
	open     map[string]map[string]struct{} // account → local ids of non-terminal orders
}

// scoped is a key within one account.
type scoped struct{ account, id string }

type entry struct {
	seq   int64
	order Order
}

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		byLocal:  make(map[string]*entry),
		byClient: make(map[scoped]string),
		byBroker: make(map[scoped]string),
		bySymbol: make(map[scoped][]string),
		open:     make(map[string]map[string]struct{}),
	}
}

// Create implements [Store].
func (s *MemoryStore) Create(ctx context.Context, o Order) (Order, error) {
	if err := ctx.Err(); err != nil {
		return Order{}, err
	}
	if o.LocalID == "" || o.ClientOrderID == "" || o.Version != 0 {
		return Order{}, &errors.OrderError{Op: "store create", LocalID: o.LocalID,
			ClientOrderID: o.ClientOrderID, Kind: errors.ErrInvalidOrder,
			Reason: "a new record needs a local id, a client order id and version 0"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.byLocal[o.LocalID]; dup {
		return Order{}, duplicateError(o, "local id already stored")
	}
	if _, dup := s.byClient[scoped{o.Account, o.ClientOrderID}]; dup {
		return Order{}, duplicateError(o, "client order id already stored for the account")
	}
	if err := s.brokerIDFree(&o); err != nil {
		return Order{}, err
	}
	o = o.Clone()
	o.Version = 1
	s.seq++
	s.byLocal[o.LocalID] = &entry{seq: s.seq, order: o}
	s.byClient[scoped{o.Account, o.ClientOrderID}] = o.LocalID
	sym := scoped{o.Account, o.Instrument.Symbol}
	s.bySymbol[sym] = append(s.bySymbol[sym], o.LocalID)
	s.index(&o)
	return o.Clone(), nil
}

// Update implements [Store].
func (s *MemoryStore) Update(ctx context.Context, o Order) (Order, error) {
	saved := o.Clone()
	if err := s.updateOwned(ctx, &saved); err != nil {
		return Order{}, err
	}
	return saved.Clone(), nil
}

// updateOwned is Update without copies: the store keeps *o's fills (the
// caller must never write into them again) and, on success, *o becomes the
// stored record (its version incremented). For the tracker's own
// read-modify-write.
func (s *MemoryStore) updateOwned(ctx context.Context, o *Order) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byLocal[o.LocalID]
	if !ok {
		return notFound("store update", o.LocalID)
	}
	if e.order.Version != o.Version {
		return &errors.OrderError{Op: "store update", LocalID: o.LocalID,
			ClientOrderID: o.ClientOrderID, OrderID: o.BrokerOrderID, Kind: errors.ErrStaleVersion,
			Reason: "stored version differs from the version read"}
	}
	if o.ClientOrderID != e.order.ClientOrderID {
		return &errors.OrderError{Op: "store update", LocalID: o.LocalID,
			ClientOrderID: o.ClientOrderID, Kind: errors.ErrInvalidOrder,
			Reason: "the client order id of a record cannot change"}
	}
	if o.Instrument.Symbol != e.order.Instrument.Symbol || o.Account != e.order.Account {
		return &errors.OrderError{Op: "store update", LocalID: o.LocalID,
			ClientOrderID: o.ClientOrderID, Kind: errors.ErrInvalidOrder,
			Reason: "the account and symbol of a record cannot change"}
	}
	if o.BrokerOrderID != e.order.BrokerOrderID {
		if e.order.BrokerOrderID != "" {
			return &errors.OrderError{Op: "store update", LocalID: o.LocalID,
				ClientOrderID: o.ClientOrderID, OrderID: o.BrokerOrderID, Kind: errors.ErrInvalidOrder,
				Reason: "the broker order id of a record cannot change once set"}
		}
		if err := s.brokerIDFree(o); err != nil {
			return err
		}
	}
	o.Version++
	// Only the indexes the change affects are touched (the record before it
	// is indexed already).
	reindex := o.BrokerOrderID != e.order.BrokerOrderID || o.Status.Terminal() != e.order.Status.Terminal()
	e.order = *o
	if reindex {
		s.index(&e.order)
	}
	return nil
}

// shared returns o with its fills' capacity clipped, so that an append by
// the reader copies instead of writing into the stored array.
func shared(o Order) Order {
	o.Fills = o.Fills[:len(o.Fills):len(o.Fills)]
	return o
}

// getShared is Get without the copy of the fills, into *dst; the reader
// must not write into them (appending is safe). For the tracker's own reads.
func (s *MemoryStore) getShared(ctx context.Context, localID string, dst *Order) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.byLocal[localID]
	if !ok {
		return notFound("store get", localID)
	}
	*dst = e.order
	dst.Fills = dst.Fills[:len(dst.Fills):len(dst.Fills)] // an append copies
	return nil
}

// brokerIDFree refuses a broker order id that another record of the account
// holds: a broker order belongs to one record only. Called with mu held.
func (s *MemoryStore) brokerIDFree(o *Order) error {
	if o.BrokerOrderID == "" {
		return nil
	}
	if holder, taken := s.byBroker[scoped{o.Account, o.BrokerOrderID}]; taken && holder != o.LocalID {
		return &errors.OrderError{Op: "store save", LocalID: o.LocalID, ClientOrderID: o.ClientOrderID,
			OrderID: o.BrokerOrderID, Symbol: o.Instrument.Symbol, Kind: errors.ErrDuplicateOrder,
			Reason: "broker order id already held by record " + holder}
	}
	return nil
}

// localIDByBrokerOrderID returns the local id of the account's order with
// that broker order id, without copying the record.
func (s *MemoryStore) localIDByBrokerOrderID(ctx context.Context, account, id string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	local, ok := s.byBroker[scoped{account, id}]
	if !ok {
		return "", &errors.OrderError{Op: "store lookup", Kind: errors.ErrOrderNotFound,
			Reason: "no order with broker order id " + id}
	}
	return local, nil
}

// index keeps the broker id and open-order indexes current. Called with mu held.
func (s *MemoryStore) index(o *Order) {
	if o.BrokerOrderID != "" {
		s.byBroker[scoped{o.Account, o.BrokerOrderID}] = o.LocalID
	}
	open := s.open[o.Account]
	if o.Status.Terminal() {
		delete(open, o.LocalID)
		return
	}
	if open == nil {
		open = make(map[string]struct{})
		s.open[o.Account] = open
	}
	open[o.LocalID] = struct{}{}
}

// Get implements [Store].
func (s *MemoryStore) Get(ctx context.Context, localID string) (Order, error) {
	if err := ctx.Err(); err != nil {
		return Order{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.byLocal[localID]
	if !ok {
		return Order{}, notFound("store get", localID)
	}
	return e.order.Clone(), nil
}

// ByClientOrderID implements [Store].
func (s *MemoryStore) ByClientOrderID(ctx context.Context, account, id string) (Order, error) {
	return s.lookup(ctx, s.byClient, scoped{account, id}, "client order id")
}

// ByBrokerOrderID implements [Store].
func (s *MemoryStore) ByBrokerOrderID(ctx context.Context, account, id string) (Order, error) {
	return s.lookup(ctx, s.byBroker, scoped{account, id}, "broker order id")
}

func (s *MemoryStore) lookup(ctx context.Context, index map[scoped]string, key scoped, what string) (Order, error) {
	if err := ctx.Err(); err != nil {
		return Order{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	local, ok := index[key]
	id := key.id
	if !ok {
		return Order{}, &errors.OrderError{Op: "store lookup", Kind: errors.ErrOrderNotFound,
			Reason: "no order with " + what + " " + id}
	}
	return s.byLocal[local].order.Clone(), nil
}

// BySymbol implements [Store].
func (s *MemoryStore) BySymbol(ctx context.Context, account, symbol string) ([]Order, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := s.bySymbol[scoped{account, symbol}]
	out := make([]Order, 0, len(ids))
	for _, id := range ids {
		out = append(out, s.byLocal[id].order.Clone())
	}
	return out, nil
}

// Open implements [Store].
func (s *MemoryStore) Open(ctx context.Context, account string) ([]Order, error) {
	out, err := s.openShared(ctx, account)
	for i := range out {
		out[i] = out[i].Clone()
	}
	return out, err
}

// openShared is Open without the copies of the fills; the reader must not
// write into them.
func (s *MemoryStore) openShared(ctx context.Context, account string) ([]Order, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	open := s.open[account]
	entries := make([]*entry, 0, len(open))
	for id := range open {
		entries = append(entries, s.byLocal[id])
	}
	slices.SortFunc(entries, func(a, b *entry) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]Order, len(entries))
	for i, e := range entries {
		out[i] = shared(e.order)
	}
	return out, nil
}

func duplicateError(o Order, reason string) error {
	return &errors.OrderError{Op: "store create", LocalID: o.LocalID, ClientOrderID: o.ClientOrderID,
		Symbol: o.Instrument.Symbol, Kind: errors.ErrDuplicateOrder, Reason: reason}
}

func notFound(op, localID string) error {
	return &errors.OrderError{Op: op, LocalID: localID, Kind: errors.ErrOrderNotFound}
}
