package order

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/errors"
)

// Defaults for [Config].
const (
	// DefaultUnknownOutcomeLookups is how many lookups Reconcile makes for a
	// placement whose outcome is unknown before it may declare it never placed.
	DefaultUnknownOutcomeLookups = 3
	// DefaultUnknownOutcomeWindow is how long those lookups must span at least.
	DefaultUnknownOutcomeWindow = 2 * time.Minute
	// DefaultSendTimeout bounds one broker write (place, cancel, replace).
	// It is shorter than a container's usual 10 s grace period, so that a
	// write in flight when shutdown begins finishes before the process is
	// killed instead of being cut off into an unknown outcome.
	DefaultSendTimeout = 8 * time.Second
	// DefaultClockSkew is how far the broker's clock may be from ours when
	// a lookup searches the window a lost placement was sent in.
	DefaultClockSkew = 5 * time.Second
)

// maxStaleRetries bounds the re-read-and-re-apply loop on ErrStaleVersion (a
// second process writing the same order through a shared store).
const maxStaleRetries = 8

// lockStripes is the number of per-order mutexes; orders hash onto them.
const lockStripes = 64

// Config configures a [Tracker]. Zero values take the documented defaults.
type Config struct {
	// Broker is where orders are sent. Required. When it implements
	// broker.OrderFinder, Reconcile uses it to settle unknown outcomes.
	Broker broker.Broker
	// Store persists the records; a new MemoryStore when nil.
	Store Store
	// Checker is the pre-trade check run by Submit and Replace; none when nil.
	Checker PreTradeChecker
	// Account is the account the tracker trades: it is recorded on every
	// order created and scopes every read of the store, so several
	// trackers (accounts, brokers) may share one store. The empty string
	// is an account like any other.
	Account string
	// Leader, when set, is this process's leadership of the account: while
	// its Err is not nil the tracker sends nothing to the broker (Submit,
	// Cancel and Replace fail with errors.ErrNotLeader before sending). A
	// standby replica's tracker therefore never trades. Use a store fenced
	// by the same leadership so that a lost leader cannot write either.
	// Nil means this process is the only one trading the account.
	Leader Leader
	// SendTimeout bounds each broker write. The write runs on a context
	// detached from the caller's, so a cancelled caller (shutdown) never
	// cuts a request off mid-flight; DefaultSendTimeout when 0.
	SendTimeout time.Duration
	// ClockSkew widens the window a lookup of a lost placement searches;
	// DefaultClockSkew when 0.
	ClockSkew time.Duration
	// Alert, when set, is told (with an *errors.OrderError matching
	// errors.ErrOutcomeUnknown) when an unknown outcome cannot be settled:
	// several candidates fit, the lookups could not prove absence within
	// UnknownOutcomeWindow, or the broker offers no lookup. It must not
	// block nor call the tracker.
	Alert func(error)
	// Clock is the time source (record times, send timeouts, lookup
	// windows); nil means clock.Real.
	Clock clock.Clock
	// Logger receives diagnostics; silent when nil.
	Logger *slog.Logger
	// UnknownOutcomeLookups is how many lookups Reconcile makes for a
	// placement whose outcome is unknown before it may declare it never
	// placed; DefaultUnknownOutcomeLookups when 0.
	UnknownOutcomeLookups int
	// UnknownOutcomeWindow is the least time from the first unknown outcome
	// to that declaration (brokers are eventually consistent: an accepted
	// order can be invisible for a moment); DefaultUnknownOutcomeWindow when 0.
	UnknownOutcomeWindow time.Duration
}

// Tracker follows orders at one broker: it submits, cancels and replaces
// them, applies fills and status reports, reconciles with the broker and
// tells subscribers. It is safe for concurrent use. Several trackers (or
// processes) may share a Store: the store's version check keeps every change.
type Tracker struct {
	broker broker.Broker
	finder broker.OrderFinder // nil when the broker has none
	// checkOrder refuses locally what the broker is known to refuse; nil
	// when the broker says nothing.
	checkOrder broker.OrderChecker
	store      Store
	memory     *MemoryStore // store, when it is the memory store: reads and saves without copies
	checker    PreTradeChecker
	account    string
	now        func() time.Time
	log        *slog.Logger
	lookups    int
	window     time.Duration
	leader     Leader
	alertFn    func(error)
	// sendTimeout and skew bound the window a lookup searches.
	sendTimeout, skew time.Duration

	unresolved unresolvedSet // placements without a broker id, by twin key

	drainMu  sync.Mutex
	draining bool
	sending  sync.WaitGroup // broker writes in flight

	locks    [lockStripes]sync.Mutex // per-order read-modify-write, by local id hash
	appliers sync.Pool               // of *applier, reused by mutate

	inflightMu sync.Mutex
	inflight   map[string]struct{} // local ids being placed by this tracker

	subsMu  sync.Mutex
	subs    []subscription // in subscription order
	nextSub uint64

	queueMu    sync.Mutex
	queue      []Update
	delivering bool

	stream streamCounters
}

// NewTracker validates cfg and returns a tracker. A missing broker or a
// negative setting is an error matching errors.ErrConfiguration.
func NewTracker(cfg Config) (*Tracker, error) {
	switch {
	case cfg.Broker == nil:
		return nil, configError("Broker is required")
	case cfg.UnknownOutcomeLookups < 0:
		return nil, configError("UnknownOutcomeLookups must not be negative")
	case cfg.UnknownOutcomeWindow < 0:
		return nil, configError("UnknownOutcomeWindow must not be negative")
	case cfg.SendTimeout < 0 || cfg.ClockSkew < 0:
		return nil, configError("SendTimeout and ClockSkew must not be negative")
	}
	t := &Tracker{
		broker:      cfg.Broker,
		store:       cfg.Store,
		checker:     cfg.Checker,
		account:     cfg.Account,
		now:         clock.Or(cfg.Clock).Now,
		log:         cfg.Logger,
		lookups:     cfg.UnknownOutcomeLookups,
		window:      cfg.UnknownOutcomeWindow,
		leader:      cfg.Leader,
		alertFn:     cfg.Alert,
		sendTimeout: cmp.Or(cfg.SendTimeout, DefaultSendTimeout),
		skew:        cmp.Or(cfg.ClockSkew, DefaultClockSkew),
		inflight:    make(map[string]struct{}),
	}
	t.appliers.New = func() any { return new(applier) }
	t.finder, _ = broker.Find[broker.OrderFinder](cfg.Broker)
	t.checkOrder, _ = broker.Find[broker.OrderChecker](cfg.Broker)
	if t.store == nil {
		t.store = NewMemoryStore()
	}
	t.memory, _ = t.store.(*MemoryStore)
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	if t.lookups == 0 {
		t.lookups = DefaultUnknownOutcomeLookups
	}
	if t.window == 0 {
		t.window = DefaultUnknownOutcomeWindow
	}
	return t, nil
}

// Leader is one process's leadership of an account, held for the life of
// the process that trades it (see Config.Leader). Implementations are safe
// for concurrent use.
type Leader interface {
	// Err returns nil while the leadership is held, and an error matching
	// errors.ErrNotLeader once it was lost or released. It does no I/O: it
	// is asked before every broker write.
	Err() error
}

// alert tells the host about an order it must look at.
func (t *Tracker) alert(err error) {
	t.log.Warn("order: needs attention", "err", err)
	if t.alertFn != nil {
		t.alertFn(err)
	}
}

func configError(reason string) error {
	return &errors.OrderError{Op: "new tracker", Kind: errors.ErrConfiguration, Reason: reason}
}

// Subscribe registers fn to receive every [Update]: each applied fill and
// each status change (an order's first update, when it is created, has
// PrevStatus broker.StatusUnknown). Updates of one order arrive in the order
// they were stored.
//
// Delivery is synchronous and outside the tracker's locks: the goroutine
// whose call stored a change delivers it before returning, unless another
// goroutine is delivering at that moment, which then delivers it too (one
// goroutine delivers at a time, so fn is never called concurrently). fn may
// call the tracker (Submit a protective stop, say); what that call changes
// is delivered after fn returns. fn must not block for long.
//
// cancel removes the subscription; it is safe to call more than once.
func (t *Tracker) Subscribe(fn func(Update)) (cancel func()) {
	t.subsMu.Lock()
	defer t.subsMu.Unlock()
	t.nextSub++
	id := t.nextSub
	t.subs = append(t.subs, subscription{id: id, fn: fn})
	return func() {
		t.subsMu.Lock()
		defer t.subsMu.Unlock()
		t.subs = slices.DeleteFunc(t.subs, func(s subscription) bool { return s.id == id })
	}
}

type subscription struct {
	id uint64
	fn func(Update)
}

func (t *Tracker) hasSubscribers() bool {
	t.subsMu.Lock()
	defer t.subsMu.Unlock()
	return len(t.subs) > 0
}

func (t *Tracker) subscribers() []func(Update) {
	t.subsMu.Lock()
	defer t.subsMu.Unlock()
	out := make([]func(Update), len(t.subs))
	for i, s := range t.subs {
		out[i] = s.fn
	}
	return out
}

// enqueue queues updates for delivery. Called with the order's lock held, so
// that the queue order of one order's updates is the order they were stored.
func (t *Tracker) enqueue(us []Update) {
	if len(us) == 0 {
		return
	}
	t.queueMu.Lock()
	t.queue = append(t.queue, us...)
	t.queueMu.Unlock()
}

// deliver hands queued updates to the subscribers unless another goroutine
// is already doing so. Called with no lock held. The flag is cleared under
// the same lock that saw the queue empty, so no update is left behind.
func (t *Tracker) deliver() {
	t.queueMu.Lock()
	if t.delivering {
		t.queueMu.Unlock()
		return
	}
	t.delivering = true
	for len(t.queue) > 0 {
		batch := t.queue
		t.queue = nil
		t.queueMu.Unlock()
		t.handOut(batch)
		t.queueMu.Lock()
	}
	t.delivering = false
	t.queueMu.Unlock()
}

// handOut calls every subscriber with every update of batch. A subscriber
// that panics ends the delivery (the panic goes on to the caller) without
// leaving the tracker believing it is still delivering.
func (t *Tracker) handOut(batch []Update) {
	done := false
	defer func() {
		if !done {
			t.queueMu.Lock()
			t.delivering = false
			t.queueMu.Unlock()
		}
	}()
	subs := t.subscribers()
	for _, u := range batch {
		for _, fn := range subs {
			fn(u)
		}
	}
	done = true
}

func (t *Tracker) lockFor(localID string) *sync.Mutex {
	// FNV-1a, inline so that locking allocates nothing.
	h := uint32(2166136261)
	for i := 0; i < len(localID); i++ {
		h ^= uint32(localID[i])
		h *= 16777619
	}
	return &t.locks[h%lockStripes]
}

func (t *Tracker) setInflight(localID string, on bool) {
	t.inflightMu.Lock()
	defer t.inflightMu.Unlock()
	if on {
		t.inflight[localID] = struct{}{}
	} else {
		delete(t.inflight, localID)
	}
}

func (t *Tracker) isInflight(localID string) bool {
	t.inflightMu.Lock()
	defer t.inflightMu.Unlock()
	_, ok := t.inflight[localID]
	return ok
}

// mutation is the result of one read-modify-write of a record.
type mutation struct {
	order   Order
	changed bool
}

// mutate reads the order, applies fn and saves the result when fn changed
// it, under the order's lock; a stale version (another writer) re-reads and
// re-applies. fn's error is returned with the saved record: an overfill
// both flags the order and fails.
func (t *Tracker) mutate(ctx context.Context, localID string, fn func(*applier) error) (res mutation, err error) {
	mu := t.lockFor(localID)
	mu.Lock()
	updates, err := t.mutateLocked(ctx, localID, fn, &res)
	t.enqueue(updates)
	mu.Unlock()
	t.deliver()
	return res, err
}

// mutateLocked is mutate with the order's lock held. It writes the result
// into res rather than returning it: a record is large, and each copy of
// it counts on the hot path of Apply.
func (t *Tracker) mutateLocked(ctx context.Context, localID string, fn func(*applier) error, res *mutation) ([]Update, error) {
	a := t.appliers.Get().(*applier)
	defer func() {
		*a = applier{}
		t.appliers.Put(a)
	}()
	notify := t.hasSubscribers()
	for attempt := 0; ; attempt++ {
		var o Order // as read: returned when nothing is saved
		if err := t.read(ctx, localID, &o); err != nil {
			return nil, err
		}
		a.o, a.now, a.changed, a.notify, a.updates = o, t.now(), false, notify, nil
		ferr := fn(a)
		if !a.changed {
			t.private(&res.order, &o)
			return nil, ferr
		}
		err := t.save(ctx, &a.o)
		if errors.Is(err, errors.ErrStaleVersion) && attempt < maxStaleRetries {
			continue
		}
		if err != nil {
			t.private(&res.order, &o)
			return nil, err
		}
		if o.BrokerOrderID == "" {
			t.settled(&a.o)
		}
		for i := range a.updates {
			a.updates[i].Order.Version = a.o.Version
		}
		t.private(&res.order, &a.o)
		res.changed = true
		return a.updates, ferr
	}
}

// read sets *dst to the stored record for a read-modify-write. From the memory
// store it shares the stored fills: the applier only appends to them.
func (t *Tracker) read(ctx context.Context, localID string, dst *Order) error {
	if t.memory != nil {
		return t.memory.getShared(ctx, localID, dst)
	}
	o, err := t.store.Get(ctx, localID)
	*dst = o
	return err
}

// save stores *o, whose fills the tracker will not write into again (the
// memory store keeps them without a copy), and on success sets *o to the
// stored record.
func (t *Tracker) save(ctx context.Context, o *Order) error {
	if t.memory != nil {
		return t.memory.updateOwned(ctx, o)
	}
	saved, err := t.store.Update(ctx, *o)
	if err == nil {
		*o = saved
	}
	return err
}

// private sets *dst to a record a caller may change: a copy of *src, with
// its own fills when they came from (or went to) the memory store.
func (t *Tracker) private(dst, src *Order) {
	*dst = *src
	if t.memory != nil && src.Fills != nil {
		dst.Fills = append([]broker.Fill(nil), src.Fills...) // as Order.Clone
	}
}

// create stores a new record and tells the subscribers.
func (t *Tracker) create(ctx context.Context, o Order) (Order, error) {
	mu := t.lockFor(o.LocalID)
	mu.Lock()
	rec, err := t.store.Create(ctx, o)
	if err == nil {
		t.enqueue([]Update{{Order: rec, PrevStatus: broker.StatusUnknown}})
	}
	mu.Unlock()
	t.deliver()
	return rec, err
}

// Get returns the order with that local id, or an error matching
// errors.ErrOrderNotFound.
func (t *Tracker) Get(ctx context.Context, localID string) (Order, error) {
	return t.store.Get(ctx, localID)
}

// ByClientOrderID returns the order with that client order id, or an error
// matching errors.ErrOrderNotFound.
func (t *Tracker) ByClientOrderID(ctx context.Context, id string) (Order, error) {
	return t.store.ByClientOrderID(ctx, t.account, id)
}

// BySymbol returns every order for the symbol, oldest first.
func (t *Tracker) BySymbol(ctx context.Context, symbol string) ([]Order, error) {
	return t.store.BySymbol(ctx, t.account, symbol)
}

// Open returns every non-terminal order, oldest first.
func (t *Tracker) Open(ctx context.Context) ([]Order, error) {
	return t.store.Open(ctx, t.account)
}

// orderError wraps err with the order's identifiers. kind is the error's
// own kind; the zero kind takes err's (most specific) kind.
func orderError(op string, o Order, kind errors.Kind, reason string, err error) error {
	if kind == "" {
		kind = errors.KindOf(err)
	}
	return &errors.OrderError{Op: op, LocalID: o.LocalID, ClientOrderID: o.ClientOrderID,
		OrderID: o.BrokerOrderID, Symbol: o.Instrument.Symbol, Kind: kind, Reason: reason, Err: err}
}
