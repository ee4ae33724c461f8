package errors_test

import (
	"fmt"
	"time"

	"github.com/arbiontrader/arbion/errors"
)

func Example() {
	// An adapter returns a typed error; the bot wraps it as usual.
	var err error = &errors.BrokerError{
		Broker: "schwab", Op: "place order", HTTPStatus: 429,
		Message: "too many requests", Kind: errors.ErrRateLimited, RetryAfter: 2 * time.Second,
	}
	err = fmt.Errorf("buy AAPL: %w", err)

	// Classify by kind ...
	if errors.Is(err, errors.ErrRateLimited) {
		wait, _ := errors.RetryAfter(err)
		fmt.Println("rate limited; retry after", wait, "retryable:", errors.Retryable(err))
	}
	// ... or read the fields.
	var be *errors.BrokerError
	if errors.As(err, &be) {
		fmt.Println(be.Broker, be.HTTPStatus)
	}
	fmt.Println(err)
	// Output:
	// rate limited; retry after 2s retryable: true
	// schwab 429
	// buy AAPL: schwab: place order: 429 too many requests
}
