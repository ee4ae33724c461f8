package schwabtest_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/schwab/schwabtest"
	"github.com/shopspring/decimal"
)

// Example drives the emulator with plain net/http: place an order, fill it,
// read it back in Schwab's own JSON.
func Example() {
	clock := clocktest.New(time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC))
	emu := schwabtest.New(schwabtest.Config{Clock: clock})
	defer emu.Close()
	token := emu.IssueTokens().AccessToken
	orders := emu.URL() + "/trader/v1/accounts/" + emu.Hash("12345678") + "/orders"

	body := `{"orderType":"MARKET","session":"NORMAL","duration":"DAY","orderStrategyType":"SINGLE",
	  "orderLegCollection":[{"instruction":"BUY","quantity":1,"instrument":{"symbol":"GME","assetType":"EQUITY"}}]}`
	req, _ := http.NewRequest("POST", orders, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := emu.Client().Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	location := resp.Header.Get("Location")
	id := location[strings.LastIndex(location, "/")+1:]
	fmt.Println(resp.StatusCode, "order", id)

	_ = emu.Fill(id, decimal.NewFromInt(1), decimal.RequireFromString("22.7299"))
	req, _ = http.NewRequest("GET", location, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = emu.Client().Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	fmt.Println(strings.Contains(string(got), `"status":"FILLED"`), strings.Contains(string(got), `"price":22.7299`))
	// Output:
	// 201 order 1004055538153
	// true true
}
