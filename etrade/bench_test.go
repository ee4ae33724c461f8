package etrade

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/internal/floor"
	"github.com/arbiontrader/arbion/internal/oauth1"
)

// BenchmarkFloor measures the adapter against its floor in one loop,
// interleaved: place is the adapter's preview + place against two bare
// POSTs of the same bodies, get is GetOrder against the same requests
// replayed; every bare request carries its own OAuth 1.0a signature, as the
// emulator verifies each one.
//
//	go test -run '^$' -bench Floor ./etrade/
func BenchmarkFloor(b *testing.B) {
	ctx := context.Background()
	setup := func(b *testing.B) (*env, *floor.Recorder, *bareClient) {
		rec := &floor.Recorder{}
		// Client-side limits far above the loop's rate, so that the figure
		// measures the pipeline, not the limiter's waits.
		e := newEnv(b, envOptions{tune: func(c *Config) {
			c.OrdersPerSecond, c.AccountsPerSecond = 1e9, 1e9
			rec.Base = c.HTTPClient.Transport
			c.HTTPClient = &http.Client{Transport: rec}
		}})
		tok, err := e.store.Load(ctx, "etrade/"+e.srv.AccountIDKey())
		if err != nil {
			b.Fatal(err)
		}
		bare := &bareClient{http: e.srv.Client(), base: e.srv.URL() + "/v1/accounts/" + e.srv.AccountIDKey(),
			signer: &oauth1.Signer{ConsumerKey: e.srv.ConsumerKey(), ConsumerSecret: e.srv.ConsumerSecret()}, tok: tok}
		return e, rec, bare
	}
	b.Run("place", func(b *testing.B) {
		e, _, bare := setup(b)
		floor.Interleave(b, func() {
			if _, err := e.b.PlaceOrder(ctx, limitBuy("AAPL", "100.00")); err != nil {
				b.Fatal(err)
			}
		}, func() {
			if err := bare.previewPlace(limitBuy("AAPL", "100.00")); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("get", func(b *testing.B) {
		e, rec, bare := setup(b)
		ack, err := e.b.PlaceOrder(ctx, limitBuy("AAPL", "100.00"))
		if err != nil {
			b.Fatal(err)
		}
		sent := rec.Record(func() {
			if _, err := e.b.GetOrder(ctx, ack.OrderID); err != nil {
				b.Fatal(err)
			}
		})
		creds := oauth1.Credentials{Token: bare.tok.AccessToken, TokenSecret: bare.tok.Secret}
		floor.Interleave(b, func() {
			if _, err := e.b.GetOrder(ctx, ack.OrderID); err != nil {
				b.Fatal(err)
			}
		}, func() {
			floor.Replay(b, bare.http, sent, func(req *http.Request) {
				h, err := bare.signer.Authorization(req.Method, req.URL, nil, creds)
				if err != nil {
					b.Fatal(err)
				}
				req.Header.Set("Authorization", h)
			})
		})
	})
}

type bareClient struct {
	http   *http.Client
	base   string
	signer *oauth1.Signer
	tok    auth.Token
}

func (c *bareClient) post(path string, body []byte) ([]byte, error) {
	req, err := http.NewRequest(http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	h, err := c.signer.Authorization(req.Method, req.URL, nil, oauth1.Credentials{Token: c.tok.AccessToken, TokenSecret: c.tok.Secret})
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", h)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %d %s", path, resp.StatusCode, out)
	}
	return out, err
}

func (c *bareClient) previewPlace(req broker.OrderRequest) error {
	order, err := buildOrder(req)
	if err != nil {
		return err
	}
	orderJSON, _ := json.Marshal([]reqOrder{order})
	body, _ := json.Marshal(map[string]orderRequestJSON{"PreviewOrderRequest": {OrderType: "EQ", ClientOrderID: req.ClientOrderID, Order: orderJSON}})
	pv, err := c.post("/orders/preview.json", body)
	if err != nil {
		return err
	}
	var p struct {
		PreviewOrderResponse struct {
			PreviewIDs []previewIDJSON `json:"PreviewIds"`
		} `json:"PreviewOrderResponse"`
	}
	if err := json.Unmarshal(pv, &p); err != nil || len(p.PreviewOrderResponse.PreviewIDs) == 0 {
		return fmt.Errorf("preview answer: %v", err)
	}
	body, _ = json.Marshal(map[string]orderRequestJSON{"PlaceOrderRequest": {OrderType: "EQ", ClientOrderID: req.ClientOrderID,
		Order: orderJSON, PreviewIDs: p.PreviewOrderResponse.PreviewIDs}})
	_, err = c.post("/orders/place.json", body)
	return err
}

// BenchmarkClaimAfterPlacements measures the bookkeeping of one placement
// (claim, then mark placed) after n earlier placements in the process, all
// still inside FindWindow: flat in n is the goal (it walked every intent
// under the lock once 10,000 were held).
func BenchmarkClaimAfterPlacements(b *testing.B) {
	for _, n := range []int{100, 1_000, 10_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			clk := clocktest.New(t0bench)
			br := &Broker{cfg: Config{FindWindow: 24 * time.Hour}, clock: clk, intents: map[string]*intent{}}
			place := func(i int) {
				in, _ := br.claim(strconv.Itoa(i), reqOrder{})
				br.mu.Lock()
				in.sentAt = clk.Now()
				br.mu.Unlock()
				br.setState(in, intentPlaced, int64(i))
			}
			for i := range n {
				place(i)
			}
			i := n
			b.ReportAllocs()
			for b.Loop() {
				place(i)
				i++
			}
		})
	}
}

var t0bench = time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC)

// BenchmarkDecodeOrders decodes the documented list of three orders (one
// open, one executed, one cancelled) in one pass, root-Error check
// included; ns/order is the figure the goal is set on.
func BenchmarkDecodeOrders(b *testing.B) {
	body := fixture(b, "orders_list_open_executed_cancelled.json")
	orders, _, err := decodeOrders(body)
	if err != nil || len(orders) == 0 {
		b.Fatalf("fixture: %d orders, %v", len(orders), err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, _, err := decodeOrders(body); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(orders)), "ns/order")
}
