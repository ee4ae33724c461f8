package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/store/sqlstore"
	"github.com/arbiontrader/arbion/store/sqlstore/sqlite"
	"github.com/shopspring/decimal"
)

// book is the order tracker of one account over the persisted store in the
// data directory: every order the CLI sends is recorded there before it
// leaves, so that a lost answer is settled by a later run, never resent.
type book struct {
	*order.Tracker
	store *sqlstore.OrderStore
	db    *sqlstore.DB
	key   string
}

func (c *cli) openBook(s settings, a *account) (*book, error) {
	db, err := sqlite.Open(c.ctx, filepath.Join(s.dataDir, "orders.db"))
	if err != nil {
		return nil, fmt.Errorf("order store: %w", err)
	}
	t, err := order.NewTracker(order.Config{Broker: a.Broker, Store: db.Orders(), Account: a.key})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &book{Tracker: t, store: db.Orders(), db: db, key: a.key}, nil
}

// close waits for the writes in flight (they run on their own context) and
// closes the store.
func (b *book) close(c *cli) {
	_ = b.Drain(c.ctx)
	b.db.Close()
}

// find returns the tracked record named by a local id or a broker order id.
func (b *book) find(c *cli, id string) (order.Order, bool, error) {
	rec, err := b.store.Get(c.ctx, id)
	if err == nil && rec.Account == b.key {
		return rec, true, nil
	}
	if err != nil && !errors.Is(err, errors.ErrOrderNotFound) {
		return rec, false, err
	}
	rec, err = b.store.ByBrokerOrderID(c.ctx, b.key, id)
	if errors.Is(err, errors.ErrOrderNotFound) {
		return rec, false, nil
	}
	return rec, err == nil, err
}

// orderFlags are the flags that describe an order.
type orderFlags struct {
	typ, limit, stop, trailAmount, trailPercent, tif, asset string
	extended, yes, dryRun                                   bool
}

func (f *orderFlags) register(fs *flag.FlagSet, place bool) {
	fs.StringVar(&f.typ, "type", "", "market, limit, stop, stop_limit or trailing_stop (default: from the prices given)")
	fs.StringVar(&f.limit, "limit", "", "limit price")
	fs.StringVar(&f.stop, "stop", "", "stop price")
	fs.StringVar(&f.trailAmount, "trail", "", "trailing stop distance, in price")
	fs.StringVar(&f.trailPercent, "trail-percent", "", "trailing stop distance, in percent")
	defaultTIF := "" // replace keeps the order's own
	if place {
		defaultTIF = "day"
	}
	fs.StringVar(&f.tif, "tif", defaultTIF, "time in force: day, gtc, ioc or fok")
	fs.BoolVar(&f.extended, "extended", false, "may trade outside regular hours")
	if place {
		fs.StringVar(&f.asset, "asset", "", "equity, option or crypto (default: crypto on coinbase, else equity)")
		fs.BoolVar(&f.yes, "yes", false, "do not ask for confirmation")
		fs.BoolVar(&f.dryRun, "dry-run", false, "preview only; place nothing")
	}
}

func price(name, v string) (decimal.Decimal, error) {
	if v == "" {
		return decimal.Decimal{}, nil
	}
	d, err := decimal.NewFromString(v)
	if err != nil || !d.IsPositive() {
		return d, usagef("bad %s %q: a positive decimal number", name, v)
	}
	return d, nil
}

// request builds an order request from SIDE QTY SYMBOL and the flags.
func (f *orderFlags) request(s settings, pos []string) (broker.OrderRequest, error) {
	var req broker.OrderRequest
	if len(pos) != 3 {
		return req, usagef("give SIDE QUANTITY SYMBOL, e.g. buy 10 AAPL --limit 187.25")
	}
	if err := req.Side.UnmarshalText([]byte(strings.ToLower(pos[0]))); err != nil {
		return req, usagef("bad side %q: buy, sell, sell_short or buy_to_cover", pos[0])
	}
	qty, err := decimal.NewFromString(pos[1])
	if err != nil || !qty.IsPositive() {
		return req, usagef("bad quantity %q: a positive number", pos[1])
	}
	req.Quantity, req.Instrument.Symbol = qty, strings.ToUpper(pos[2])
	asset := f.asset
	if asset == "" {
		asset = "equity"
		if s.broker == coinbaseName {
			asset = "crypto"
		}
	}
	if err := req.Instrument.AssetClass.UnmarshalText([]byte(asset)); err != nil {
		return req, usagef("bad asset class %q: equity, option or crypto", asset)
	}
	if err := f.apply(&req); err != nil {
		return req, err
	}
	req.ClientOrderID = broker.NewClientOrderID()
	if err := req.Validate(); err != nil {
		return req, usagef("%v", err)
	}
	return req, nil
}

// apply sets the prices, type and time in force given by the flags.
func (f *orderFlags) apply(req *broker.OrderRequest) error {
	var err error
	if f.limit != "" {
		if req.LimitPrice, err = price("limit price", f.limit); err != nil {
			return err
		}
	}
	if f.stop != "" {
		if req.StopPrice, err = price("stop price", f.stop); err != nil {
			return err
		}
	}
	if f.trailAmount != "" {
		if req.TrailAmount, err = price("trail", f.trailAmount); err != nil {
			return err
		}
	}
	if f.trailPercent != "" {
		if req.TrailPercent, err = price("trail percent", f.trailPercent); err != nil {
			return err
		}
	}
	switch {
	case f.typ != "":
		if err := req.Type.UnmarshalText([]byte(f.typ)); err != nil {
			return usagef("bad order type %q: market, limit, stop, stop_limit or trailing_stop", f.typ)
		}
	case req.Type != 0: // replace: keep the old type unless prices say otherwise
		switch {
		case f.limit != "" && req.Type == broker.Market:
			req.Type = broker.Limit
		case f.stop != "" && req.Type == broker.Limit:
			req.Type = broker.StopLimit
		}
	case !req.TrailAmount.IsZero() || !req.TrailPercent.IsZero():
		req.Type = broker.TrailingStop
	case f.limit != "" && f.stop != "":
		req.Type = broker.StopLimit
	case f.limit != "":
		req.Type = broker.Limit
	case f.stop != "":
		req.Type = broker.Stop
	default:
		req.Type = broker.Market
	}
	if f.tif != "" {
		if err := req.TimeInForce.UnmarshalText([]byte(strings.ToLower(f.tif))); err != nil {
			return usagef("bad time in force %q: day, gtc, ioc or fok", f.tif)
		}
	}
	if f.extended {
		req.ExtendedHours = true
	}
	return nil
}

// describe says an order in words, for confirmations.
func describe(r broker.OrderRequest) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", r.Side, r.Quantity, r.Instrument.Symbol)
	switch r.Type {
	case broker.Market:
		b.WriteString(" at market")
	case broker.Stop, broker.StopLimit:
		fmt.Fprintf(&b, " stop %s", r.StopPrice)
	case broker.TrailingStop:
		b.WriteString(" trailing stop")
	}
	if !r.LimitPrice.IsZero() {
		fmt.Fprintf(&b, " limit %s", r.LimitPrice)
	}
	if !r.TrailAmount.IsZero() {
		fmt.Fprintf(&b, " by %s", r.TrailAmount)
	}
	if !r.TrailPercent.IsZero() {
		fmt.Fprintf(&b, " by %s%%", r.TrailPercent)
	}
	fmt.Fprintf(&b, ", %s", r.TimeInForce)
	if r.ExtendedHours {
		b.WriteString(", extended hours")
	}
	return b.String()
}

// confirm asks a yes/no question on stdout; anything but y/yes is no.
func (c *cli) confirm(question string) error {
	fmt.Fprintf(c.stderr, "%s [y/N] ", question) // stdout is for the result (--json)
	answer, err := c.readLine()
	if err != nil {
		fmt.Fprintln(c.stderr)
	}
	switch strings.ToLower(answer) {
	case "y", "yes":
		return nil
	}
	return fmt.Errorf("not confirmed: nothing was sent")
}

// previewOrder refuses locally what the broker would refuse, then asks the
// broker's estimate where it has one. It returns false when the broker would
// refuse the order.
func (c *cli) previewOrder(s settings, a *account, req broker.OrderRequest) (bool, error) {
	if chk, ok := broker.Find[broker.OrderChecker](a.Broker); ok {
		if err := chk.CheckOrder(req); err != nil {
			return false, err
		}
	}
	pv, ok := broker.Find[broker.Previewer](a.Broker)
	if !ok {
		if !s.json {
			fmt.Fprintf(c.stdout, "order: %s (%s offers no preview)\n", describe(req), s.broker)
		}
		return true, nil
	}
	p, err := pv.PreviewOrder(c.ctx, req)
	if err != nil {
		return false, err
	}
	out := struct {
		Request broker.OrderRequest `json:"request"`
		Preview broker.Preview      `json:"preview"`
	}{req, p}
	if err := c.emit(s, out, func(w io.Writer) {
		fmt.Fprintf(w, "order:\t%s\n", describe(req))
		fmt.Fprintf(w, "commission:\t%s\n", money(p.Commission))
		fmt.Fprintf(w, "fees:\t%s\n", money(p.Fees))
		fmt.Fprintf(w, "total:\t%s\n", money(p.Total))
		for _, m := range p.Warnings {
			fmt.Fprintf(w, "warning:\t%s\n", m)
		}
		for _, m := range p.Rejects {
			fmt.Fprintf(w, "REFUSED:\t%s\n", m)
		}
	}); err != nil {
		return false, err
	}
	if len(p.Rejects) > 0 {
		return false, fmt.Errorf("%s would refuse this order: %s: %w", s.broker, strings.Join(p.Rejects, "; "), errors.ErrOrderRejected)
	}
	return true, nil
}

func (c *cli) preview(args []string) error {
	var f orderFlags
	s, a, pos, err := c.accountCmd("preview", args, func(fs *flag.FlagSet) {
		f.register(fs, true)
	})
	if err != nil {
		return err
	}
	req, err := f.request(s, pos)
	if err != nil {
		return err
	}
	_, err = c.previewOrder(s, a, req)
	return err
}

func (c *cli) place(args []string) error {
	var f orderFlags
	s, a, pos, err := c.accountCmd("place", args, func(fs *flag.FlagSet) {
		f.register(fs, true)
	})
	if err != nil {
		return err
	}
	req, err := f.request(s, pos)
	if err != nil {
		return err
	}
	if _, err := c.previewOrder(s, a, req); err != nil {
		return err
	}
	if f.dryRun {
		if !s.json {
			fmt.Fprintln(c.stdout, "dry run: nothing was placed")
		}
		return nil
	}
	if !f.yes {
		if err := c.confirm(fmt.Sprintf("place %s at %s?", describe(req), s.broker)); err != nil {
			return err
		}
	}
	bk, err := c.openBook(s, a)
	if err != nil {
		return err
	}
	defer bk.close(c)
	rec, err := bk.Submit(c.ctx, order.Request{OrderRequest: req})
	if err == nil {
		rec = c.refresh(bk, a, rec)
	}
	if rec.LocalID != "" {
		verb := "placed"
		switch {
		case rec.OutcomeUnknown:
			verb = "sent"
		case err != nil:
			verb = "refused"
		}
		if perr := c.printRecord(s, verb, rec); err == nil {
			err = perr
		}
	}
	return err
}

// refresh reads an acknowledged order once, so that the status printed is
// the broker's (an acknowledgement without a status leaves it pending new).
// A failed read changes nothing: the record is printed as it is.
func (c *cli) refresh(bk *book, a *account, rec order.Order) order.Order {
	if rec.BrokerOrderID == "" || rec.Status != broker.StatusPendingNew {
		return rec
	}
	snap, err := a.GetOrder(c.ctx, rec.BrokerOrderID)
	if err != nil {
		return rec
	}
	if now, err := bk.Apply(c.ctx, order.Event{Kind: order.EventStatusReport, LocalID: rec.LocalID, Snapshot: snap}); err == nil {
		return now
	}
	return rec
}

// recordView is a tracked order as printed.
type recordView struct {
	LocalID        string           `json:"local_id"`
	ClientOrderID  string           `json:"client_order_id"`
	BrokerOrderID  string           `json:"broker_order_id"`
	Symbol         string           `json:"symbol"`
	Side           broker.Side      `json:"side"`
	Type           broker.OrderType `json:"type"`
	Quantity       decimal.Decimal  `json:"quantity"`
	FilledQuantity decimal.Decimal  `json:"filled_quantity"`
	AvgFillPrice   decimal.Decimal  `json:"avg_fill_price"`
	Status         broker.Status    `json:"status"`
	OutcomeUnknown bool             `json:"outcome_unknown"`
	RejectReason   string           `json:"reject_reason,omitempty"`
	Replaces       string           `json:"replaces,omitempty"`
}

func viewOf(o order.Order) recordView {
	return recordView{LocalID: o.LocalID, ClientOrderID: o.ClientOrderID, BrokerOrderID: o.BrokerOrderID,
		Symbol: o.Instrument.Symbol, Side: o.Side, Type: o.Type, Quantity: o.Quantity, FilledQuantity: o.FilledQuantity,
		AvgFillPrice: o.AvgFillPrice, Status: o.Status, OutcomeUnknown: o.OutcomeUnknown, RejectReason: o.RejectReason, Replaces: o.Replaces}
}

func (c *cli) printRecord(s settings, verb string, o order.Order) error {
	v := viewOf(o)
	return c.emit(s, v, func(w io.Writer) {
		status := v.Status.String()
		if v.OutcomeUnknown {
			status = "outcome unknown (sent, answer lost)"
		}
		fmt.Fprintf(w, "%s:\tlocal %s, broker order %s, status %s\n", verb, v.LocalID, first(v.BrokerOrderID, "-"), status)
		if v.RejectReason != "" {
			fmt.Fprintf(w, "reason:\t%s\n", v.RejectReason)
		}
	})
}

func (c *cli) cancel(args []string) error {
	var yes bool
	s, a, pos, err := c.accountCmd("cancel", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&yes, "yes", false, "do not ask for confirmation")
	})
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("name one order: arbion cancel ID (a broker order id or an arbion local id)")
	}
	bk, err := c.openBook(s, a)
	if err != nil {
		return err
	}
	defer bk.close(c)
	rec, tracked, err := bk.find(c, pos[0])
	if err != nil {
		return err
	}
	if !tracked {
		// An order placed elsewhere (a bot, the broker's site): a cancel is
		// safe to send directly; there is nothing of ours to record.
		o, err := a.GetOrder(c.ctx, pos[0])
		if err != nil {
			return err
		}
		if !yes {
			if err := c.confirm(fmt.Sprintf("cancel order %s (%s %s %s, %s)?", o.OrderID, o.Side, o.Quantity, o.Instrument.Symbol, o.Status)); err != nil {
				return err
			}
		}
		if err := a.CancelOrder(c.ctx, o.OrderID); err != nil {
			return err
		}
		if !s.json {
			fmt.Fprintf(c.stdout, "cancel requested: broker order %s (not placed through arbion; not tracked)\n", o.OrderID)
			return nil
		}
		return c.emit(s, map[string]string{"broker_order_id": o.OrderID, "status": "cancel_requested"}, nil)
	}
	if !yes {
		if err := c.confirm(fmt.Sprintf("cancel order %s (%s)?", first(rec.BrokerOrderID, rec.LocalID), describe(rec.Request()))); err != nil {
			return err
		}
	}
	rec, err = bk.Cancel(c.ctx, rec.LocalID)
	if err != nil {
		return err
	}
	return c.printRecord(s, "cancel", rec)
}

func (c *cli) replace(args []string) error {
	var f orderFlags
	var qty string
	var yes bool
	s, a, pos, err := c.accountCmd("replace", args, func(fs *flag.FlagSet) {
		f.register(fs, false)
		fs.StringVar(&qty, "qty", "", "new quantity (default: unchanged)")
		fs.BoolVar(&yes, "yes", false, "do not ask for confirmation")
	})
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("name one order: arbion replace ID --limit P [--qty Q] ...")
	}
	bk, err := c.openBook(s, a)
	if err != nil {
		return err
	}
	defer bk.close(c)
	rec, tracked, err := bk.find(c, pos[0])
	if err != nil {
		return err
	}
	if !tracked {
		return fmt.Errorf("order %s was not placed with arbion: replace only works on tracked orders (cancel it and place a new one): %w", pos[0], errors.ErrOrderNotFound)
	}
	req := rec.Request()
	req.ClientOrderID = ""
	if err := f.apply(&req); err != nil {
		return err
	}
	if qty != "" {
		if req.Quantity, err = price("quantity", qty); err != nil {
			return err
		}
	}
	req.ClientOrderID = broker.NewClientOrderID()
	if err := req.Validate(); err != nil {
		return usagef("%v", err)
	}
	if !yes {
		if err := c.confirm(fmt.Sprintf("replace order %s with %s?", first(rec.BrokerOrderID, rec.LocalID), describe(req))); err != nil {
			return err
		}
	}
	nrec, err := bk.Replace(c.ctx, rec.LocalID, req)
	if err != nil {
		return err
	}
	nrec = c.refresh(bk, a, nrec)
	return c.printRecord(s, "replaced", nrec)
}

func (c *cli) orders(args []string) error {
	var since, status, symbol string
	s, a, pos, err := c.accountCmd("orders", args, func(fs *flag.FlagSet) {
		fs.StringVar(&since, "since", "", "history from this time (RFC 3339 or YYYY-MM-DD) instead of the open orders")
		fs.StringVar(&status, "status", "", "history filter: open, filled, canceled or all (default all with --since)")
		fs.StringVar(&symbol, "symbol", "", "history of one symbol")
	})
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	var q broker.OrderQuery
	history := since != "" || status != "" || symbol != ""
	if history {
		if q.Filter, err = parseFilter(status); err != nil {
			return err
		}
		q.From, q.Symbol = time.Now().UTC().Add(-7*24*time.Hour), strings.ToUpper(symbol)
		if since != "" {
			if q.From, err = parseTime(since); err != nil {
				return err
			}
		}
	}
	bk, err := c.openBook(s, a)
	if err != nil {
		return err
	}
	defer bk.close(c)
	unsettled, err := c.settle(bk)
	if err != nil {
		return err
	}
	var list []broker.Order
	if history {
		lister, ok := broker.Find[broker.OrderLister](a.Broker)
		if !ok {
			return fmt.Errorf("%s lists no order history: %w", s.broker, errors.ErrNotSupported)
		}
		list, err = lister.Orders(c.ctx, q)
	} else {
		list, err = a.OpenOrders(c.ctx)
	}
	if err != nil {
		return err
	}
	broker.SortOldestFirst(list)
	if list == nil {
		list = []broker.Order{}
	}
	if err := c.emit(s, list, func(w io.Writer) { ordersTable(w, list) }); err != nil {
		return err
	}
	if len(unsettled) > 0 {
		return &errors.OrderError{Op: "settle", LocalID: strings.Join(unsettled, ","), Kind: errors.ErrOutcomeUnknown,
			Reason: fmt.Sprintf("%d order(s) sent by arbion are still unsettled (not found at the broker yet)", len(unsettled))}
	}
	return nil
}

// settle runs the tracker's reconciliation: lost answers are looked up at
// the broker (never resent), and what changed is said on stderr. It returns
// the local ids still unsettled.
func (c *cli) settle(bk *book) ([]string, error) {
	open, err := bk.Open(c.ctx)
	if err != nil {
		return nil, err
	}
	if len(open) == 0 {
		return nil, nil
	}
	rep, recErr := bk.Reconcile(c.ctx)
	if rep.Resolved > 0 {
		fmt.Fprintf(c.stderr, "settled %d order(s) whose answer had been lost: found at the broker, not resent\n", rep.Resolved)
	}
	if rep.NeverPlaced > 0 {
		fmt.Fprintf(c.stderr, "%d order(s) whose answer had been lost were never placed (now rejected); place them again if you still want them\n", rep.NeverPlaced)
	}
	if open, err = bk.Open(c.ctx); err != nil {
		return nil, err
	}
	var ids []string
	for _, o := range open {
		if o.OutcomeUnknown {
			ids = append(ids, o.LocalID)
			fmt.Fprintf(c.stderr, "unsettled: local %s (%s), sent %s: not found at the broker yet; run 'arbion orders' again later\n",
				o.LocalID, describe(o.Request()), stamp(o.CreatedAt))
		}
	}
	switch {
	case recErr != nil && len(ids) > 0:
		return ids, &errors.OrderError{Op: "settle", LocalID: strings.Join(ids, ","), Kind: errors.ErrOutcomeUnknown,
			Reason: "the broker could not be asked about the orders whose answer was lost", Err: recErr}
	case recErr != nil && rep.Checked == 0:
		return ids, recErr
	case recErr != nil:
		fmt.Fprintf(c.stderr, "warning: some orders could not be brought up to date: %v\n", recErr)
	}
	return ids, nil
}

func parseFilter(v string) (broker.OrderFilter, error) {
	switch v {
	case "", "all":
		return broker.FilterAll, nil
	case "open":
		return broker.FilterOpen, nil
	case "filled":
		return broker.FilterFilled, nil
	case "canceled", "cancelled":
		return broker.FilterCanceled, nil
	}
	return 0, usagef("bad --status %q: open, filled, canceled or all", v)
}

func ordersTable(w io.Writer, list []broker.Order) {
	fmt.Fprintln(w, "ORDER\tSYMBOL\tSIDE\tTYPE\tQTY\tFILLED\tLIMIT\tSTOP\tTIF\tSTATUS\tCREATED")
	for _, o := range list {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", o.OrderID, o.Instrument.Symbol, o.Side, o.Type,
			o.Quantity, o.FilledQuantity, dash(o.LimitPrice), dash(o.StopPrice), o.TimeInForce, o.Status, stamp(o.CreatedAt))
	}
}

func dash(d decimal.Decimal) string {
	if d.IsZero() {
		return "-"
	}
	return money(d)
}

func (c *cli) order(args []string) error {
	s, a, pos, err := c.accountCmd("order", args, nil)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("name one order: arbion order ID")
	}
	id := pos[0]
	bk, err := c.openBook(s, a)
	if err != nil {
		return err
	}
	defer bk.close(c)
	if rec, tracked, err := bk.find(c, id); err != nil {
		return err
	} else if tracked {
		if rec.BrokerOrderID == "" {
			return c.printRecord(s, "tracked", rec)
		}
		id = rec.BrokerOrderID
	}
	o, err := a.GetOrder(c.ctx, id)
	if err != nil {
		return err
	}
	return c.emit(s, o, func(w io.Writer) {
		ordersTable(w, []broker.Order{o})
		fmt.Fprintf(w, "\navg fill price:\t%s\nfees:\t%s\nbroker status:\t%s\n", o.AvgFillPrice, o.Fees, o.RawStatus)
		if o.RejectReason != "" {
			fmt.Fprintf(w, "reason:\t%s\n", o.RejectReason)
		}
		if len(o.Fills) > 0 {
			fmt.Fprintln(w, "\nFILL\tQTY\tPRICE\tFEE\tTIME")
			for _, f := range o.Fills {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", f.ExecID, f.Quantity, f.Price, f.Fee, stamp(f.Time))
			}
		}
	})
}
