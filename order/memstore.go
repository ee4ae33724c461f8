package order

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/arbiontrader/arbion/errors"
)

// MemoryStore is the in-memory [Store], the tracker's default. It keeps every
// order for the life of the process.
type MemoryStore struct {
	mu       sync.RWMutex
	seq      int64             // creation counter, for oldest-first listings
	byLocal  map[string]*entry // local id → record
	byClient map[string]string // client order id → local id
	byBroker map[string]string // broker order id → local id (first created)
	bySymbol map[string][]string
	open     map[string]struct{} // local ids of non-terminal orders
}

type entry struct {
	seq   int64
	order Order
}

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		byLocal:  make(map[string]*entry),
		byClient: make(map[string]string),
		byBroker: make(map[string]string),
		bySymbol: make(map[string][]string),
		open:     make(map[string]struct{}),
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
	if _, dup := s.byClient[o.ClientOrderID]; dup {
		return Order{}, duplicateError(o, "client order id already stored")
	}
	o = o.Clone()
	o.Version = 1
	s.seq++
	s.byLocal[o.LocalID] = &entry{seq: s.seq, order: o}
	s.byClient[o.ClientOrderID] = o.LocalID
	s.bySymbol[o.Instrument.Symbol] = append(s.bySymbol[o.Instrument.Symbol], o.LocalID)
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
	if o.Instrument.Symbol != e.order.Instrument.Symbol {
		return &errors.OrderError{Op: "store update", LocalID: o.LocalID,
			ClientOrderID: o.ClientOrderID, Kind: errors.ErrInvalidOrder,
			Reason: "the symbol of a record cannot change"}
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

// localIDByBrokerOrderID returns the local id of the order with that broker
// order id, without copying the record.
func (s *MemoryStore) localIDByBrokerOrderID(ctx context.Context, id string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	local, ok := s.byBroker[id]
	if !ok {
		return "", &errors.OrderError{Op: "store lookup", Kind: errors.ErrOrderNotFound,
			Reason: "no order with broker order id " + id}
	}
	return local, nil
}

// index keeps the broker id and open-order indexes current. Called with mu held.
func (s *MemoryStore) index(o *Order) {
	if o.BrokerOrderID != "" {
		if _, taken := s.byBroker[o.BrokerOrderID]; !taken {
			s.byBroker[o.BrokerOrderID] = o.LocalID
		}
	}
	if o.Status.Terminal() {
		delete(s.open, o.LocalID)
	} else {
		s.open[o.LocalID] = struct{}{}
	}
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
func (s *MemoryStore) ByClientOrderID(ctx context.Context, id string) (Order, error) {
	return s.lookup(ctx, s.byClient, id, "client order id")
}

// ByBrokerOrderID implements [Store].
func (s *MemoryStore) ByBrokerOrderID(ctx context.Context, id string) (Order, error) {
	return s.lookup(ctx, s.byBroker, id, "broker order id")
}

func (s *MemoryStore) lookup(ctx context.Context, index map[string]string, id, what string) (Order, error) {
	if err := ctx.Err(); err != nil {
		return Order{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	local, ok := index[id]
	if !ok {
		return Order{}, &errors.OrderError{Op: "store lookup", Kind: errors.ErrOrderNotFound,
			Reason: "no order with " + what + " " + id}
	}
	return s.byLocal[local].order.Clone(), nil
}

// BySymbol implements [Store].
func (s *MemoryStore) BySymbol(ctx context.Context, symbol string) ([]Order, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := s.bySymbol[symbol]
	out := make([]Order, 0, len(ids))
	for _, id := range ids {
		out = append(out, s.byLocal[id].order.Clone())
	}
	return out, nil
}

// Open implements [Store].
func (s *MemoryStore) Open(ctx context.Context) ([]Order, error) {
	out, err := s.openShared(ctx)
	for i := range out {
		out[i] = out[i].Clone()
	}
	return out, err
}

// openShared is Open without the copies of the fills; the reader must not
// write into them.
func (s *MemoryStore) openShared(ctx context.Context) ([]Order, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	entries := make([]*entry, 0, len(s.open))
	for id := range s.open {
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
