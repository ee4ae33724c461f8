package order

import (
	"context"
)

// Store persists order records with optimistic concurrency. It is small on
// purpose: the tracker needs nothing else. Implementations are safe for
// concurrent use and hand out copies (a caller changing a returned Order
// changes nothing stored). Every error matches an errors kind; the contract
// is checked by ordertest.StoreContract.
type Store interface {
	// Create inserts a new order (o.Version must be 0; it is stored as 1) and
	// returns the stored record. A duplicate local id or client order id is
	// refused with an error matching errors.ErrDuplicateOrder.
	Create(ctx context.Context, o Order) (Order, error)
	// Update saves o if the stored version equals o.Version, storing and
	// returning it with Version o.Version+1. Otherwise it returns an
	// *errors.OrderError matching errors.ErrStaleVersion (or
	// errors.ErrOrderNotFound when there is no such order), and stores
	// nothing.
	Update(ctx context.Context, o Order) (Order, error)
	// Get returns the order with that local id, or errors.ErrOrderNotFound.
	Get(ctx context.Context, localID string) (Order, error)
	// ByClientOrderID returns the order with that client order id, or
	// errors.ErrOrderNotFound.
	ByClientOrderID(ctx context.Context, id string) (Order, error)
	// ByBrokerOrderID returns the order with that broker order id, or
	// errors.ErrOrderNotFound. The tracker gives a broker id to one record
	// only; should several share one, the earliest created is returned.
	ByBrokerOrderID(ctx context.Context, id string) (Order, error)
	// BySymbol returns every order for the symbol, oldest first.
	BySymbol(ctx context.Context, symbol string) ([]Order, error)
	// Open returns every non-terminal order, oldest first, in one query.
	Open(ctx context.Context) ([]Order, error)
}
