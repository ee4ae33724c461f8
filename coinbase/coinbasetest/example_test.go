package coinbasetest_test

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
)

// Example starts the emulator on a fake clock and reads its public server
// time; a test then registers a key (NewES256Key or NewEd25519Key), points
// the adapter at URL(), drives the book with Fill/Expire and inspects
// Orders and Requests.
func Example() {
	clock := clocktest.New(time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC))
	srv := coinbasetest.NewServer(coinbasetest.Config{Clock: clock})
	defer srv.Close()

	resp, err := http.Get(srv.URL() + coinbasetest.APIPrefix + "/time")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))

	// Output:
	// 200 {"epochMillis":"1772461800000","epochSeconds":"1772461800","iso":"2026-03-02T14:30:00Z"}
}
