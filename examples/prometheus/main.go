// Command prometheus runs the live runner on the paper broker and serves
// its health and its OpenTelemetry metrics, through the Prometheus
// exporter, side by side:
//
//	go run . -http 127.0.0.1:9464
//	curl -s 127.0.0.1:9464/health/metrics | grep arbion_
//	curl -s 127.0.0.1:9464/health
//
// It is a module of its own, so that arbion's go.mod does not take the
// Prometheus client: arbion depends on the OpenTelemetry metric API only,
// and the host chooses the SDK and the exporter.
//
// The market is simulated: every -tick of real time is one minute of
// market time (a random walk of the price, one closed bar), traded by the
// moving-average crossover (examples/internal/crossover). It stops
// cleanly on SIGINT and SIGTERM: the step in flight finishes, the tracker
// is drained, the server shut down.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/health"
	"github.com/arbiontrader/arbion/live"
	"github.com/arbiontrader/arbion/metrics"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/risk"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/arbiontrader/arbion/strategy/crossover"
	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/shopspring/decimal"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdk "go.opentelemetry.io/otel/sdk/metric"
)

func main() {
	fs := flag.NewFlagSet("prometheus", flag.ContinueOnError)
	addr := fs.String("http", "127.0.0.1:9464", "address to serve /health and /health/metrics on")
	tick := fs.Duration("tick", 200*time.Millisecond, "real time per simulated market minute")
	seed := fs.Uint64("seed", 1, "seed of the price walk")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == flag.ErrHelp {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if fs.NArg() > 0 || *tick <= 0 {
		fmt.Fprintln(os.Stderr, "prometheus: flags only, and a positive -tick (see -h)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "prometheus:", err)
		os.Exit(1)
	}
	if err := run(ctx, ln, *tick, *seed, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "prometheus:", err)
		os.Exit(1)
	}
}

// run serves on ln and trades until ctx ends. minute, when set, is told
// each simulated minute's number as the market moves (tests wait on it).
func run(ctx context.Context, ln net.Listener, tick time.Duration, seed uint64, out io.Writer, minute func(int)) error {
	reg := prom.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return err
	}
	provider := sdk.NewMeterProvider(sdk.WithReader(exporter))
	defer func() { _ = provider.Shutdown(context.Background()) }()
	m, err := metrics.New(provider)
	if err != nil {
		return err
	}

	mkt := newMarket(seed)
	b, err := paper.New(paper.Config{Clock: mkt, FeeBps: decimal.NewFromInt(1)})
	if err != nil {
		return err
	}
	mkt.broker = b
	if _, err := mkt.move(); err != nil {
		return err
	}
	aapl := broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity}
	strat, err := crossover.New(crossover.Config{Instrument: aapl, Fast: 5, Slow: 20, Quantity: decimal.NewFromInt(50)})
	if err != nil {
		return err
	}
	r, err := live.New(live.Config{
		Account: "demo", Broker: b, Clock: mkt, Metrics: m, Location: time.UTC, MaxQuoteAge: 2 * time.Minute,
		Rules: []risk.Rule{risk.MaxOrderQuantity{Limit: decimal.NewFromInt(100)}, risk.MaxDailyLoss{Limit: decimal.NewFromInt(400)},
			risk.PriceBand{Percent: decimal.NewFromInt(5)}},
		Policy:     stoploss.Policy{StopPercent: decimal.NewFromInt(1), TrailPercent: decimal.New(6, -1)},
		Strategies: []live.Strategy{{Symbol: "AAPL", Interval: broker.OneMinute, Strategy: strat}},
		Bars:       mkt,
		// Each step waits one tick of real time, then the market moves a minute.
		Schedule: live.ScheduleFunc(func(ctx context.Context) error {
			if err := clock.Sleep(ctx, clock.Real(), tick); err != nil {
				return err
			}
			n, err := mkt.move()
			if minute != nil {
				minute(n)
			}
			return err
		}),
	})
	if err != nil {
		return err
	}
	h, err := health.New(health.Config{Ready: r.Checks(live.CheckConfig{HeartbeatWithin: 3 * time.Minute}), Started: r.Started})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/health", h)
	mux.Handle("/health/", h)
	mux.Handle("GET /health/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(out, "serving http://%s/health and /health/metrics; Ctrl-C stops\n", ln.Addr())

	runErr := r.Run(ctx)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-served; err != http.ErrServerClosed {
		return err
	}
	fmt.Fprintln(out, "stopped cleanly")
	return runErr
}

// market is the simulated market: its clock (a minute per move), the
// paper price and the minute bar that has just closed.
type market struct {
	mu      sync.Mutex
	minutes int
	rng     *rand.Rand
	now     time.Time
	price   decimal.Decimal
	bar     broker.Bar
	broker  *paper.Broker
}

func newMarket(seed uint64) *market {
	return &market{rng: rand.New(rand.NewPCG(seed, 0x5eed)), now: time.Date(2026, 1, 5, 14, 30, 0, 0, time.UTC),
		price: decimal.NewFromInt(100)}
}

// move advances the market one minute, a random step of up to 25 cents,
// and returns the number of minutes moved so far.
func (m *market) move() (int, error) {
	m.mu.Lock()
	m.minutes++
	n := m.minutes
	open := m.price
	m.price = decimal.Max(m.price.Add(decimal.New(m.rng.Int64N(51)-25, -2)), decimal.NewFromInt(1))
	m.bar = broker.Bar{Symbol: "AAPL", Interval: broker.OneMinute, Start: m.now, Open: open, Close: m.price,
		High: decimal.Max(open, m.price), Low: decimal.Min(open, m.price), Volume: decimal.NewFromInt(100)}
	m.now = m.now.Add(time.Minute)
	p := m.price
	m.mu.Unlock()
	return n, m.broker.SetPrice("AAPL", p)
}

// Now implements clock.Clock.
func (m *market) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// NewTimer implements clock.Clock. Nothing in the runner waits on market
// time here (the schedule waits in real time), so it fires at once.
func (m *market) NewTimer(time.Duration) clock.Timer {
	ch := make(chan time.Time, 1)
	ch <- m.Now()
	return firedTimer{ch}
}

type firedTimer struct{ ch chan time.Time }

func (t firedTimer) C() <-chan time.Time { return t.ch }
func (t firedTimer) Stop() bool          { return false }

// Bars implements broker.BarSource: the bar that has just closed.
func (m *market) Bars(_ context.Context, q broker.BarQuery) ([]broker.Bar, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bar.Symbol != q.Symbol || m.bar.Start.Before(q.From) || !m.bar.Start.Before(q.To) {
		return nil, nil
	}
	return []broker.Bar{m.bar}, nil
}
