package etradetest_test

import (
	"fmt"
	"log"
	"net/http"

	"github.com/arbiontrader/arbion/etrade/etradetest"
	"github.com/shopspring/decimal"
)

// Unsigned requests are refused as E*TRADE refuses them; a test drives the
// order book with Fill, Expire, Reject and CancelBehindBack, and inspects
// what was placed with Orders.
func Example() {
	srv, err := etradetest.New(etradetest.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	resp, err := srv.Client().Get(srv.URL() + "/v1/accounts/list.json")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode == http.StatusUnauthorized, resp.Header.Get("WWW-Authenticate"))
	fmt.Println(len(srv.Orders()), srv.Fill(999, decimal.NewFromInt(1), decimal.NewFromInt(1)))
	// Output:
	// true OAuth oauth_problem=parameter_absent,oauth_parameters_absent=oauth_consumer_key
	// 0 etradetest: no order 999
}

func decimalOf(s string) decimal.Decimal { return decimal.RequireFromString(s) }
