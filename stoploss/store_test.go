package stoploss_test

import (
	"testing"

	"github.com/arbiontrader/arbion/stoploss"
	"github.com/arbiontrader/arbion/stoploss/stoplosstest"
)

func TestMemoryStoreContract(t *testing.T) {
	stoplosstest.StoreContract(t, func(*testing.T) stoploss.Store { return stoploss.NewMemoryStore() })
}

func TestMemoryLockContract(t *testing.T) {
	stoplosstest.LockContract(t, func(*testing.T) (stoploss.Lock, stoploss.Lock) {
		l := stoploss.NewMemoryLock()
		return l, l
	})
}
