package schwab

import (
	"context"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/schwab/schwabtest"
	"github.com/google/go-cmp/cmp"
)

// levelOneRequests lists the LEVELONE commands the emulator received, as
// "SERVICE COMMAND keys".
func levelOneRequests(emu *schwabtest.Server) []string {
	var out []string
	for _, r := range emu.StreamRequests() {
		if r.Service == "LEVELONE_EQUITIES" || r.Service == "LEVELONE_OPTIONS" {
			out = append(out, r.Service+" "+r.Command+" "+r.Keys)
		}
	}
	return out
}

// The emulator's quote drives both REST and the stream; a change of one
// field arrives as a partial item and is merged into a complete quote.
func TestStreamQuotesMergeAndAgreeWithREST(t *testing.T) {
	r := newStreamRig(t, schwabtest.Config{}, nil)
	ctx := streamCtx(t)
	q, err := r.b.StreamQuotes(ctx, "AAPL")
	if err != nil {
		t.Fatal(err)
	}
	first := nextQuote(t, q)
	rest, err := r.b.Quotes(ctx, "AAPL")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rest[0], first.Quote, decimalEqual); diff != "" {
		t.Errorf("stream and REST disagree (-rest +stream):\n%s", diff)
	}
	r.emu.SetQuote("AAPL", schwabtest.QuoteValue{Bid: dec("150.10"), Ask: dec("150.20"), Last: dec("150.11"),
		Time: testStart.Add(5e9)})
	got := nextQuote(t, q)
	want := first
	want.Ask, want.Time = dec("150.20"), testStart.Add(5e9)
	if diff := cmp.Diff(want, got, decimalEqual); diff != "" {
		t.Errorf("merged quote (-want +got):\n%s", diff)
	}
	if st := q.Status(); !st.Fresh(r.clock.Now(), 30e9) {
		t.Errorf("status %+v is not fresh", st)
	}
}

// Symbols wanted by several streams are subscribed once (the first stream's
// with the connection's SUBS, later ones with ADD) and unsubscribed
// when the last stream lets go; a newcomer gets the last quote at once.
func TestStreamQuotesSharedSymbols(t *testing.T) {
	r := newStreamRig(t, schwabtest.Config{}, nil)
	ctx := streamCtx(t)
	q1, err := r.b.StreamQuotes(ctx, "AAPL")
	if err != nil {
		t.Fatal(err)
	}
	nextQuote(t, q1)
	q2, err := r.b.StreamQuotes(ctx, "AAPL", "MSFT")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 2 {
		seen[nextQuote(t, q2).Symbol] = true
	}
	if !seen["AAPL"] || !seen["MSFT"] {
		t.Errorf("the second stream got %v", seen)
	}
	if err := q1.Unsubscribe(ctx, "AAPL"); err != nil {
		t.Fatal(err)
	}
	if err := q2.Unsubscribe(ctx, "AAPL"); err != nil {
		t.Fatal(err)
	}
	if err := q1.Subscribe(ctx, "SPY"); err != nil {
		t.Fatal(err)
	}
	want := []string{"LEVELONE_EQUITIES SUBS AAPL", "LEVELONE_EQUITIES ADD MSFT",
		"LEVELONE_EQUITIES UNSUBS AAPL", "LEVELONE_EQUITIES ADD SPY"}
	if diff := cmp.Diff(want, levelOneRequests(r.emu)); diff != "" {
		t.Errorf("LEVELONE commands (-want +got):\n%s", diff)
	}
	if got := nextQuote(t, q1); got.Symbol != "SPY" {
		t.Errorf("q1 got %+v; want SPY", got)
	}
	// MSFT moves: only q2 wants it.
	r.emu.SetQuote("MSFT", schwabtest.QuoteValue{Bid: dec("400"), Ask: dec("401"), Last: dec("400.5")})
	if got := nextQuote(t, q2); got.Symbol != "MSFT" || !got.Bid.Equal(dec("400")) {
		t.Errorf("q2 got %+v", got)
	}
	select {
	case got := <-q1.Quotes():
		t.Errorf("q1 does not want %s", got.Symbol)
	default:
	}
}

// An OSI option symbol goes to LEVELONE_OPTIONS with its own numbering.
func TestStreamQuotesOption(t *testing.T) {
	r := newStreamRig(t, schwabtest.Config{}, nil)
	const sym = "AAPL  261218C00200000"
	r.emu.SetQuote(sym, schwabtest.QuoteValue{AssetMainType: "OPTION", Bid: dec("12.30"), Ask: dec("12.50"), Last: dec("12.40")})
	ctx := streamCtx(t)
	q, err := r.b.StreamQuotes(ctx, sym)
	if err != nil {
		t.Fatal(err)
	}
	got := nextQuote(t, q)
	want := broker.StreamQuote{Quote: broker.Quote{Symbol: sym, Bid: dec("12.30"), Ask: dec("12.50"), Last: dec("12.40"),
		Time: testStart}, BidSize: dec("10"), AskSize: dec("10"), LastSize: dec("1")}
	if diff := cmp.Diff(want, got, decimalEqual); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"LEVELONE_OPTIONS SUBS " + sym}, levelOneRequests(r.emu)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// Past the symbol limit Schwab answers code 19: Subscribe returns it typed.
func TestStreamQuotesSymbolLimit(t *testing.T) {
	r := newStreamRig(t, schwabtest.Config{Stream: schwabtest.StreamConfig{SymbolLimit: 2}}, nil)
	ctx := streamCtx(t)
	q, err := r.b.StreamQuotes(ctx, "AAPL", "MSFT")
	if err != nil {
		t.Fatal(err)
	}
	err = q.Subscribe(ctx, "SPY")
	var be *errors.BrokerError
	if !errors.As(err, &be) || be.Code != "19" || !errors.Is(err, errors.ErrRateLimited) {
		t.Fatalf("a third symbol: %v", err)
	}
	// the refused symbol is not kept: subscribing it again asks again
	if err := q.Unsubscribe(ctx, "MSFT"); err != nil {
		t.Fatal(err)
	}
	if err := q.Subscribe(ctx, "SPY"); err != nil {
		t.Errorf("after room was made: %v", err)
	}
}

// A quote stream without symbols holds no connection (Schwab would close
// an empty one with code 30); its first symbol opens one, its last closes it.
func TestStreamQuotesWithoutSymbolsHoldNoConnection(t *testing.T) {
	r := newStreamRig(t, schwabtest.Config{}, nil)
	ns := notes(r)
	ctx := streamCtx(t)
	q, err := r.b.StreamQuotes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := r.emu.StreamConnectsTotal(); n != 0 {
		t.Errorf("%d connections for a stream that wants nothing", n)
	}
	if err := q.Subscribe(ctx, "AAPL"); err != nil {
		t.Fatal(err)
	}
	if got := nextQuote(t, q); got.Symbol != "AAPL" {
		t.Errorf("quote %+v", got)
	}
	if err := q.Unsubscribe(ctx, "AAPL"); err != nil {
		t.Fatal(err)
	}
	waitNote(t, ns, "idle")
	waitNote(t, ns, "idle") // the first was before the first connection
	var logout bool
	for _, req := range r.emu.StreamRequests() {
		logout = logout || req.Command == "LOGOUT"
	}
	if !logout || q.Status().Live {
		t.Errorf("logout sent %v, status %+v", logout, q.Status())
	}
	if err := q.Subscribe(ctx, "MSFT"); err != nil {
		t.Fatal(err)
	}
	if got := nextQuote(t, q); got.Symbol != "MSFT" || r.emu.StreamConnectsTotal() != 2 {
		t.Errorf("quote %+v after %d connections", got, r.emu.StreamConnectsTotal())
	}
}

// An ended quote stream takes no subscription and opens no connection.
func TestStreamQuotesEndedRefusesSubscribe(t *testing.T) {
	r := newStreamRig(t, schwabtest.Config{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	q, err := r.b.StreamQuotes(ctx, "AAPL")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	for range q.Quotes() {
	}
	if err := q.Subscribe(context.Background(), "MSFT"); !errors.Is(err, errors.ErrShuttingDown) {
		t.Errorf("Subscribe on an ended stream: %v", err)
	}
	if n := r.emu.StreamConnectsTotal(); n != 1 {
		t.Errorf("%d connections; want the first only", n)
	}
}
