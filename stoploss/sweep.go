package stoploss

import (
	"context"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/shopspring/decimal"
)

// Sweep is the periodic monitor, called by the host's scheduler or by
// [Supervisor.Run]. Under the account's lock (when another supervisor holds
// it, the report says Skipped and nothing is done) it:
//
//   - applies the tracker updates received since the last call;
//   - every Config.VerifyInterval, verifies the protective orders and the
//     positions at the broker (one OpenOrders and one Positions call): a stop
//     cancelled, expired or rejected outside the supervisor's control is
//     placed again, a position the supervisor did not know is adopted, a
//     closed one retired;
//   - fetches quotes in batches of the broker's QuoteBatchSize;
//   - closes every position whose price is at or through its stop (a
//     breach) or at its take-profit, ratchets trailing stops, and places the
//     stops still missing;
//   - escalates problems that lasted Config.EscalateAfter sweeps.
//
// A sweep in which nothing needs doing and no verification is due makes
// only the quote calls. The error is for a sweep that could not run (lock or
// store failure, cancelled context); what failed for single positions is in
// the report (EventFailed) and in the heartbeat.
func (s *Supervisor) Sweep(ctx context.Context) (Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Clock.Now()
	rep := Report{Account: s.cfg.Account, Start: now}
	s.hmu.Lock()
	s.beat.LastSweepStart = now
	s.beat.Sweeps++
	s.hmu.Unlock()

	release, ok, err := s.acquire(ctx)
	if err != nil || !ok {
		rep.Skipped = true
		return s.endSweep(rep, -1, -1, err), err
	}
	defer release()
	s.applyUpdates(ctx, &rep)
	if s.verifiedAt == 0 || s.cfg.VerifyInterval == 0 || now.UnixNano()-s.verifiedAt >= int64(s.cfg.VerifyInterval) {
		s.verify(ctx, &rep, now)
	}
	recs, err := s.cfg.Store.List(ctx, s.cfg.Account)
	if err != nil {
		return s.endSweep(rep, -1, -1, err), err
	}
	quotes := s.quotes(ctx, &rep, recs)
	var closes []closeIntent
	var missing []string
	protected := 0
	for i := range recs {
		c, safe, needsStop := s.check(ctx, &rep, &recs[i], quotes, now)
		if c != nil {
			closes = append(closes, *c)
		}
		if needsStop {
			missing = append(missing, recs[i].Symbol)
		}
		if safe {
			protected++
		}
	}
	if len(missing) > 0 {
		protected += s.placeMissing(ctx, &rep, missing)
	}
	if len(closes) > 0 {
		s.closeAll(ctx, &rep, closes)
	}
	if s.following() {
		s.refreshLevels(ctx)
	}
	s.escalate(ctx, &rep)
	if err := ctx.Err(); err != nil {
		return s.endSweep(rep, protected, len(recs)-protected, err), err
	}
	return s.endSweep(rep, protected, len(recs)-protected, nil), nil
}

// endSweep stamps the report and the heartbeat. Negative counts leave the
// heartbeat's counts as they were.
func (s *Supervisor) endSweep(rep Report, protected, unprotected int, err error) Report {
	rep = s.finish(rep, err)
	s.hmu.Lock()
	defer s.hmu.Unlock()
	s.beat.LastSweepEnd = rep.Start.Add(rep.Duration)
	s.beat.Skipped = rep.Skipped
	s.beat.LastError = err
	if failures := rep.Failures(); err == nil && len(failures) > 0 {
		s.beat.LastError = failures[0].Err
	}
	if protected >= 0 {
		s.beat.Protected, s.beat.Unprotected = protected, unprotected
	}
	return rep
}

// quotes takes the records' fresh streamed quotes (see FollowQuotes) and
// fetches the others in batches of the broker's batch size. A failed batch
// leaves its symbols without a quote: they count as stale.
func (s *Supervisor) quotes(ctx context.Context, rep *Report, recs []Protection) map[string]broker.Quote {
	out, fresh := s.streamedQuotes(recs, s.cfg.Clock.Now())
	if len(fresh) > 0 {
		polled := make([]Protection, 0, len(recs)-len(fresh))
		for _, r := range recs {
			if !fresh[r.Symbol] {
				polled = append(polled, r)
			}
		}
		recs = polled
	}
	batch := s.caps.QuoteBatchSize
	symbols := make([]string, 0, batch)
	for start := 0; start < len(recs); start += batch {
		symbols = symbols[:0]
		for _, r := range recs[start:min(start+batch, len(recs))] {
			symbols = append(symbols, r.Symbol)
		}
		rep.QuoteCalls++
		qs, err := s.cfg.Broker.Quotes(ctx, symbols...)
		if err != nil {
			s.cfg.Logger.Warn("stoploss: quotes failed", "account", s.cfg.Account, "symbols", len(symbols), "error", err)
			continue
		}
		for _, q := range qs {
			out[q.Symbol] = q
		}
	}
	return out
}

// observedPrice is the price a close would get: the bid for a long, the
// ask for a short, the last trade when that side is not quoted.
func observedPrice(q broker.Quote, long bool) decimal.Decimal {
	side := q.Ask
	if long {
		side = q.Bid
	}
	if side.IsPositive() {
		return side
	}
	return q.Last
}

// closeIntent is a position to close in this sweep.
type closeIntent struct {
	rec    Protection
	reason string // closeBreach or closeTakeProfit
	price  decimal.Decimal
}

const (
	closeBreach     = "stop breach"
	closeTakeProfit = "take profit"
	closeExit       = "exit"
)

// check examines one record against its quote. It returns a close to make,
// whether the position counts as protected, and whether its native stop
// must be placed.
func (s *Supervisor) check(ctx context.Context, rep *Report, rec *Protection, quotes map[string]broker.Quote, now time.Time) (c *closeIntent, safe, needsStop bool) {
	rep.Checked++
	long := rec.Long()
	// A native stop protects when it rests for the position's full size; a
	// missing or short one (a resize that failed) is fixed below.
	// A resting stop still at an old price (a ratchet that failed) protects,
	// but is moved again.
	restingOK := rec.Mode.native() && rec.StopOrderID != "" && rec.StopQuantity.Equal(rec.Quantity.Abs())
	needsStop = rec.Mode.native() && rec.CloseReason == "" &&
		(!restingOK || !rec.StopOrderPrice.Equal(rec.StopPrice))
	if rec.StopPrice.IsZero() {
		s.placeFail[rec.Symbol]++
		s.fail(rep, *rec, errors.ErrStopNotPlaced, "position has no valid stop", nil)
		return nil, false, false
	}
	q, ok := quotes[rec.Symbol]
	price := observedPrice(q, long)
	if !ok || !price.IsPositive() || now.Sub(q.Time) > s.cfg.MaxQuoteAge {
		s.dataMiss[rec.Symbol]++
		s.report(rep, Event{Kind: EventStaleQuote, Symbol: rec.Symbol, Quantity: rec.Quantity, StopPrice: rec.StopPrice, Price: price})
		if rec.CloseReason != "" { // a close under way goes on without a price
			return &closeIntent{rec: *rec, reason: rec.CloseReason}, false, false
		}
		return nil, restingOK, needsStop
	}
	delete(s.dataMiss, rec.Symbol)
	switch {
	case rec.CloseReason != "":
		return &closeIntent{rec: *rec, reason: rec.CloseReason, price: price}, false, false
	case breached(price, rec.StopPrice, long):
		return &closeIntent{rec: *rec, reason: closeBreach, price: price}, false, false
	case reached(price, rec.TakeProfitPrice, long):
		return &closeIntent{rec: *rec, reason: closeTakeProfit, price: price}, restingOK || !rec.Mode.native(), false
	}
	s.trail(ctx, rep, rec, price, needsStop)
	return nil, !rec.Mode.native() || restingOK, needsStop
}

// trail ratchets a trailing stop toward a better price. A native stop is
// moved by replace (unless it is missing: placement will use the new level).
func (s *Supervisor) trail(ctx context.Context, rep *Report, rec *Protection, price decimal.Decimal, missing bool) {
	pol := s.policy(rec.Symbol)
	long := rec.Long()
	if !pol.trails() || !better(price, rec.BestPrice, long) {
		return
	}
	candidate := pol.trailStop(price, long)
	if tighter(rec.StopPrice, candidate, long).Equal(rec.StopPrice) {
		return // the stop does not move: the best price need not be saved
	}
	rec.BestPrice, rec.StopPrice = price, candidate
	if rec.Mode.native() && !missing {
		if err := s.moveStop(ctx, rep, rec, EventStopTrailed); err != nil {
			s.fail(rep, *rec, errors.ErrStopNotPlaced, "trailing stop not moved", err)
		}
		return
	}
	if err := s.save(ctx, rec); err != nil {
		s.fail(rep, *rec, errors.ErrStorage, "store write failed", err)
		return
	}
	s.report(rep, Event{Kind: EventStopTrailed, Symbol: rec.Symbol, Quantity: rec.Quantity, StopPrice: rec.StopPrice, Price: price})
}

// placeMissing places the native stops that are missing (or resizes those
// a failed resize left short), after reading the broker's positions once: a
// stop is never placed for a position that closed meanwhile (it would open
// one when it triggers).
// It returns how many are protected now.
func (s *Supervisor) placeMissing(ctx context.Context, rep *Report, symbols []string) (fixed int) {
	positions, err := s.positions(ctx)
	if err != nil {
		for _, sym := range symbols {
			s.placeFail[sym]++
		}
		s.fail(rep, Protection{}, errors.ErrStopNotPlaced, "positions unavailable: missing stops not placed", err)
		return 0
	}
	for _, sym := range symbols {
		before := len(rep.Failures())
		s.sync(ctx, rep, sym, &news{}, positions[sym])
		if len(rep.Failures()) > before {
			s.placeFail[sym]++
		} else {
			delete(s.placeFail, sym)
			fixed++
		}
	}
	return fixed
}

// verify compares the records with the broker: one OpenOrders and one
// Positions call. A resting stop that is not among the open orders is lost
// (cancelled, expired or rejected behind the supervisor's back) and is
// placed again; positions are taken from the broker.
func (s *Supervisor) verify(ctx context.Context, rep *Report, now time.Time) {
	open, err := s.cfg.Broker.OpenOrders(ctx)
	if err != nil {
		s.verifyFail++
		s.fail(rep, Protection{}, errors.ErrRiskDataUnavailable, "verification: open orders unavailable", err)
		return
	}
	positions, err := s.positions(ctx)
	if err != nil {
		s.verifyFail++
		s.fail(rep, Protection{}, errors.ErrRiskDataUnavailable, "verification: positions unavailable", err)
		return
	}
	recs, err := s.cfg.Store.List(ctx, s.cfg.Account)
	if err != nil {
		s.verifyFail++
		s.fail(rep, Protection{}, errors.ErrStorage, "verification: store failed", err)
		return
	}
	s.verifyFail = 0
	rep.Verified = true
	s.verifiedAt = now.UnixNano()
	live := make(map[string]bool, 2*len(open))
	for _, o := range open {
		live["b/"+o.OrderID] = true
		if o.ClientOrderID != "" {
			live["c/"+o.ClientOrderID] = true
		}
	}
	known := make(map[string]bool, len(recs))
	for _, rec := range recs {
		known[rec.Symbol] = true
		n := &news{}
		if rec.StopOrderID != "" && !s.stopLive(ctx, rec.StopOrderID, live) {
			n.dead = []string{rec.StopClientOrderID}
		}
		pos := positions[rec.Symbol]
		if len(n.dead) == 0 && pos.Quantity.Equal(rec.Quantity) && !s.closeFilled(ctx, rec) {
			continue // nothing to do: no write, no order call
		}
		s.sync(ctx, rep, rec.Symbol, n, pos)
	}
	for _, sym := range sortedKeys(positions) {
		if !known[sym] {
			s.sync(ctx, rep, sym, &news{}, positions[sym])
		}
	}
}

// stopLive reports whether the tracker's order localID is working at the
// broker: among the open orders, or too new to be listed.
func (s *Supervisor) stopLive(ctx context.Context, localID string, live map[string]bool) bool {
	o, err := s.cfg.Orders.Get(ctx, localID)
	if err != nil {
		return false
	}
	if o.Status == broker.StatusPendingNew || o.OutcomeUnknown {
		return true // not acknowledged yet: the tracker settles it
	}
	return live["b/"+o.BrokerOrderID] || live["c/"+o.ClientOrderID]
}

// closeAll closes positions in three steps, so that a sweep with many
// closes makes one OpenOrders and one Positions call: cancel the working
// orders of every symbol, check that none is still working and read the
// positions, then send a market order for exactly each open quantity.
func (s *Supervisor) closeAll(ctx context.Context, rep *Report, closes []closeIntent) {
	from := len(rep.Events)
	defer s.countBlockedCloses(rep, from, closes)
	var todo []closeIntent
	for _, c := range closes {
		if s.closePending(ctx, rep, &c) {
			continue
		}
		s.cancelWorking(ctx, rep, c.rec)
		todo = append(todo, c)
	}
	if len(todo) == 0 {
		return
	}
	open, oerr := s.cfg.Broker.OpenOrders(ctx)
	positions, perr := s.positions(ctx)
	if err := errors.Join(oerr, perr); err != nil {
		for _, c := range todo {
			s.markClosing(ctx, rep, c)
			s.fail(rep, c.rec, errors.ErrStopNotPlaced, "close deferred: broker state unavailable", err)
		}
		return
	}
	working := make(map[string]bool)
	for _, o := range open {
		working[o.Instrument.Symbol] = true
	}
	for _, c := range todo {
		s.closeOne(ctx, rep, c, working[c.rec.Symbol], positions[c.rec.Symbol])
	}
}

// countBlockedCloses counts, as a placement failure that escalates, every
// close of rep.Events[from:] that failed and was neither sent nor found
// done: a position that breached and stays open must not go unnoticed.
func (s *Supervisor) countBlockedCloses(rep *Report, from int, closes []closeIntent) {
	failed := make(map[string]bool)
	done := make(map[string]bool)
	for _, e := range rep.Events[from:] {
		switch e.Kind {
		case EventFailed:
			failed[e.Symbol] = true
		case EventBreachClose, EventTakeProfitClose, EventExitClose, EventPositionClosed:
			done[e.Symbol] = true
		}
	}
	for _, c := range closes {
		switch sym := c.rec.Symbol; {
		case done[sym]:
			delete(s.placeFail, sym)
		case failed[sym]:
			s.placeFail[sym]++
		}
	}
}

// closePending reports whether a close of the record is already working (or
// filled): then nothing more is sent. A previous close that ended without
// closing the position moves the record to a new attempt.
func (s *Supervisor) closePending(ctx context.Context, rep *Report, c *closeIntent) bool {
	if c.rec.CloseClientOrderID == "" {
		return false
	}
	o, err := s.cfg.Orders.ByClientOrderID(ctx, c.rec.CloseClientOrderID)
	switch {
	case errors.Is(err, errors.ErrOrderNotFound):
		return false // saved but never sent (or sent by another replica): the same id is safe to send
	case err != nil:
		s.fail(rep, c.rec, errors.ErrStopNotPlaced, "close order lookup failed", err)
		return true
	case !o.Terminal() || o.Status == broker.StatusFilled:
		return true // working, or filled and its update is on the way
	}
	c.rec.CloseAttempt++
	c.rec.CloseClientOrderID = ""
	return false
}

// cancelWorking cancels every working order of the record's symbol.
func (s *Supervisor) cancelWorking(ctx context.Context, rep *Report, rec Protection) {
	orders, err := s.cfg.Orders.BySymbol(ctx, rec.Symbol)
	if err != nil {
		s.fail(rep, rec, errors.ErrStopNotPlaced, "working orders unknown", err)
		return
	}
	for _, o := range orders {
		if o.Terminal() || o.Status == broker.StatusPendingCancel {
			continue
		}
		if err := s.cancel(ctx, o.LocalID); err != nil {
			s.fail(rep, rec, errors.ErrStopNotPlaced, "cancel before close failed", err)
		}
	}
}

// markClosing saves the record as closing, so that later sweeps finish the
// close even without a price, and no stop is placed again meanwhile.
func (s *Supervisor) markClosing(ctx context.Context, rep *Report, c closeIntent) Protection {
	rec := c.rec
	rec.CloseReason = c.reason
	rec.StopOrderID = ""
	if err := s.save(ctx, &rec); err != nil {
		s.fail(rep, rec, errors.ErrStorage, "store write failed", err)
	}
	return rec
}

// closeOne sends the close of one position once no order of the symbol is
// working.
func (s *Supervisor) closeOne(ctx context.Context, rep *Report, c closeIntent, working bool, pos broker.Position) {
	rec := s.markClosing(ctx, rep, c)
	if rec.Version != c.rec.Version+1 {
		return // not saved: another writer; the next sweep sees its record
	}
	qty := pos.Quantity
	switch {
	case qty.IsZero(): // already flat: its stop (or an earlier close) filled
		if c.reason == closeBreach && c.rec.StopOrderID != "" {
			s.report(rep, Event{Kind: EventStoppedOut, Symbol: rec.Symbol, Quantity: c.rec.Quantity,
				StopPrice: rec.StopPrice, Price: c.price, ClientOrderID: rec.StopClientOrderID})
		}
		s.retire(ctx, rep, rec, nil)
		return
	case qty.Sign() != rec.Quantity.Sign():
		s.fail(rep, rec, errors.ErrStopNotPlaced, "broker position has the other sign: not closed, resynced", nil)
		s.sync(ctx, rep, rec.Symbol, &news{}, pos)
		return
	case working:
		// A cancel is still pending: a stop could still fill, and a close
		// sent now could flip the position. The next sweep goes on.
		s.fail(rep, rec, errors.ErrStopNotPlaced, "close waits for the cancel of the working orders", nil)
		return
	}
	rec.Quantity = qty
	rec.CloseClientOrderID = s.closeID(rec)
	if err := s.save(ctx, &rec); err != nil { // the id is saved before it is sent
		s.fail(rep, rec, errors.ErrStorage, "store write failed", err)
		return
	}
	tif := broker.Day
	if rec.AssetClass == broker.Crypto {
		tif = broker.IOC
	}
	req := broker.OrderRequest{
		ClientOrderID: rec.CloseClientOrderID,
		Instrument:    broker.Instrument{Symbol: rec.Symbol, AssetClass: rec.AssetClass},
		Side:          closingSide(rec), Type: broker.Market, Quantity: qty.Abs(), TimeInForce: tif,
	}
	_, err := s.cfg.Orders.Submit(ctx, order.Request{OrderRequest: req, Protective: true})
	if err != nil && !errors.Is(err, errors.ErrDuplicateOrder) {
		s.fail(rep, rec, errors.ErrStopNotPlaced, "close order failed", err)
		return
	}
	ev := Event{Kind: EventTakeProfitClose, Symbol: rec.Symbol, Quantity: qty, StopPrice: rec.StopPrice,
		Price: c.price, ClientOrderID: rec.CloseClientOrderID}
	if c.reason == closeExit {
		ev.Kind = EventExitClose
	}
	if c.reason == closeBreach {
		ev.Kind = EventBreachClose
		ev.Err = &errors.StopLossError{Account: s.cfg.Account, Symbol: rec.Symbol, Quantity: qty.String(),
			StopPrice: rec.StopPrice.String(), Price: decString(c.price), Kind: errors.ErrStopLossBreach,
			Reason: "price at or through the stop with the position open; closed at market"}
		s.alert(ev.Err)
	}
	s.report(rep, ev)
}

func (s *Supervisor) alert(err error) {
	if s.cfg.Alert != nil {
		s.cfg.Alert(err)
	}
}

// escalate trips the trading switch for every symbol whose quotes were
// missing, or whose stop failed, for exactly EscalateAfter sweeps in a row,
// and alerts the host.
func (s *Supervisor) escalate(ctx context.Context, rep *Report) {
	if s.verifyFail == s.cfg.EscalateAfter {
		s.trip(ctx, rep, "", errors.ErrRiskDataUnavailable, "verification at the broker failed")
	}
	for _, sym := range sortedKeys(s.dataMiss) {
		if s.dataMiss[sym] == s.cfg.EscalateAfter {
			s.trip(ctx, rep, sym, errors.ErrRiskDataUnavailable, "no fresh quote")
		}
	}
	for _, sym := range sortedKeys(s.placeFail) {
		if s.placeFail[sym] == s.cfg.EscalateAfter {
			s.trip(ctx, rep, sym, errors.ErrStopNotPlaced, "protective stop not placed")
		}
	}
}

func (s *Supervisor) trip(ctx context.Context, rep *Report, sym string, kind errors.Kind, what string) {
	reason := what
	if sym != "" {
		reason += " for " + sym
	}
	reason += " in " + itoa(s.cfg.EscalateAfter) + " consecutive sweeps"
	var cause error
	if sw := s.cfg.Switch; sw != nil {
		if cur, _ := sw.State(); cur < s.cfg.EscalateTo {
			cause = sw.SetState(ctx, s.cfg.EscalateTo, "stoploss: "+reason)
		}
	}
	err := &errors.StopLossError{Account: s.cfg.Account, Symbol: sym, Kind: kind,
		Reason: reason + "; trading set to " + s.cfg.EscalateTo.String(), Err: cause}
	s.report(rep, Event{Kind: EventEscalated, Symbol: sym, Err: err})
	s.alert(err)
}

// Run sweeps at once and then every `every` on the supervisor's clock, and
// applies tracker updates as soon as they arrive in between. It returns
// ctx's error when ctx ends, and leaves no goroutine behind. Sweep failures
// are logged and kept in the heartbeat; they do not stop Run.
func (s *Supervisor) Run(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		return configError("Run needs a positive interval")
	}
	next := s.cfg.Clock.NewTimer(0)
	defer func() { next.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.wake:
			if _, err := s.HandleUpdates(ctx); err != nil {
				s.cfg.Logger.Warn("stoploss: updates failed", "account", s.cfg.Account, "error", err)
			}
		case <-next.C():
			if _, err := s.Sweep(ctx); err != nil {
				s.cfg.Logger.Warn("stoploss: sweep failed", "account", s.cfg.Account, "error", err)
			}
			next = s.cfg.Clock.NewTimer(every)
		}
	}
}

// Exit closes the symbol's position now at market, for a bot that wants out:
// brokers reserve a position's shares for its resting stop, so the bot's own
// sell would be refused. It takes the emergency close's path: the working
// orders of the symbol are cancelled, the position read at the broker, and
// exactly its quantity closed with a deterministic client order id, so that
// calling Exit again (or a sweep meanwhile) never closes twice. When a
// cancel is still pending, the close waits for a later sweep (a failure
// event says so). A symbol without a protected position is refused with
// errors.ErrInvalidOrder.
func (s *Supervisor) Exit(ctx context.Context, symbol string) (Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rep := Report{Account: s.cfg.Account, Start: s.cfg.Clock.Now()}
	release, ok, err := s.acquire(ctx)
	if err != nil || !ok {
		rep.Skipped = true
		if err == nil {
			err = &errors.StopLossError{Account: s.cfg.Account, Symbol: symbol, Kind: errors.ErrTradingHalted,
				Reason: "another supervisor holds the account's lock; exit not sent"}
		}
		return s.finish(rep, err), err
	}
	defer release()
	s.applyUpdates(ctx, &rep)
	rec, found, err := s.cfg.Store.Get(ctx, s.cfg.Account, symbol)
	switch {
	case err != nil:
		return s.finish(rep, err), err
	case !found:
		err = &errors.StopLossError{Account: s.cfg.Account, Symbol: symbol, Kind: errors.ErrInvalidOrder,
			Reason: "no protected position to exit"}
		return s.finish(rep, err), err
	}
	reason := rec.CloseReason
	if reason == "" {
		reason = closeExit
	}
	s.closeAll(ctx, &rep, []closeIntent{{rec: rec, reason: reason}})
	if s.following() {
		s.refreshLevels(ctx)
	}
	return s.finish(rep, nil), nil
}
