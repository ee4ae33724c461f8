package postgres_test

import (
	"context"
	"fmt"
	"os"

	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/store/sqlstore/postgres"
)

// Replicas share one PostgreSQL database; its DSN comes from the host's
// configuration. A missing one is a configuration error, told before any
// connection is tried.
func ExampleOpen() {
	db, err := postgres.Open(context.Background(), os.Getenv("ARBION_EXAMPLE_POSTGRES_DSN"))
	if err != nil {
		fmt.Println("configuration error:", errors.Is(err, errors.ErrConfiguration))
		return
	}
	defer db.Close()
	fmt.Println("connected to", db.Dialect())
	// Output: configuration error: true
}
