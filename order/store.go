package order

import (
	"context"
)

// Store persists order records with optimistic concurrency. It is small on
// purpose: the tracker needs nothing else. Implementations are safe for
// concurrent use and hand out copies (a caller changing a returned Order
// changes nothing stored). Every error matches an errors kind; the contract
// is checked by ordertest.StoreContract.
//
// Records are scoped by [Order.Account]: every lookup but Get names the
// account, and every unique key holds within an account (several accounts,
// at several brokers, may share one store; E*TRADE order ids, for one, are
// small integers that repeat across accounts). The empty string is an
// account like any other.
type Store interface {
	// Create inserts a new order (o.Version must be 0; it is stored as 1) and
	// returns the stored record. A duplicate local id, or a client order id
	// or broker order id the account already holds, is refused with an
	// error matching errors.ErrDuplicateOrder.
	Create(ctx context.Context, o Order) (Order, error)
	// Update saves o if the stored version equals o.Version, storing and
	// returning it with Version o.Version+1. Otherwise it returns an
	// *errors.OrderError matching errors.ErrStaleVersion (or
	// errors.ErrOrderNotFound when there is no such order), and stores
	// nothing. A broker order id is given to one record of the account
	// only: setting one that another record holds is refused with
	// errors.ErrDuplicateOrder, and a record's account, symbol, client
	// order id and (once set) broker order id never change
	// (errors.ErrInvalidOrder).
	Update(ctx context.Context, o Order) (Order, error)
	// Get returns the order with that local id, or errors.ErrOrderNotFound.
	// Local ids are unique across accounts.
	Get(ctx context.Context, localID string) (Order, error)
	// ByClientOrderID returns the account's order with that client order
	// id, or errors.ErrOrderNotFound.
	ByClientOrderID(ctx context.Context, account, id string) (Order, error)
	// ByBrokerOrderID returns the account's order with that broker order
	// id, or errors.ErrOrderNotFound.
	ByBrokerOrderID(ctx context.Context, account, id string) (Order, error)
	// BySymbol returns every order of the account for the symbol, oldest
	// first.
	BySymbol(ctx context.Context, account, symbol string) ([]Order, error)
	// Open returns every non-terminal order of the account, oldest first,
	// in one query.
	Open(ctx context.Context, account string) ([]Order, error)
}
