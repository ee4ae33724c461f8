package order_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
)

// fieldsOnly is a broker that keeps no client order id, as Schwab: its
// snapshots carry none, and its lookup matches fields among the orders
// entered in the query's window (from paper's complete history).
type fieldsOnly struct {
	*counting
	paper *paper.Broker
	// incomplete makes every lookup report a listing cut short.
	incomplete atomic.Bool
	queries    []broker.FindQuery
	mu         sync.Mutex
}

func newFieldsOnly(p *paper.Broker) *fieldsOnly {
	return &fieldsOnly{counting: newCounting(p), paper: p}
}

func (f *fieldsOnly) Capabilities() broker.Capabilities {
	c := f.counting.Capabilities()
	c.IdempotentClientOrderID = false
	return c
}

func (f *fieldsOnly) GetOrder(ctx context.Context, id string) (broker.Order, error) {
	o, err := f.counting.GetOrder(ctx, id)
	o.ClientOrderID = ""
	return o, err
}

func (f *fieldsOnly) OpenOrders(ctx context.Context) ([]broker.Order, error) {
	os, err := f.counting.OpenOrders(ctx)
	for i := range os {
		os[i].ClientOrderID = ""
	}
	return os, err
}

func (f *fieldsOnly) FindOrder(ctx context.Context, q broker.FindQuery) (broker.FindResult, error) {
	f.find.Add(1)
	f.mu.Lock()
	f.queries = append(f.queries, q)
	f.mu.Unlock()
	all, err := f.paper.Orders(ctx, broker.OrderQuery{From: q.From, To: q.To})
	if err != nil {
		return broker.FindResult{}, err
	}
	var res broker.FindResult
	r := q.Request
	for _, o := range all {
		if o.Instrument == r.Instrument && o.Side == r.Side && o.Type == r.Type &&
			o.Quantity.Equal(r.Quantity) && o.LimitPrice.Equal(r.LimitPrice) && o.StopPrice.Equal(r.StopPrice) {
			o.ClientOrderID = ""
			res.Candidates = append(res.Candidates, o)
		}
	}
	res.Complete = !f.incomplete.Load()
	return res, nil
}

// lostAfterSend makes the next placements reach the broker and lose their
// answer.
func lostAfterSend(p *paper.Broker) func(context.Context, broker.OrderRequest) (broker.Ack, error) {
	return func(ctx context.Context, req broker.OrderRequest) (broker.Ack, error) {
		if _, err := p.PlaceOrder(ctx, req); err != nil {
			return broker.Ack{}, err
		}
		return broker.Ack{}, &errors.BrokerError{Broker: "fields", Op: "place order",
			Kind: errors.ErrOutcomeUnknown, Message: "connection reset after the request was sent"}
	}
}

// lostBeforeBroker makes the next placements fail in a way that looks like
// a lost answer although the broker never saw them.
func lostBeforeBroker(context.Context, broker.OrderRequest) (broker.Ack, error) {
	return broker.Ack{}, &errors.BrokerError{Broker: "fields", Op: "place order",
		Kind: errors.ErrOutcomeUnknown, Message: "timeout; the request may have been sent"}
}

// desk is a fields-only broker over paper, a shared store and a tracker
// that can be restarted.
type desk struct {
	paper   *paper.Broker
	broker  *fieldsOnly
	store   *order.MemoryStore
	clock   *clocktest.Fake
	tracker *order.Tracker
	alerts  []error
}

func newDesk(t *testing.T) *desk {
	t.Helper()
	d := &desk{clock: newClock(), store: order.NewMemoryStore()}
	p, err := paper.New(paper.Config{Clock: d.clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetPrice("AAPL", dec("100")); err != nil {
		t.Fatal(err)
	}
	d.paper, d.broker = p, newFieldsOnly(p)
	d.restart(t)
	return d
}

// restart stands for a new process: a new tracker over the same store and
// broker, with nothing in memory.
func (d *desk) restart(t *testing.T) {
	t.Helper()
	tr, err := order.NewTracker(order.Config{Broker: d.broker, Store: d.store, Clock: d.clock,
		Account: "acct", Alert: func(err error) { d.alerts = append(d.alerts, err) }})
	if err != nil {
		t.Fatal(err)
	}
	d.tracker = tr
}

// settle runs Reconcile over the window needed to declare never placed.
func (d *desk) settle(t *testing.T) {
	t.Helper()
	for range order.DefaultUnknownOutcomeLookups + 1 {
		if _, err := d.tracker.Reconcile(t.Context()); err != nil {
			t.Fatalf("Reconcile: %v", err)
		}
		d.clock.Advance(order.DefaultUnknownOutcomeWindow)
	}
}

func (d *desk) atBroker(t *testing.T) []broker.Order {
	t.Helper()
	all, err := d.paper.Orders(t.Context(), broker.OrderQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// TestRestartAdoptsTheUnclaimedTwin: two orders with identical fields, the
// second placed with its answer lost, a restart. The lookup sees both broker
// orders; the first is claimed by its own record, so the second is
// adopted, never declared never placed (it was, before: the ambiguous match
// read as not found).
func TestRestartAdoptsTheUnclaimedTwin(t *testing.T) {
	d := newDesk(t)
	a, err := d.tracker.Submit(t.Context(), limitBuy("10", "90"))
	if err != nil {
		t.Fatal(err)
	}
	d.broker.placeFn = lostAfterSend(d.paper)
	b, err := d.tracker.Submit(t.Context(), limitBuy("10", "90"))
	wantKind(t, err, errors.ErrOutcomeUnknown)
	d.broker.placeFn = nil

	d.restart(t)
	d.settle(t)
	a, b = d.get(t, a.LocalID), d.get(t, b.LocalID)
	wantStatus(t, a, broker.StatusNew)
	wantStatus(t, b, broker.StatusNew)
	if b.BrokerOrderID == "" || b.BrokerOrderID == a.BrokerOrderID {
		t.Fatalf("broker ids %q and %q: want two distinct ones", a.BrokerOrderID, b.BrokerOrderID)
	}
	if n := len(d.atBroker(t)); n != 2 {
		t.Errorf("%d orders at the broker, want 2", n)
	}
}

// TestRestartNeverAdoptsAClaimedOrder: order A is placed; B with the same
// fields fails before the broker acts; after a restart B's lookup finds
// only A's order, which A holds, so B is declared never placed and a fill
// of 10 counts once (it counted 10 + 10 before).
func TestRestartNeverAdoptsAClaimedOrder(t *testing.T) {
	d := newDesk(t)
	a, err := d.tracker.Submit(t.Context(), limitBuy("10", "90"))
	if err != nil {
		t.Fatal(err)
	}
	d.broker.placeFn = lostBeforeBroker
	b, err := d.tracker.Submit(t.Context(), limitBuy("10", "90"))
	wantKind(t, err, errors.ErrOutcomeUnknown)
	d.broker.placeFn = nil

	d.restart(t)
	if err := d.paper.Execute(t.Context(), a.BrokerOrderID, dec("10"), dec("90")); err != nil {
		t.Fatal(err)
	}
	d.settle(t)
	a, b = d.get(t, a.LocalID), d.get(t, b.LocalID)
	wantStatus(t, a, broker.StatusFilled)
	wantStatus(t, b, broker.StatusRejected)
	wantDec(t, "A filled", a.FilledQuantity, "10")
	wantDec(t, "B filled", b.FilledQuantity, "0")
	if b.BrokerOrderID != "" {
		t.Errorf("B adopted broker order %s", b.BrokerOrderID)
	}
}

// TestLookupSearchesTheSendWindow: an unknown outcome older than a day is
// looked up in the window around its send time (it was "the last 24 h"
// before, so such an order was declared never placed while it worked).
func TestLookupSearchesTheSendWindow(t *testing.T) {
	d := newDesk(t)
	sentAt := d.clock.Now()
	d.broker.placeFn = lostAfterSend(d.paper)
	b, err := d.tracker.Submit(t.Context(), limitBuy("10", "90"))
	wantKind(t, err, errors.ErrOutcomeUnknown)
	d.broker.placeFn = nil

	d.clock.Advance(48 * time.Hour)
	d.restart(t)
	d.settle(t)
	b = d.get(t, b.LocalID)
	wantStatus(t, b, broker.StatusNew)
	if b.BrokerOrderID == "" {
		t.Fatal("not adopted")
	}
	q := d.broker.queries[0]
	want := broker.FindQuery{Account: "acct", Request: b.Request(),
		From: sentAt.Add(-order.DefaultClockSkew),
		To:   sentAt.Add(order.DefaultSendTimeout + order.DefaultClockSkew)}
	if !q.From.Equal(want.From) || !q.To.Equal(want.To) || q.Account != want.Account {
		t.Errorf("query window %s..%s for %q, want %s..%s for %q", q.From, q.To, q.Account, want.From, want.To, want.Account)
	}
}

// TestAmbiguityIsNeverAbsence: two unknown records with the same fields
// (left by an older process) and two orders at the broker: neither can be
// told apart, so neither is adopted nor declared never placed, however
// long the lookups go on; both are flagged and the host is alerted.
func TestAmbiguityIsNeverAbsence(t *testing.T) {
	d := newDesk(t)
	var ids []string
	for i := range 2 {
		req := limitBuy("10", "90").OrderRequest
		req.ClientOrderID = "twin" + string(rune('a'+i))
		if _, err := d.paper.PlaceOrder(t.Context(), req); err != nil {
			t.Fatal(err)
		}
		rec := order.Order{LocalID: "local" + req.ClientOrderID, ClientOrderID: req.ClientOrderID,
			Account: "acct", Instrument: req.Instrument, Side: req.Side, Type: req.Type, Quantity: req.Quantity,
			LimitPrice: req.LimitPrice, TimeInForce: req.TimeInForce, Status: broker.StatusPendingNew,
			OutcomeUnknown: true, FirstUnknownAt: d.clock.Now(), CreatedAt: d.clock.Now(), UpdatedAt: d.clock.Now()}
		if _, err := d.store.Create(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rec.LocalID)
	}
	for range 3 {
		d.settle(t)
	}
	for _, id := range ids {
		o := d.get(t, id)
		wantStatus(t, o, broker.StatusPendingNew)
		if o.BrokerOrderID != "" || !o.OutcomeUnknown || !o.NeedsAttention {
			t.Errorf("%s: broker id %q, unknown %v, attention %v; want none, true, true",
				id, o.BrokerOrderID, o.OutcomeUnknown, o.NeedsAttention)
		}
	}
	if len(d.alerts) != 2 {
		t.Errorf("%d alerts, want one per ambiguous order (2)", len(d.alerts))
	}
	for _, a := range d.alerts {
		wantKind(t, a, errors.ErrOutcomeUnknown)
	}
}

// TestIncompleteLookupIsNoProof: lookups that could not cover the window
// never declare an order never placed; past the window it is flagged.
func TestIncompleteLookupIsNoProof(t *testing.T) {
	d := newDesk(t)
	d.broker.placeFn = lostBeforeBroker
	b, err := d.tracker.Submit(t.Context(), limitBuy("10", "90"))
	wantKind(t, err, errors.ErrOutcomeUnknown)
	d.broker.placeFn = nil
	d.broker.incomplete.Store(true)
	for range 3 {
		d.settle(t)
	}
	b = d.get(t, b.LocalID)
	wantStatus(t, b, broker.StatusPendingNew)
	if !b.NeedsAttention || len(d.alerts) != 1 {
		t.Errorf("attention %v, %d alerts; want flagged and one alert", b.NeedsAttention, len(d.alerts))
	}
	d.broker.incomplete.Store(false) // the broker answers in full again: now it is proof
	d.settle(t)
	wantStatus(t, d.get(t, b.LocalID), broker.StatusRejected)
}

// TestTwinOfAnUnsettledOrderIsRefused: while a placement is unsettled, an
// order with the same identifying fields is not sent (the two could not be
// told apart), also after a restart; once settled, it is.
func TestTwinOfAnUnsettledOrderIsRefused(t *testing.T) {
	d := newDesk(t)
	d.broker.placeFn = lostAfterSend(d.paper)
	if _, err := d.tracker.Submit(t.Context(), limitBuy("10", "90")); !errors.Is(err, errors.ErrOutcomeUnknown) {
		t.Fatalf("first = %v", err)
	}
	d.broker.placeFn = nil
	for _, restart := range []bool{false, true} {
		if restart {
			d.restart(t)
		}
		places := d.broker.place.Load()
		_, err := d.tracker.Submit(t.Context(), limitBuy("10", "90"))
		wantKind(t, err, errors.ErrUnsettledTwin)
		if got := d.broker.place.Load() - places; got != 0 {
			t.Errorf("restart %v: %d orders sent, want 0", restart, got)
		}
	}
	// Another order (other fields) goes through meanwhile.
	if _, err := d.tracker.Submit(t.Context(), limitBuy("10", "91")); err != nil {
		t.Fatal(err)
	}
	d.settle(t)
	if _, err := d.tracker.Submit(t.Context(), limitBuy("10", "90")); err != nil {
		t.Fatalf("after settling: %v", err)
	}
	if n := len(d.atBroker(t)); n != 3 {
		t.Errorf("%d orders at the broker, want 3", n)
	}
}

// failingUpdates is a store whose next Update calls fail.
type failingUpdates struct {
	*order.MemoryStore
	fail atomic.Int64
}

func (s *failingUpdates) Update(ctx context.Context, o order.Order) (order.Order, error) {
	if s.fail.Add(-1) >= 0 {
		return order.Order{}, &errors.OrderError{Op: "store update", Kind: errors.ErrStorage, Reason: "disk full"}
	}
	return s.MemoryStore.Update(ctx, o)
}

// TestPlacedButNotSavedIsNeverAnInvitationToResend: the broker accepted
// the order and the store failed to keep the acknowledgement. Submit
// returns the broker's id and an error matching ErrOutcomeUnknown (it
// returned a bare storage error before, inviting a resend); Reconcile
// adopts the order later.
func TestPlacedButNotSavedIsNeverAnInvitationToResend(t *testing.T) {
	store := &failingUpdates{MemoryStore: order.NewMemoryStore()}
	e := newEnv(t, paper.Config{}, func(cfg *order.Config) { cfg.Store = store })
	store.fail.Store(1) // the save of the acknowledgement
	o, err := e.tracker.Submit(t.Context(), limitBuy("10", "90"))
	wantKind(t, err, errors.ErrOutcomeUnknown)
	if o.BrokerOrderID == "" {
		t.Fatal("the returned order carries no broker id")
	}
	var oe *errors.OrderError
	if !errors.As(err, &oe) || oe.OrderID != o.BrokerOrderID {
		t.Errorf("error %v does not name broker order %s", err, o.BrokerOrderID)
	}
	store.fail.Store(0)
	e.reconcile(t)
	got := e.get(t, o.LocalID)
	wantStatus(t, got, broker.StatusNew)
	if got.BrokerOrderID != o.BrokerOrderID || e.broker.place.Load() != 1 {
		t.Errorf("adopted %q after %d placements; want %q after 1", got.BrokerOrderID, e.broker.place.Load(), o.BrokerOrderID)
	}
}

// TestShutdownNeverCutsASendOff: the caller's context is cancelled (a
// SIGTERM) while PlaceOrder is in flight. The send finishes on its own
// context, the answer is saved, Drain waits for it, and no order is left of
// unknown outcome; afterwards nothing new is taken.
func TestShutdownNeverCutsASendOff(t *testing.T) {
	e := newEnv(t, paper.Config{})
	entered, release := make(chan struct{}), make(chan struct{})
	e.broker.placeFn = func(ctx context.Context, req broker.OrderRequest) (broker.Ack, error) {
		close(entered)
		<-release
		if err := ctx.Err(); err != nil {
			return broker.Ack{}, err // the caller's cancellation reached the send
		}
		return e.paper.PlaceOrder(ctx, req)
	}
	ctx, cancel := context.WithCancel(t.Context())
	type result struct {
		o   order.Order
		err error
	}
	submitted := make(chan result, 1)
	go func() {
		o, err := e.tracker.Submit(ctx, limitBuy("10", "90"))
		submitted <- result{o, err}
	}()
	<-entered
	cancel()
	drained := make(chan error, 1)
	go func() { drained <- e.tracker.Drain(t.Context()) }()
	select {
	case err := <-drained:
		t.Fatalf("Drain returned %v while a send was in flight", err)
	default:
	}
	close(release)
	r := <-submitted
	if err := <-drained; err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if r.err != nil {
		t.Fatalf("Submit: %v", r.err)
	}
	wantStatus(t, r.o, broker.StatusNew)
	open, err := e.store.Open(t.Context(), "paper")
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(open, func(o order.Order) bool { return o.OutcomeUnknown }); i >= 0 {
		t.Errorf("order %s left of unknown outcome", open[i].LocalID)
	}
	_, err = e.tracker.Submit(t.Context(), limitBuy("1", "90"))
	wantKind(t, err, errors.ErrShuttingDown)
}

// leader is a leadership a test can take away.
type leader struct{ lost atomic.Bool }

func (l *leader) Err() error {
	if l.lost.Load() {
		return &errors.OrderError{Op: "lead", Kind: errors.ErrNotLeader, Reason: "lease taken over"}
	}
	return nil
}

// TestLostLeadershipSendsNothing: once the leadership is lost, Submit,
// Cancel and Replace fail with ErrNotLeader and nothing reaches the broker.
func TestLostLeadershipSendsNothing(t *testing.T) {
	l := &leader{}
	e := newEnv(t, paper.Config{}, func(cfg *order.Config) { cfg.Leader = l })
	working := e.submit(t, limitBuy("10", "90"))
	l.lost.Store(true)
	calls := e.broker.calls()
	_, err := e.tracker.Submit(t.Context(), limitBuy("10", "91"))
	wantKind(t, err, errors.ErrNotLeader)
	_, err = e.tracker.Cancel(t.Context(), working.LocalID)
	wantKind(t, err, errors.ErrNotLeader)
	req := limitBuy("10", "89").OrderRequest
	_, err = e.tracker.Replace(t.Context(), working.LocalID, req)
	wantKind(t, err, errors.ErrNotLeader)
	if got := e.broker.calls() - calls; got != 0 {
		t.Errorf("%d broker calls after the leadership was lost, want 0", got)
	}
}

// TestAccountsShareAStoreWithoutTouchingEachOther: two trackers for two
// accounts on one store: each reconciles and lists only its own orders,
// and the same broker order id in both accounts is two different orders.
func TestAccountsShareAStoreWithoutTouchingEachOther(t *testing.T) {
	store := order.NewMemoryStore()
	clk := newClock()
	trackers := map[string]*order.Tracker{}
	papers := map[string]*paper.Broker{}
	for _, acct := range []string{"one", "two"} {
		p, err := paper.New(paper.Config{Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.SetPrice("AAPL", dec("100")); err != nil {
			t.Fatal(err)
		}
		tr, err := order.NewTracker(order.Config{Broker: newCounting(p), Store: store, Clock: clk, Account: acct})
		if err != nil {
			t.Fatal(err)
		}
		trackers[acct], papers[acct] = tr, p
	}
	one, err := trackers["one"].Submit(t.Context(), limitBuy("10", "90"))
	if err != nil {
		t.Fatal(err)
	}
	two, err := trackers["two"].Submit(t.Context(), limitBuy("5", "90"))
	if err != nil {
		t.Fatal(err)
	}
	if one.BrokerOrderID != two.BrokerOrderID {
		t.Fatalf("test premise: both paper brokers should number their first order alike, got %s and %s",
			one.BrokerOrderID, two.BrokerOrderID)
	}
	if err := papers["two"].Execute(t.Context(), two.BrokerOrderID, dec("5"), dec("90")); err != nil {
		t.Fatal(err)
	}
	if _, err := trackers["one"].Reconcile(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, mustGet(t, trackers["one"], one.LocalID), broker.StatusNew)
	wantStatus(t, mustGet(t, trackers["two"], two.LocalID), broker.StatusNew) // two not reconciled yet
	if _, err := trackers["two"].Reconcile(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, mustGet(t, trackers["two"], two.LocalID), broker.StatusFilled)
	wantStatus(t, mustGet(t, trackers["one"], one.LocalID), broker.StatusNew)
	for acct, want := range map[string]string{"one": one.LocalID, "two": two.LocalID} {
		orders, err := trackers[acct].BySymbol(t.Context(), "AAPL")
		if err != nil || len(orders) != 1 || orders[0].LocalID != want {
			t.Errorf("%s BySymbol = %d orders, %v; want only %s", acct, len(orders), err, want)
		}
	}
}

func mustGet(t *testing.T, tr *order.Tracker, id string) order.Order {
	t.Helper()
	o, err := tr.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestOneBrokerOrderBelongsToOneRecord: the memory store refuses to give a
// broker order id to a second record of the same account.
func TestOneBrokerOrderBelongsToOneRecord(t *testing.T) {
	s := order.NewMemoryStore()
	mk := func(n string, brokerID string) order.Order {
		return order.Order{LocalID: "l" + n, ClientOrderID: "c" + n, Account: "acct", BrokerOrderID: brokerID,
			Instrument: aapl, Side: broker.Buy, Type: broker.Market, Quantity: dec("1"),
			TimeInForce: broker.Day, Status: broker.StatusNew}
	}
	if _, err := s.Create(t.Context(), mk("1", "B1")); err != nil {
		t.Fatal(err)
	}
	_, err := s.Create(t.Context(), mk("2", "B1"))
	wantKind(t, err, errors.ErrDuplicateOrder)
	rec, err := s.Create(t.Context(), mk("3", ""))
	if err != nil {
		t.Fatal(err)
	}
	rec.BrokerOrderID = "B1"
	_, err = s.Update(t.Context(), rec)
	wantKind(t, err, errors.ErrDuplicateOrder)
	other := mk("4", "B1")
	other.Account = "elsewhere"
	if _, err := s.Create(t.Context(), other); err != nil {
		t.Errorf("the same broker id in another account: %v", err)
	}
}

func (d *desk) get(t *testing.T, localID string) order.Order {
	t.Helper()
	return mustGet(t, d.tracker, localID)
}
