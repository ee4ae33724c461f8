package backtest

import (
	"fmt"
	"image/color"
	"io"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Picture sizes of WritePNG.
const (
	PNGWidth  = 12 * vg.Inch
	PNGHeight = 7 * vg.Inch
)

// WritePNG draws the report as a PNG picture: the equity curve with
// buy-and-hold above, the drawdown (percent below the peak) beneath, on one
// time axis. Figures become float64 here for drawing only; the report's
// money stays decimal.
func (rep Report) WritePNG(w io.Writer) error {
	if len(rep.Equity) == 0 {
		return fmt.Errorf("backtest: nothing to draw: the report has no equity curve")
	}
	equity := make(plotter.XYs, 0, len(rep.Equity)+1)
	hold := make(plotter.XYs, 0, len(rep.Equity)+1)
	dd := make(plotter.XYs, 0, len(rep.Equity)+1)
	t0 := float64(rep.Start.Unix())
	start := rep.StartCash.InexactFloat64()
	equity = append(equity, plotter.XY{X: t0, Y: start})
	hold = append(hold, plotter.XY{X: t0, Y: start})
	dd = append(dd, plotter.XY{X: t0, Y: 0})
	for _, p := range rep.Equity {
		x := float64(p.Time.Unix())
		equity = append(equity, plotter.XY{X: x, Y: p.Equity.InexactFloat64()})
		hold = append(hold, plotter.XY{X: x, Y: p.BuyHold.InexactFloat64()})
		dd = append(dd, plotter.XY{X: x, Y: -p.Drawdown.Shift(2).InexactFloat64()})
	}
	ticks := calendarTicks{}

	top := plot.New()
	top.Title.Text = fmt.Sprintf("%s %s: equity (total return %s, max drawdown %s, Sharpe %s)",
		rep.Symbol, rep.Interval, pct(rep.TotalReturn), pct(rep.MaxDrawdown.Fraction), rep.Sharpe.StringFixed(2))
	top.Y.Label.Text = "equity"
	top.X.Tick.Marker = ticks
	top.Add(plotter.NewGrid())
	strat, err := plotter.NewLine(equity)
	if err != nil {
		return err
	}
	strat.Color = color.NRGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	strat.Width = vg.Points(1.5)
	bh, err := plotter.NewLine(hold)
	if err != nil {
		return err
	}
	bh.Color = color.NRGBA{R: 0x80, G: 0x80, B: 0x80, A: 0xff}
	bh.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	top.Add(bh, strat)
	top.Legend.Add("strategy", strat)
	top.Legend.Add("buy and hold", bh)
	top.Legend.Top, top.Legend.Left = true, true

	bottom := plot.New()
	bottom.Title.Text = "drawdown"
	bottom.Y.Label.Text = "% below peak"
	bottom.X.Tick.Marker = ticks
	bottom.Add(plotter.NewGrid())
	// The area between zero and the drawdown, closed along the zero line.
	area := append(append(plotter.XYs{}, dd...), plotter.XY{X: dd[len(dd)-1].X, Y: 0})
	fill, err := plotter.NewPolygon(area)
	if err != nil {
		return err
	}
	fill.Color = color.NRGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0x50}
	fill.LineStyle.Width = 0
	edge, err := plotter.NewLine(dd)
	if err != nil {
		return err
	}
	edge.Color = color.NRGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	bottom.Add(fill, edge)
	bottom.X.Min, bottom.X.Max = top.X.Min, top.X.Max
	bottom.Y.Max = 0

	img := vgimg.New(PNGWidth, PNGHeight)
	dc := draw.New(img)
	// Aligned so that both plots share one time axis.
	tiles := plot.Align([][]*plot.Plot{{top}, {bottom}}, draw.Tiles{Rows: 2, Cols: 1, PadY: vg.Points(8)}, dc)
	top.Draw(tiles[0][0])
	bottom.Draw(tiles[1][0])
	_, err = vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}

// calendarTicks marks a time axis (unix seconds) at calendar boundaries:
// years, months, days or hours, whichever gives a handful of labels.
type calendarTicks struct{}

// Ticks implements plot.Ticker.
func (calendarTicks) Ticks(lo, hi float64) []plot.Tick {
	from, to := time.Unix(int64(lo), 0).UTC(), time.Unix(int64(hi), 0).UTC()
	span := to.Sub(from)
	type unit struct {
		floor  func(time.Time) time.Time
		next   func(time.Time) time.Time
		format string
	}
	units := []struct {
		min time.Duration
		u   unit
	}{
		{3 * 365 * 24 * time.Hour, unit{func(t time.Time) time.Time { return time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC) },
			func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }, "2006"}},
		{90 * 24 * time.Hour, unit{func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC) },
			func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }, "2006-01"}},
		{3 * 24 * time.Hour, unit{func(t time.Time) time.Time { return t.Truncate(24 * time.Hour) },
			func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }, "01-02"}},
		{0, unit{func(t time.Time) time.Time { return t.Truncate(time.Hour) },
			func(t time.Time) time.Time { return t.Add(time.Hour) }, "01-02 15:04"}},
	}
	var u unit
	for _, c := range units {
		if span >= c.min {
			u = c.u
			break
		}
	}
	var all []time.Time
	for t := u.floor(from); !t.After(to); t = u.next(t) {
		if !t.Before(from) {
			all = append(all, t)
		}
	}
	// At most about twelve labels: label every k-th boundary, mark the rest.
	k := max(1, (len(all)+11)/12)
	ticks := make([]plot.Tick, 0, len(all))
	for i, t := range all {
		tick := plot.Tick{Value: float64(t.Unix())}
		if i%k == 0 {
			tick.Label = t.Format(u.format)
		}
		ticks = append(ticks, tick)
	}
	return ticks
}
