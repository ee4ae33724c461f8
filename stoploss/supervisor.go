package stoploss

import (
	"context"
	"slices"
	"strconv"
	"sync"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/shopspring/decimal"
)

// Supervisor protects the positions of one account. Create it with [New];
// it is safe for concurrent use and starts no goroutine ([Supervisor.Run]
// is the caller's).
type Supervisor struct {
	cfg  Config
	caps broker.Capabilities
	mode Mode

	unsubscribe func()

	qmu     sync.Mutex
	pending map[string]*news // tracker updates not yet handled, by symbol
	wake    chan struct{}    // signalled when an update arrives

	mu         sync.Mutex // one action at a time in this process
	verifiedAt int64      // clock nanos of the last verification; 0 = never
	dataMiss   map[string]int
	placeFail  map[string]int
	verifyFail int // consecutive failed verifications

	hmu    sync.Mutex
	beat   Heartbeat
	totals Totals

	feed quoteFeed // the quote stream followed, if any
}

// New validates cfg, subscribes to the tracker and returns a supervisor.
// An invalid cfg returns an error matching errors.ErrConfiguration. Call
// Close to unsubscribe.
func New(cfg Config) (*Supervisor, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	caps := cfg.Broker.Capabilities()
	if caps.QuoteBatchSize <= 0 {
		return nil, configError("broker reports a QuoteBatchSize of " + strconv.Itoa(caps.QuoteBatchSize))
	}
	s := &Supervisor{
		cfg:       cfg,
		caps:      caps,
		mode:      chooseMode(cfg.Mode, caps),
		wake:      make(chan struct{}, 1),
		pending:   make(map[string]*news),
		dataMiss:  make(map[string]int),
		placeFail: make(map[string]int),
	}
	s.unsubscribe = cfg.Orders.Subscribe(s.receive)
	return s, nil
}

// Close stops receiving tracker updates. It is safe to call more than once.
func (s *Supervisor) Close() { s.unsubscribe() }

// Unprotected lists the account's positions that nothing at the broker
// protects: those watched synthetically, and those whose resting stop is
// missing (not yet placed, or being re-placed). It is what a host reports
// at shutdown, when the watching ends; shutting down never cancels the
// resting stops, which protect the other positions while no process runs.
func (s *Supervisor) Unprotected(ctx context.Context) ([]Protection, error) {
	recs, err := s.cfg.Store.List(ctx, s.cfg.Account)
	if err != nil {
		return nil, err
	}
	var out []Protection
	for _, r := range recs {
		if r.Quantity.IsZero() {
			continue
		}
		if r.Mode == ModeSynthetic || r.StopOrderID == "" {
			out = append(out, r)
		}
	}
	return out, nil
}

// Mode returns the protection mode chosen for the broker.
func (s *Supervisor) Mode() Mode { return s.mode }

// Heartbeat returns the supervisor's health.
func (s *Supervisor) Heartbeat() Heartbeat {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	return s.beat
}

// Totals returns what the supervisor did since it was created.
func (s *Supervisor) Totals() Totals {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	return s.totals
}

// receive is the tracker subscription: it only notes what matters (fills,
// and protective orders that ended unfilled), because the tracker may
// deliver on the goroutine of a call the supervisor itself is making. The
// updates are folded per symbol at once, so what waits for the next
// HandleUpdates is bounded by the number of symbols, however many arrive.
func (s *Supervisor) receive(u order.Update) {
	// A replaced protective order is the supervisor's own doing (a stop
	// replaced by anyone else is found by the next verification).
	deadProtective := u.Order.Protective && u.Order.Terminal() &&
		u.Order.Status != broker.StatusFilled && u.Order.Status != broker.StatusReplaced
	if u.Fill == nil && !deadProtective {
		return
	}
	s.qmu.Lock()
	n := s.pending[u.Order.Instrument.Symbol]
	if n == nil {
		n = &news{}
		s.pending[u.Order.Instrument.Symbol] = n
	}
	n.note(u)
	s.qmu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// takePending returns the news received since the last call.
func (s *Supervisor) takePending() map[string]*news {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	p := s.pending
	s.pending = make(map[string]*news)
	return p
}

// restore puts news that could not be handled back, before what arrived
// meanwhile.
func (s *Supervisor) restore(old map[string]*news) {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	for sym, o := range old {
		if n := s.pending[sym]; n != nil {
			o.merge(n)
		}
		s.pending[sym] = o
	}
}

// news is what a batch of updates says about one symbol.
type news struct {
	class      broker.AssetClass
	openingKey string          // the first fill's order and exec id
	stopLoss   decimal.Decimal // an entry order's StopLossPrice
	takeProfit decimal.Decimal // an entry order's TakeProfitPrice
	// protectiveFills are client order ids of protective orders that filled.
	protectiveFills []string
	// dead are client order ids of protective orders that ended unfilled.
	dead []string
	// lostStop: the resting stop is known not to be working any more.
	lostStop bool
}

// note folds one update into the news.
func (n *news) note(u order.Update) {
	o := u.Order
	if n.class == 0 {
		n.class = o.Instrument.AssetClass
	}
	if u.Fill == nil {
		n.dead = append(n.dead, o.ClientOrderID)
		return
	}
	if n.openingKey == "" {
		n.openingKey = o.ClientOrderID + "/" + u.Fill.ExecID
	}
	switch {
	case o.Protective:
		n.protectiveFills = append(n.protectiveFills, o.ClientOrderID)
	default:
		if o.StopLossPrice.IsPositive() {
			n.stopLoss = o.StopLossPrice
		}
		if o.TakeProfitPrice.IsPositive() {
			n.takeProfit = o.TakeProfitPrice
		}
	}
}

// merge adds later news to n.
func (n *news) merge(later *news) {
	if n.class == 0 {
		n.class = later.class
	}
	if n.openingKey == "" {
		n.openingKey = later.openingKey
	}
	if later.stopLoss.IsPositive() {
		n.stopLoss = later.stopLoss
	}
	if later.takeProfit.IsPositive() {
		n.takeProfit = later.takeProfit
	}
	n.protectiveFills = append(n.protectiveFills, later.protectiveFills...)
	n.dead = append(n.dead, later.dead...)
}

// report records an event in rep and in the totals.
func (s *Supervisor) report(rep *Report, e Event) {
	rep.Events = append(rep.Events, e)
	s.hmu.Lock()
	s.totals.add(e.Kind)
	s.hmu.Unlock()
	if e.Err != nil {
		s.cfg.Logger.Warn("stoploss: "+e.Kind.String(), "account", s.cfg.Account, "symbol", e.Symbol, "error", e.Err)
	}
}

// fail records a failure about sym as a *errors.StopLossError of kind.
func (s *Supervisor) fail(rep *Report, rec Protection, kind errors.Kind, reason string, cause error) {
	err := &errors.StopLossError{Account: s.cfg.Account, Symbol: rec.Symbol, Quantity: rec.Quantity.String(),
		StopPrice: decString(rec.StopPrice), Reason: reason, Kind: kind, Err: cause}
	s.report(rep, Event{Kind: EventFailed, Symbol: rec.Symbol, Quantity: rec.Quantity, StopPrice: rec.StopPrice, Err: err})
}

func decString(d decimal.Decimal) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

// HandleUpdates applies the tracker updates received since the last call:
// stops are placed, resized or cancelled to match the broker's positions.
// Sweep and Run call it; a host that drives the supervisor itself calls it
// after each tracker call that may fill.
func (s *Supervisor) HandleUpdates(ctx context.Context) (Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rep := Report{Account: s.cfg.Account, Start: s.cfg.Clock.Now()}
	release, ok, err := s.acquire(ctx)
	if err != nil || !ok {
		rep.Skipped = true
		return s.finish(rep, err), err
	}
	defer release()
	s.applyUpdates(ctx, &rep)
	if len(rep.Events) == 0 {
		return rep, nil // nothing to report: no hook call
	}
	return s.finish(rep, nil), nil
}

// acquire makes sure this supervisor may act for the account now: through
// Config.Leader when set (held for the life of the process; a lost
// leadership refuses with errors.ErrNotLeader), else by taking Config.Lock
// for this one call.
func (s *Supervisor) acquire(ctx context.Context) (release func(), ok bool, err error) {
	if s.cfg.Leader == nil {
		return s.cfg.Lock.TryAcquire(ctx, s.cfg.Account)
	}
	if err := s.cfg.Leader.Err(); err != nil {
		return nil, false, &errors.StopLossError{Account: s.cfg.Account, Kind: errors.ErrNotLeader,
			Reason: "this process does not lead the account; nothing done", Err: err}
	}
	return func() {}, true, nil
}

// finish stamps the duration and hands the report to the host's hook.
func (s *Supervisor) finish(rep Report, err error) Report {
	rep.Duration = s.cfg.Clock.Now().Sub(rep.Start)
	if s.cfg.OnSweep != nil {
		s.cfg.OnSweep(rep)
	}
	return rep
}

// applyUpdates handles the news received since the last call: one
// Positions call for the batch, then each touched symbol is brought in line
// with it.
func (s *Supervisor) applyUpdates(ctx context.Context, rep *Report) {
	bySymbol := s.takePending()
	if len(bySymbol) == 0 {
		return
	}
	positions, err := s.positions(ctx)
	if err != nil {
		s.restore(bySymbol)
		s.fail(rep, Protection{}, errors.ErrRiskDataUnavailable, "positions unavailable: updates kept for the next attempt", err)
		return
	}
	for _, sym := range sortedKeys(bySymbol) {
		s.sync(ctx, rep, sym, bySymbol[sym], positions[sym])
	}
	if s.following() {
		s.refreshLevels(ctx)
	}
}

// following reports whether a quote stream is followed.
func (s *Supervisor) following() bool {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	return s.feed.stream != nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// positions reads the broker's positions by symbol.
func (s *Supervisor) positions(ctx context.Context) (map[string]broker.Position, error) {
	list, err := s.cfg.Broker.Positions(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]broker.Position, len(list))
	for _, p := range list {
		m[p.Instrument.Symbol] = p
	}
	return m, nil
}

// sync brings one symbol's record and protective order in line with the
// broker's position pos (zero when flat).
func (s *Supervisor) sync(ctx context.Context, rep *Report, sym string, n *news, pos broker.Position) {
	rec, found, err := s.cfg.Store.Get(ctx, s.cfg.Account, sym)
	if err != nil {
		s.fail(rep, Protection{Symbol: sym}, errors.ErrStorage, "store read failed", err)
		return
	}
	if found {
		s.noteStopNews(ctx, &rec, n)
	}
	qty := pos.Quantity
	switch {
	case qty.IsZero():
		if found {
			s.retire(ctx, rep, rec, n)
		}
		return
	case found && !rec.Quantity.IsZero() && rec.Quantity.Sign() != qty.Sign():
		s.retire(ctx, rep, rec, n) // flipped: the old position is gone
		found = false
	case found && s.closeFilled(ctx, rec):
		// The position was closed and opened again before the close's fill
		// was handled: the open quantity is a new position, which needs its
		// own stop (a record left closing would never protect it).
		s.retire(ctx, rep, rec, n)
		found = false
	}
	if !found {
		rec = s.open(rep, sym, n, pos)
	} else {
		s.resize(&rec, n, pos)
	}
	if err := s.ensureStop(ctx, rep, &rec, n); err != nil {
		s.fail(rep, rec, errors.ErrStopNotPlaced, "protective stop not placed", err)
	}
}

// closeFilled reports whether the record's close order filled completely.
func (s *Supervisor) closeFilled(ctx context.Context, rec Protection) bool {
	if rec.CloseClientOrderID == "" {
		return false
	}
	o, err := s.cfg.Orders.ByClientOrderID(ctx, rec.CloseClientOrderID)
	return err == nil && o.Status == broker.StatusFilled
}

// noteStopNews applies what the updates say about the record's own stop.
func (s *Supervisor) noteStopNews(ctx context.Context, rec *Protection, n *news) {
	if rec.StopOrderID == "" {
		return
	}
	if slices.Contains(n.dead, rec.StopClientOrderID) {
		rec.StopOrderID, n.lostStop = "", true
		return
	}
	if slices.Contains(n.protectiveFills, rec.StopClientOrderID) {
		// The stop partly filled: what is left of it is what it protects.
		if o, err := s.cfg.Orders.Get(ctx, rec.StopOrderID); err == nil {
			rec.StopQuantity = o.Remaining()
			if o.Terminal() {
				rec.StopOrderID = ""
			}
		}
	}
}

// open starts the record of a position that was flat (or unknown).
func (s *Supervisor) open(rep *Report, sym string, n *news, pos broker.Position) Protection {
	long := pos.Quantity.IsPositive()
	entry := pos.AvgCost
	class := n.class
	if class == 0 {
		class = pos.Instrument.AssetClass
	}
	key := n.openingKey
	if key == "" { // found at the broker, not through a fill
		key = "adopted/" + strconv.FormatInt(s.cfg.Clock.Now().UnixNano(), 10)
	}
	pol := s.policy(sym)
	rec := Protection{
		Account: s.cfg.Account, Symbol: sym, AssetClass: class,
		Quantity: pos.Quantity, EntryPrice: entry,
		Epoch: broker.DeriveClientOrderID(s.cfg.Account, sym, key),
		Mode:  s.mode, BestPrice: entry,
		TakeProfitPrice: pol.takeProfit(entry, n.takeProfit, long),
	}
	stop, err := pol.initialStop(entry, n.stopLoss, long)
	if err != nil {
		s.fail(rep, rec, errors.ErrStopNotPlaced, "no valid stop for the position", err)
	}
	rec.StopPrice = stop
	rec.Mode = s.modeFor(rec)
	if n.openingKey == "" {
		s.report(rep, Event{Kind: EventPositionAdopted, Symbol: sym, Quantity: rec.Quantity, StopPrice: stop})
	}
	return rec
}

// modeFor asks the broker, when it can say (broker.OrderChecker), whether
// it would take the protective order the chosen mode sends for rec, and
// falls back (native stop, then stop-limit, then synthetic) to one it
// would: a stop the broker refuses leaves the position naked. A mode the
// host forced is kept.
func (s *Supervisor) modeFor(rec Protection) Mode {
	checker, ok := broker.Find[broker.OrderChecker](s.cfg.Broker)
	if !ok || s.cfg.Mode != ModeAuto || rec.StopPrice.IsZero() {
		return rec.Mode
	}
	for _, m := range []Mode{ModeNativeStop, ModeNativeStopLimit} {
		if m < rec.Mode || m == ModeNativeStopLimit && !s.caps.StopLimit {
			continue
		}
		probe := rec
		probe.Mode = m
		if checker.CheckOrder(s.stopRequest(probe, broker.NewClientOrderID())) == nil {
			return m
		}
	}
	return ModeSynthetic
}

// resize takes the broker's quantity and cost for a position that stays
// open, and an entry order's tighter stop or new take-profit.
func (s *Supervisor) resize(rec *Protection, n *news, pos broker.Position) {
	rec.Quantity = pos.Quantity
	if pos.AvgCost.IsPositive() {
		rec.EntryPrice = pos.AvgCost
	}
	if n.stopLoss.IsPositive() {
		rec.StopPrice = tighter(rec.StopPrice, n.stopLoss, rec.Long())
	}
	if n.takeProfit.IsPositive() {
		rec.TakeProfitPrice = n.takeProfit
	}
}

// retire ends a record whose position is flat (or flipped): its resting stop
// is cancelled and the record deleted.
func (s *Supervisor) retire(ctx context.Context, rep *Report, rec Protection, n *news) {
	if rec.StopOrderID != "" {
		if err := s.cancel(ctx, rec.StopOrderID); err != nil {
			s.fail(rep, rec, errors.ErrStopNotPlaced, "cancel of the stop of a closed position failed", err)
		} else {
			s.report(rep, Event{Kind: EventStopCancelled, Symbol: rec.Symbol, StopPrice: rec.StopPrice, ClientOrderID: rec.StopClientOrderID})
		}
	}
	if n != nil && rec.StopClientOrderID != "" && slices.Contains(n.protectiveFills, rec.StopClientOrderID) {
		s.report(rep, Event{Kind: EventStoppedOut, Symbol: rec.Symbol, Quantity: rec.Quantity,
			StopPrice: rec.StopPrice, ClientOrderID: rec.StopClientOrderID})
	}
	if err := s.cfg.Store.Delete(ctx, rec.Account, rec.Symbol, rec.Version); err != nil {
		s.fail(rep, rec, errors.ErrStorage, "store delete failed", err)
		return
	}
	delete(s.dataMiss, rec.Symbol)
	delete(s.placeFail, rec.Symbol)
	s.report(rep, Event{Kind: EventPositionClosed, Symbol: rec.Symbol, Quantity: rec.Quantity})
}

// cancel cancels an order through the tracker; an order that is already
// closed or unknown is not an error.
func (s *Supervisor) cancel(ctx context.Context, localID string) error {
	_, err := s.cfg.Orders.Cancel(ctx, localID)
	if errors.Is(err, errors.ErrOrderNotCancelable) || errors.Is(err, errors.ErrOrderNotFound) {
		return nil
	}
	return err
}

// policy returns the symbol's policy.
func (s *Supervisor) policy(sym string) Policy {
	if p, ok := s.cfg.Policies[sym]; ok {
		return p
	}
	return s.cfg.DefaultPolicy
}

// save stores rec and keeps the new version in it.
func (s *Supervisor) save(ctx context.Context, rec *Protection) error {
	rec.UpdatedAt = s.cfg.Clock.Now()
	saved, err := s.cfg.Store.Save(ctx, *rec)
	if err != nil {
		return err
	}
	*rec = saved
	return nil
}

// stopID is the client order id of the record's protective order number seq.
func (s *Supervisor) stopID(rec Protection, seq int) string {
	return broker.DeriveClientOrderID(s.cfg.Account, rec.Symbol, rec.Epoch, "stop", strconv.Itoa(seq))
}

// closeID is the client order id of the record's closing order.
func (s *Supervisor) closeID(rec Protection) string {
	return broker.DeriveClientOrderID(s.cfg.Account, rec.Symbol, rec.Epoch, "close", strconv.Itoa(rec.CloseAttempt))
}

// closingSide is the side that reduces the position.
func closingSide(rec Protection) broker.Side {
	switch {
	case rec.Long():
		return broker.Sell
	case rec.AssetClass == broker.Crypto:
		return broker.Buy
	}
	return broker.BuyToCover
}

// stopRequest is the protective order for rec.
func (s *Supervisor) stopRequest(rec Protection, clientID string) broker.OrderRequest {
	req := broker.OrderRequest{
		ClientOrderID: clientID,
		Instrument:    broker.Instrument{Symbol: rec.Symbol, AssetClass: rec.AssetClass},
		Side:          closingSide(rec),
		Type:          broker.Stop,
		Quantity:      rec.Quantity.Abs(),
		StopPrice:     rec.StopPrice,
		TimeInForce:   broker.GTC,
	}
	if rec.Mode == ModeNativeStopLimit {
		req.Type = broker.StopLimit
		slip := rec.StopPrice.Mul(s.cfg.StopLimitSlippagePercent).Div(hundred)
		req.LimitPrice = s.policy(rec.Symbol).round(away(rec.StopPrice, slip, rec.Long()))
	}
	return req
}

// ensureStop makes the resting protective order match the record (placing,
// resizing or moving it) and saves the record.
//
// n says whether the previous stop was lost, and which protective orders
// are known dead although the tracker may still think them working.
func (s *Supervisor) ensureStop(ctx context.Context, rep *Report, rec *Protection, n *news) error {
	if !rec.Mode.native() || rec.StopPrice.IsZero() || rec.CloseReason != "" {
		return s.save(ctx, rec)
	}
	if rec.StopOrderID == "" {
		kind := EventStopPlaced
		if n.lostStop {
			kind = EventStopRestored
		}
		return s.placeStop(ctx, rep, rec, n, kind)
	}
	if rec.StopQuantity.Equal(rec.Quantity.Abs()) && rec.StopOrderPrice.Equal(rec.StopPrice) {
		return s.save(ctx, rec)
	}
	kind := EventStopResized
	if rec.StopQuantity.Equal(rec.Quantity.Abs()) {
		kind = EventStopTrailed
	}
	return s.moveStop(ctx, rep, rec, kind)
}

// placeStop places the record's protective order. Before sending it looks
// up the ids this epoch already used: a live one (sent before a crash, or by
// another replica through the same tracker store) is adopted, never doubled.
// kind is the event reported when an order is sent.
func (s *Supervisor) placeStop(ctx context.Context, rep *Report, rec *Protection, n *news, kind EventKind) error {
	currentUsed := false
	for seq := rec.StopSeq; seq >= 1; seq-- {
		id := s.stopID(*rec, seq)
		o, err := s.cfg.Orders.ByClientOrderID(ctx, id)
		if errors.Is(err, errors.ErrOrderNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if seq == rec.StopSeq {
			currentUsed = true
		}
		// An order whose cancel is pending is dying: never adopted.
		if !o.Terminal() && o.Status != broker.StatusPendingCancel && !slices.Contains(n.dead, id) {
			// StopSeq keeps the highest id used: a later stop gets a new one.
			rec.StopOrderID, rec.StopClientOrderID = o.LocalID, o.ClientOrderID
			rec.StopQuantity, rec.StopOrderPrice = o.Remaining(), o.StopPrice
			return s.ensureStop(ctx, rep, rec, n)
		}
	}
	if rec.StopSeq == 0 || currentUsed {
		rec.StopSeq++
	}
	rec.StopClientOrderID = s.stopID(*rec, rec.StopSeq)
	if err := s.save(ctx, rec); err != nil { // the id is saved before it is sent
		return err
	}
	req := s.stopRequest(*rec, rec.StopClientOrderID)
	o, err := s.cfg.Orders.Submit(ctx, order.Request{OrderRequest: req, Protective: true})
	if err != nil {
		if o.LocalID != "" && !o.Terminal() { // outcome unknown: the tracker settles it
			rec.StopOrderID, rec.StopQuantity, rec.StopOrderPrice = o.LocalID, req.Quantity, req.StopPrice
			_ = s.save(ctx, rec)
		}
		return err
	}
	rec.StopOrderID, rec.StopQuantity, rec.StopOrderPrice = o.LocalID, req.Quantity, req.StopPrice
	if err := s.save(ctx, rec); err != nil {
		return err
	}
	s.report(rep, Event{Kind: kind, Symbol: rec.Symbol, Quantity: rec.Quantity, StopPrice: rec.StopPrice, ClientOrderID: rec.StopClientOrderID})
	return nil
}

// cancelAndPlace moves the stop on a broker without replace: the old stop
// is cancelled and the new one placed only once the cancel is confirmed. A
// new stop beside one whose cancel is pending (or that filled meanwhile)
// could fill with it and flip the position; the fills or the confirmation
// arrive as updates, and the next sync places the stop from truth.
func (s *Supervisor) cancelAndPlace(ctx context.Context, rep *Report, rec *Protection, kind EventKind) error {
	o, err := s.cfg.Orders.Get(ctx, rec.StopOrderID)
	if err == nil && !o.Terminal() && o.Status != broker.StatusPendingCancel {
		o, err = s.cfg.Orders.Cancel(ctx, rec.StopOrderID)
	}
	switch {
	case errors.Is(err, errors.ErrOrderNotFound) || err == nil && o.Status == broker.StatusCanceled:
		rec.StopOrderID = ""
		return s.placeStop(ctx, rep, rec, &news{dead: []string{rec.StopClientOrderID}}, kind)
	case errors.Is(err, errors.ErrOrderNotCancelable) || err == nil && o.Terminal():
		rec.StopOrderID = "" // it filled: the next sync sizes the stop to what is left
		_ = s.save(ctx, rec)
		return &errors.StopLossError{Account: s.cfg.Account, Symbol: rec.Symbol, Kind: errors.ErrStopNotPlaced,
			Reason: "the previous stop ended before its cancel; placed again after its fills", Err: err}
	case err != nil:
		return err
	}
	return &errors.StopLossError{Account: s.cfg.Account, Symbol: rec.Symbol, Kind: errors.ErrStopNotPlaced,
		Reason: "the previous stop's cancel is pending; the new stop waits for it"}
}

// moveStop replaces the resting stop with one of the record's size and price.
func (s *Supervisor) moveStop(ctx context.Context, rep *Report, rec *Protection, kind EventKind) error {
	if !s.caps.Replace {
		return s.cancelAndPlace(ctx, rep, rec, kind)
	}
	rec.StopSeq++
	clientID := s.stopID(*rec, rec.StopSeq)
	if err := s.save(ctx, rec); err != nil {
		return err
	}
	req := s.stopRequest(*rec, clientID)
	o, err := s.cfg.Orders.Replace(ctx, rec.StopOrderID, req)
	if err != nil {
		if errors.Is(err, errors.ErrOrderNotCancelable) || errors.Is(err, errors.ErrOrderNotFound) {
			// The old stop is closed (filled, cancelled): the fills, if
			// any, arrive as updates; the next sync re-places from truth.
			rec.StopOrderID = ""
			_ = s.save(ctx, rec)
		}
		return err
	}
	// A broker that edits in place (Coinbase) keeps the order's record and
	// its client order id: take both from the order the tracker returned,
	// not from the request, so the stop's fills are recognised as the stop's.
	rec.StopOrderID, rec.StopClientOrderID = o.LocalID, o.ClientOrderID
	rec.StopQuantity, rec.StopOrderPrice = req.Quantity, req.StopPrice
	if err := s.save(ctx, rec); err != nil {
		return err
	}
	s.report(rep, Event{Kind: kind, Symbol: rec.Symbol, Quantity: rec.Quantity, StopPrice: rec.StopPrice, ClientOrderID: o.ClientOrderID})
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }
