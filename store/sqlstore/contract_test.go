package sqlstore_test

import (
	"testing"

	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/order/ordertest"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/arbiontrader/arbion/stoploss/stoplosstest"
	"github.com/arbiontrader/arbion/store/sqlstore"
)

// The same contract suites the in-memory stores pass (order and stoploss
// packages run them on memory), here on SQLite and PostgreSQL.

func TestOrderStoreContract(t *testing.T) {
	// The memory store is the reference: run here too, so that a contract
	// case the memory store fails is seen with the SQL ones.
	t.Run("memory", func(t *testing.T) {
		ordertest.StoreContract(t, func(*testing.T) order.Store { return order.NewMemoryStore() })
	})
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			ordertest.StoreContract(t, func(t *testing.T) order.Store { return e.open(t).Orders() })
		})
	}
}

func TestProtectionStoreContract(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			stoplosstest.StoreContract(t, func(t *testing.T) stoploss.Store { return e.open(t).Protections() })
		})
	}
}

func TestLeaseContract(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			stoplosstest.LockContract(t, func(t *testing.T) (stoploss.Lock, stoploss.Lock) {
				db := e.open(t)
				other := e.reopen(t, db)
				return mustLease(t, db, sqlstore.LeaseConfig{}), mustLease(t, other, sqlstore.LeaseConfig{})
			})
		})
	}
}

func mustLease(t *testing.T, db *sqlstore.DB, cfg sqlstore.LeaseConfig) *sqlstore.Lease {
	t.Helper()
	l, err := db.Lease(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
