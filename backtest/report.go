package backtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/shopspring/decimal"
)

// Places of the report's rounded figures. Money and prices are kept exact;
// ratios are rounded once, where they are computed.
const (
	// RatioPlaces is the places returns, drawdowns, the win rate and the
	// exposure are rounded to (fractions: 0.0123 is 1.23 %).
	RatioPlaces = 8
	// SharpePlaces is the places the Sharpe ratio is rounded to.
	SharpePlaces = 4
	// divPlaces is the precision of the intermediate divisions and roots.
	divPlaces = 20
)

// Report is the outcome of a run.
//
// Conventions: returns and drawdowns are fractions (0.05 is 5 %), rounded
// to RatioPlaces. The equity curve starts at the starting cash before the
// first bar and is marked at each close. TotalReturn is the last equity over
// the starting cash, less one; AnnualizedReturn compounds it over the years
// the bars span ((1+TotalReturn)^(BarsPerYear/Bars) − 1). The drawdown at a
// close is the fall from the highest equity before it, over that high; the
// maximum is reported with the close of its peak and of its trough. The
// Sharpe ratio is the mean of the per-bar returns over their sample
// standard deviation (n−1), times the square root of BarsPerYear, with a
// risk-free rate of zero; it is computed in decimal (the square root too,
// to 20 places) and rounded to SharpePlaces; zero with fewer than two bars
// or no variation. The win rate is closed trades with a positive net P&L
// over closed trades; exposure is the share of bars that closed with a
// position open.
type Report struct {
	Symbol      string          `json:"symbol"`
	Interval    broker.Interval `json:"interval"`
	Start       time.Time       `json:"start"` // the first bar's start
	End         time.Time       `json:"end"`   // the last bar's end
	Bars        int             `json:"bars"`
	BarsPerYear decimal.Decimal `json:"bars_per_year"`

	StartCash        decimal.Decimal `json:"start_cash"`
	EndEquity        decimal.Decimal `json:"end_equity"`
	NetProfit        decimal.Decimal `json:"net_profit"` // EndEquity − StartCash, fees paid
	TotalReturn      decimal.Decimal `json:"total_return"`
	AnnualizedReturn decimal.Decimal `json:"annualized_return"`
	MaxDrawdown      Drawdown        `json:"max_drawdown"`
	Sharpe           decimal.Decimal `json:"sharpe"`

	Trades   []Trade         `json:"trades"`
	Wins     int             `json:"wins"`
	Losses   int             `json:"losses"` // closed trades with a net P&L of zero or less
	WinRate  decimal.Decimal `json:"win_rate"`
	Exposure decimal.Decimal `json:"exposure"`
	Fees     decimal.Decimal `json:"fees"`
	Orders   int             `json:"orders"`  // orders the broker received, protective ones included
	Refused  int             `json:"refused"` // strategy orders the risk engine refused
	Stops    stoploss.Totals `json:"stops"`   // what the supervisor did

	BuyHold BuyHold       `json:"buy_and_hold"`
	Equity  []EquityPoint `json:"equity"`
}

// Drawdown is a fall of equity from a peak.
type Drawdown struct {
	Fraction decimal.Decimal `json:"fraction"` // of the peak
	Amount   decimal.Decimal `json:"amount"`   // in cash
	// Peak and Trough are the start of the bar at whose close equity
	// peaked and bottomed (the first bar's start when the peak is the
	// starting cash).
	Peak   time.Time `json:"peak"`
	Trough time.Time `json:"trough"`
}

// BuyHold is buying with all the starting cash at the first bar's open
// (fractional units, to eight decimal places; no fee, no slippage) and
// holding to the last close.
type BuyHold struct {
	Quantity         decimal.Decimal `json:"quantity"`
	EndEquity        decimal.Decimal `json:"end_equity"`
	TotalReturn      decimal.Decimal `json:"total_return"`
	AnnualizedReturn decimal.Decimal `json:"annualized_return"`
	MaxDrawdown      Drawdown        `json:"max_drawdown"`
	Sharpe           decimal.Decimal `json:"sharpe"`
}

// EquityPoint is the account at one close.
type EquityPoint struct {
	Time     time.Time       `json:"time"` // the bar's end
	Close    decimal.Decimal `json:"close"`
	Equity   decimal.Decimal `json:"equity"`
	BuyHold  decimal.Decimal `json:"buy_and_hold"`
	Drawdown decimal.Decimal `json:"drawdown"` // fraction below the peak so far
}

// Trade is a round trip from flat to flat: every fill from the one that
// opened the position to the one that closed it.
type Trade struct {
	Side       string          `json:"side"` // "long" or "short"
	Entry      time.Time       `json:"entry"`
	Exit       time.Time       `json:"exit,omitzero"` // zero while open
	Quantity   decimal.Decimal `json:"quantity"`      // the total opened
	EntryPrice decimal.Decimal `json:"entry_price"`   // quantity-weighted, to 8 places
	// ExitPrice is the quantity-weighted price of the closing fills, to 8
	// places; for a trade still open, the last close it is marked at.
	ExitPrice decimal.Decimal `json:"exit_price"`
	// ExitBy is the type of the order that closed it: stop (the
	// supervisor's protective stop), market (the strategy, or a supervisor
	// close), limit, ...; empty while open.
	ExitBy broker.OrderType `json:"exit_by,omitempty"`
	Fees   decimal.Decimal  `json:"fees"`
	PnL    decimal.Decimal  `json:"pnl"` // net of fees; marked to the last close while open
	Open   bool             `json:"open,omitempty"`
}

var one = decimal.NewFromInt(1)

// report computes the report from the run's books.
func (r *run) report(ctx context.Context) Report {
	n := len(r.points)
	first, last := r.bars[0], r.bars[n-1]
	bpy := barsPerYear(r.cfg)
	rep := Report{
		Symbol: r.cfg.Instrument.Symbol, Interval: r.cfg.Interval, Start: first.Start, End: last.End(),
		Bars: n, BarsPerYear: bpy, StartCash: r.cfg.Cash, Stops: r.sup.Totals(), Refused: r.refused,
		Equity: r.points,
	}
	equity := make([]decimal.Decimal, n)
	bh := make([]decimal.Decimal, n)
	for i, p := range r.points {
		equity[i], bh[i] = p.Equity, p.BuyHold
	}
	rep.EndEquity = equity[n-1]
	rep.NetProfit = rep.EndEquity.Sub(rep.StartCash)
	rep.TotalReturn, rep.AnnualizedReturn = returns(rep.StartCash, rep.EndEquity, n, bpy)
	var dd []decimal.Decimal
	rep.MaxDrawdown, dd = drawdowns(rep.StartCash, equity, r.bars)
	for i := range rep.Equity {
		rep.Equity[i].Drawdown = dd[i]
	}
	rep.Sharpe = sharpe(rep.StartCash, equity, bpy)
	rep.BuyHold = BuyHold{Quantity: r.bhQty, EndEquity: bh[n-1], Sharpe: sharpe(rep.StartCash, bh, bpy)}
	rep.BuyHold.TotalReturn, rep.BuyHold.AnnualizedReturn = returns(rep.StartCash, bh[n-1], n, bpy)
	rep.BuyHold.MaxDrawdown, _ = drawdowns(rep.StartCash, bh, r.bars)

	rep.Trades = trades(r.fills, r.lastMark)
	closed := 0
	for _, t := range rep.Trades {
		rep.Fees = rep.Fees.Add(t.Fees)
		if t.Open {
			continue
		}
		closed++
		if t.PnL.IsPositive() {
			rep.Wins++
		} else {
			rep.Losses++
		}
	}
	rep.WinRate = ratio(rep.Wins, closed)
	exposed := 0
	for _, h := range r.held {
		if h {
			exposed++
		}
	}
	rep.Exposure = ratio(exposed, n)
	rep.Orders = r.ordersSent(ctx)
	return rep
}

// ordersSent is how many orders the paper broker received (the tracker's
// memory store does not fail).
func (r *run) ordersSent(ctx context.Context) int {
	orders, _ := r.tracker.BySymbol(ctx, r.cfg.Instrument.Symbol)
	sent := 0
	for _, o := range orders {
		if o.BrokerOrderID != "" {
			sent++
		}
	}
	return sent
}

func ratio(k, n int) decimal.Decimal {
	if n == 0 {
		return decimal.Zero
	}
	return decimal.NewFromInt(int64(k)).DivRound(decimal.NewFromInt(int64(n)), RatioPlaces)
}

// barsPerYear is Config.BarsPerYear or the calendar count of the interval.
func barsPerYear(cfg Config) decimal.Decimal {
	if cfg.BarsPerYear.IsPositive() {
		return cfg.BarsPerYear
	}
	d, _ := cfg.Interval.Duration()
	year := decimal.NewFromInt(int64(365*24*time.Hour + 6*time.Hour)) // 365.25 days
	return year.DivRound(decimal.NewFromInt(int64(d)), 8)
}

// returns are the total and the annualised return from start to end over n
// bars.
func returns(start, end decimal.Decimal, n int, bpy decimal.Decimal) (total, annual decimal.Decimal) {
	growth := end.DivRound(start, divPlaces)
	total = growth.Sub(one).Round(RatioPlaces)
	if !growth.IsPositive() {
		return total, one.Neg()
	}
	years := bpy.DivRound(decimal.NewFromInt(int64(n)), divPlaces)
	g, err := growth.PowWithPrecision(years, divPlaces)
	if err != nil {
		return total, decimal.Zero
	}
	return total, g.Sub(one).Round(RatioPlaces)
}

// drawdowns returns the maximum drawdown of the curve that starts at start
// and then takes equity[i] at the close of bars[i], and the drawdown at each
// close.
func drawdowns(start decimal.Decimal, equity []decimal.Decimal, bars []broker.Bar) (Drawdown, []decimal.Decimal) {
	t0 := bars[0].Start
	peak, peakAt := start, t0
	worst := Drawdown{Fraction: decimal.Zero, Amount: decimal.Zero, Peak: t0, Trough: t0}
	at := make([]decimal.Decimal, len(equity))
	for i, e := range equity {
		if e.GreaterThan(peak) {
			peak, peakAt = e, bars[i].Start
		}
		fall := peak.Sub(e)
		at[i] = fall.DivRound(peak, RatioPlaces)
		if fall.GreaterThan(decimal.Zero) && at[i].GreaterThan(worst.Fraction) {
			worst = Drawdown{Fraction: at[i], Amount: fall, Peak: peakAt, Trough: bars[i].Start}
		}
	}
	return worst, at
}

// sharpe is the annualised Sharpe ratio of the per-bar returns of the curve
// that starts at start.
func sharpe(start decimal.Decimal, equity []decimal.Decimal, bpy decimal.Decimal) decimal.Decimal {
	n := len(equity)
	if n < 2 {
		return decimal.Zero
	}
	rets := make([]decimal.Decimal, n)
	prev := start
	sum := decimal.Zero
	for i, e := range equity {
		rets[i] = e.Sub(prev).DivRound(prev, divPlaces)
		sum = sum.Add(rets[i])
		prev = e
	}
	count := decimal.NewFromInt(int64(n))
	mean := sum.DivRound(count, divPlaces)
	ss := decimal.Zero
	for _, r := range rets {
		dev := r.Sub(mean)
		ss = ss.Add(dev.Mul(dev))
	}
	variance := ss.DivRound(count.Sub(one), divPlaces)
	if !variance.IsPositive() {
		return decimal.Zero
	}
	sd, err := variance.SqrtRound(divPlaces)
	if err != nil || sd.IsZero() {
		return decimal.Zero
	}
	root, err := bpy.SqrtRound(divPlaces)
	if err != nil {
		return decimal.Zero
	}
	return mean.Mul(root).DivRound(sd, divPlaces).Round(SharpePlaces)
}

// trades turns the fills into flat-to-flat round trips; a trade still open
// is marked at mark.
func trades(fills []fillRecord, mark decimal.Decimal) []Trade {
	var out []Trade
	var cur *Trade
	pos := decimal.Zero // signed position
	var entryNotional, exitNotional, exitQty decimal.Decimal
	for _, f := range fills {
		signed := f.fill.Quantity
		if !f.buy {
			signed = signed.Neg()
		}
		for !signed.IsZero() {
			if pos.IsZero() {
				side := "long"
				if signed.IsNegative() {
					side = "short"
				}
				out = append(out, Trade{Side: side, Entry: f.fill.Time, Quantity: decimal.Zero, Fees: decimal.Zero})
				cur = &out[len(out)-1]
				entryNotional, exitNotional, exitQty = decimal.Zero, decimal.Zero, decimal.Zero
			}
			part := signed
			if pos.Sign() != 0 && pos.Sign() != signed.Sign() && signed.Abs().GreaterThan(pos.Abs()) {
				part = pos.Neg() // the rest reverses into a new trade
			}
			fee := f.fill.Fee
			if !part.Equal(f.fill.Quantity) && !part.Neg().Equal(f.fill.Quantity) {
				fee = f.fill.Fee.Mul(part.Abs()).DivRound(f.fill.Quantity, divPlaces)
			}
			cur.Fees = cur.Fees.Add(fee)
			if pos.IsZero() || pos.Sign() == part.Sign() {
				cur.Quantity = cur.Quantity.Add(part.Abs())
				entryNotional = entryNotional.Add(part.Abs().Mul(f.fill.Price))
			} else {
				exitQty = exitQty.Add(part.Abs())
				exitNotional = exitNotional.Add(part.Abs().Mul(f.fill.Price))
			}
			pos = pos.Add(part)
			signed = signed.Sub(part)
			cur.EntryPrice = entryNotional.DivRound(cur.Quantity, 8)
			if pos.IsZero() {
				cur.Exit, cur.ExitBy = f.fill.Time, f.orderType
				cur.ExitPrice = exitNotional.DivRound(exitQty, 8)
				cur.PnL = gross(cur.Side, entryNotional, exitNotional).Sub(cur.Fees)
			}
		}
	}
	if cur != nil && !pos.IsZero() {
		cur.Open = true
		cur.ExitPrice = mark
		held := pos.Abs()
		cur.PnL = gross(cur.Side, entryNotional, exitNotional.Add(held.Mul(mark))).Sub(cur.Fees)
	}
	return out
}

func gross(side string, entry, exit decimal.Decimal) decimal.Decimal {
	if side == "short" {
		return entry.Sub(exit)
	}
	return exit.Sub(entry)
}

// WriteJSON writes the report as indented JSON. Decimals are strings
// ("1234.56"), times RFC 3339.
func (rep Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteText writes the report for a human: the figures, the strategy
// beside buy-and-hold, and every trade, in aligned columns; money to the
// cent, ratios as percentages to 0.01.
func (rep Report) WriteText(w io.Writer) error {
	const day = "2006-01-02 15:04"
	if _, err := fmt.Fprintf(w, "%s %s: %d bars from %s to %s\n\n", rep.Symbol, rep.Interval, rep.Bars,
		rep.Start.Format(day), rep.End.Format(day)); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }
	p("\tstrategy\tbuy and hold\t\n")
	p("start cash\t%s\t%s\t\n", money(rep.StartCash), money(rep.StartCash))
	p("end equity\t%s\t%s\t\n", money(rep.EndEquity), money(rep.BuyHold.EndEquity))
	p("total return\t%s\t%s\t\n", pct(rep.TotalReturn), pct(rep.BuyHold.TotalReturn))
	p("annualised return\t%s\t%s\t\n", pct(rep.AnnualizedReturn), pct(rep.BuyHold.AnnualizedReturn))
	p("max drawdown\t%s\t%s\t\n", pct(rep.MaxDrawdown.Fraction), pct(rep.BuyHold.MaxDrawdown.Fraction))
	p("drawdown amount\t%s\t%s\t\n", money(rep.MaxDrawdown.Amount), money(rep.BuyHold.MaxDrawdown.Amount))
	p("drawdown peak\t%s\t%s\t\n", rep.MaxDrawdown.Peak.Format(day), rep.BuyHold.MaxDrawdown.Peak.Format(day))
	p("drawdown trough\t%s\t%s\t\n", rep.MaxDrawdown.Trough.Format(day), rep.BuyHold.MaxDrawdown.Trough.Format(day))
	p("sharpe (annualised, rf 0)\t%s\t%s\t\n", rep.Sharpe.StringFixed(2), rep.BuyHold.Sharpe.StringFixed(2))
	p("trades\t%d\t\n", len(rep.Trades))
	p("win rate\t%s\t(%d won, %d lost)\t\n", pct(rep.WinRate), rep.Wins, rep.Losses)
	p("exposure\t%s\t\n", pct(rep.Exposure))
	p("fees\t%s\t\n", money(rep.Fees))
	p("orders sent / refused\t%d / %d\t\n", rep.Orders, rep.Refused)
	p("stops placed / stopped out\t%d / %d\t\n", rep.Stops.StopsPlaced, rep.Stops.StoppedOut)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rep.Trades) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "#\tside\tentry\texit\tquantity\tentry price\texit price\texit by\tfees\tP&L\t\n")
	for i, t := range rep.Trades {
		exit, by := t.Exit.Format(day), t.ExitBy.String()
		if t.Open {
			exit, by = "open", "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", i+1, t.Side, t.Entry.Format(day), exit,
			t.Quantity, t.EntryPrice.StringFixed(2), t.ExitPrice.StringFixed(2), by, money(t.Fees), money(t.PnL))
	}
	return tw.Flush()
}

func money(d decimal.Decimal) string { return d.StringFixed(2) }

func pct(d decimal.Decimal) string { return d.Shift(2).StringFixed(2) + " %" }
