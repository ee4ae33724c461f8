package order_test

import (
	"testing"

	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/order/ordertest"
)

func TestMemoryStoreContract(t *testing.T) {
	ordertest.StoreContract(t, func(*testing.T) order.Store { return order.NewMemoryStore() })
}
