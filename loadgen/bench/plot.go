package bench

import (
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"iolab/loadgen"
	"iolab/models"
)

// The plots, drawn to be projected in a classroom: each model in its own
// colour, marker and dash (style.go); the legend to the right of the
// data, where no line runs under it; a title in two lines that fit; the
// levels to be read with care marked on the point itself (hollow:
// client-bound; a red cross: failed requests), each mark explained in a
// caption line under the plot; and every word in English and in
// Portuguese (plottext.go), one file each.

// plotSpec is one plot of a metric: a line per model over the client
// levels. Its words are in plotText, by key.
type plotSpec struct {
	key  string // the metric it draws
	logY bool
}

// plotSpecs are drawn for every scenario.
var plotSpecs = []plotSpec{
	{"throughput", false},
	{"p99", true},
	{"procs", true},
	{"threads", true},
	{"rss", false},
	{"switches", false},
	{"efficiency", false},
}

// kindsPlot is drawn for a mixed load only (Scenario.Heavy): the cheap
// requests' tail, which a blocked serving thread stretches.
var kindsPlot = plotSpec{"cheap-p99", true}

// connectKey names the connect-time plot of a greeting scenario.
const connectKey = "connect"

// Plot is one written plot: the English files, which the report shows,
// and their Portuguese twins beside them, named with .pt before the
// extension (seed-throughput.pt.png).
type Plot struct {
	Scenario, Key, Title string
	PNG, SVG             string // file names, relative to the output folder
}

// WritePlots draws every plot of every scenario into dir, as PNG and SVG,
// in each language of plotLangs: plotSpecs, kindsPlot for a mixed load,
// and the connect plot for a greeting.
func WritePlots(r *Results, dir string) ([]Plot, error) {
	var out []Plot
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		for _, key := range s.plotKeys() {
			base := s.Name + "-" + key
			drawn := false
			for _, t := range plotLangs {
				f, ok, err := s.figure(key, t)
				if err != nil {
					return out, fmt.Errorf("plot %s: %w", base, err)
				}
				if !ok {
					break
				}
				for _, ext := range []string{"png", "svg"} {
					if err := f.save(filepath.Join(dir, base+t.suffix+"."+ext)); err != nil {
						return out, fmt.Errorf("plot %s: %w", base, err)
					}
				}
				drawn = true
			}
			if drawn {
				out = append(out, Plot{Scenario: s.Name, Key: key, Title: english.title(key), PNG: base + ".png", SVG: base + ".svg"})
			}
		}
	}
	return out, nil
}

// Replot draws the plots of a bench again from its results.json in dir,
// into dir, without measuring: a figure's style or words can change
// after the run it shows. report.md and report.html are left as the run
// wrote them.
func Replot(dir string) ([]Plot, error) {
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil || len(r.Scenarios) == 0 {
		if err == nil {
			err = fmt.Errorf("no scenarios")
		}
		return nil, fmt.Errorf("%s is not the results.json of iolab bench (%v)", filepath.Join(dir, "results.json"), err)
	}
	return WritePlots(&r, dir)
}

// plotKeys are the plots of s, in the order the report shows them.
func (s *ScenarioResult) plotKeys() []string {
	var keys []string
	for _, spec := range plotSpecs {
		keys = append(keys, spec.key)
	}
	if s.Heavy > 0 {
		keys = append(keys, kindsPlot.key)
	}
	if s.Proto == models.Greeting.String() {
		keys = append(keys, connectKey)
	}
	return keys
}

// figure draws the plot key of s in language t. It reports false if s
// has nothing to draw there.
func (s *ScenarioResult) figure(key string, t *plotText) (*figure, bool, error) {
	if key == connectKey {
		return s.connectPlot(t)
	}
	specs := append(slices.Clip(plotSpecs), kindsPlot)
	i := slices.IndexFunc(specs, func(p plotSpec) bool { return p.key == key })
	if i < 0 {
		return nil, false, fmt.Errorf("no plot %q", key)
	}
	return s.plot(specs[i], t)
}

// title is the metric part of a plot's title.
func (t *plotText) title(key string) string {
	if key == connectKey {
		return t.connectTitle
	}
	return t.titles[key]
}

// levelPoint is one level of a row on a plot, and how far to trust it.
type levelPoint struct {
	x, y float64
	// bound: the load generator was the limit (client-bound); failed:
	// some requests failed, and no latency includes them.
	bound, failed bool
}

// plot draws spec for s: clients on a log axis, one line per model. Its
// y axis is on a log scale when the spec says so, or when the values span
// a factor of 30 or more (throughput in io-bound: 96 to 85,107), so that
// the small ones do not all sit on zero. A client-bound level has a
// hollow marker and a level with failed requests a red cross. The
// throughput of work that waits (sleep:D, block:D) has its ceiling drawn. It
// reports false if no model has a value to draw.
func (s *ScenarioResult) plot(spec plotSpec, t *plotText) (*figure, bool, error) {
	m, ok := findMetric(spec.key)
	if !ok {
		return nil, false, fmt.Errorf("no metric %q", spec.key)
	}
	type line struct {
		series string
		points []levelPoint
	}
	var lines []line
	lo, top := math.Inf(1), 0.0
	for _, series := range s.Models {
		l := line{series: series}
		for _, n := range s.Clients {
			v, ok := s.value(m, series, n)
			if latencyKey(spec.key) {
				v /= 1e6 // ns to ms
			}
			if !ok || !finite(v) {
				continue
			}
			run := s.run(series, n)
			l.points = append(l.points, levelPoint{x: float64(n), y: v, bound: run.Load.ClientBound, failed: run.Load.ErrorsTotal > 0})
			top = max(top, v)
			if v > 0 {
				lo = min(lo, v)
			}
		}
		if len(l.points) > 0 {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return nil, false, nil
	}
	xMin, xMax := float64(s.Clients[0])*0.8, float64(s.Clients[len(s.Clients)-1])*1.25
	perClient, ceiling := 0.0, spec.key == "throughput"
	if ceiling {
		perClient, ceiling = s.ceilingPerClient()
	}
	if ceiling { // on the axis from the first level to the last
		lo, top = min(lo, perClient*float64(s.Clients[0])), max(top, perClient*float64(s.Clients[len(s.Clients)-1]))
	}
	logY := spec.logY || (lo > 0 && top/lo >= 30)
	if logY && math.IsInf(lo, 1) { // every value is zero, and a log axis has none
		return nil, false, nil
	}
	title := t.title(spec.key)
	if logY && !spec.logY {
		if strings.HasSuffix(title, ")") { // "(higher is better)" becomes "(higher is better; log scale)"
			title = strings.TrimSuffix(title, ")") + "; " + t.logScale + ")"
		} else {
			title += " (" + t.logScale + ")"
		}
	}
	f := newFigure(t.headingOf(s), title)
	p := f.plot
	p.X.Label.Text = t.clients
	f.yLabel = t.yLabels[spec.key]
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = levelTicks(s.Clients)
	p.X.Min, p.X.Max = xMin, xMax
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{t: t}
		p.Y.Min, p.Y.Max = lo/1.5, top*1.5
	} else {
		p.Y.Min, p.Y.Max = 0, top*1.1
		p.Y.Tick.Marker = linearTicks{t}
	}
	p.Add(plotter.NewGrid())
	var ceilingMark *plotter.Line
	if ceiling { // under the rows
		var err error
		if ceilingMark, err = ceilingLine(perClient, xMin, xMax); err != nil {
			return nil, false, err
		}
		p.Add(ceilingMark)
	}
	var failed failedPoints
	var bound boundPoints
	for _, l := range lines {
		points := l.points
		if logY { // a log axis has no zero
			points = slices.DeleteFunc(slices.Clone(points), func(pt levelPoint) bool { return pt.y <= 0 })
			if len(points) == 0 {
				continue
			}
		}
		row := &seriesPlot{style: s.seriesStyle(l.series), points: points}
		p.Add(row)
		f.legend.Add(l.series, row)
		for _, pt := range points {
			if pt.bound {
				bound = append(bound, boundPoint{pt, row.style})
			}
			if pt.failed {
				failed = append(failed, pt)
			}
		}
	}
	if len(bound) > 0 {
		p.Add(bound) // over every line, so that no row's marker hides one
	}
	if len(failed) > 0 {
		p.Add(failed) // last, over everything
	}
	if ceilingMark != nil {
		f.legend.Add(fmt.Sprintf(t.ceiling, t.number(label(perClient))), ceilingMark)
	}
	if len(bound) > 0 {
		f.legend.Add(t.boundMark, bound)
		f.caption = append(f.caption, t.boundCaption)
	}
	if len(failed) > 0 {
		f.legend.Add(t.failedMark, failed)
		c := t.failedCaption
		if latencyKey(spec.key) {
			c += t.failedLatency
		}
		f.caption = append(f.caption, c+".")
	}
	return f, true, nil
}

// ceilingPerClient is, for work that holds each request for a time D
// while the server waits (sleep:D, block:D), the most one client can be
// answered per second: one request after the other, each at least D, so
// 1 s / D (100 at 10 ms). With clients × that, no model can go higher.
// It reports false for other work, or a mixed load.
func (s *ScenarioResult) ceilingPerClient() (float64, bool) {
	w, err := models.ParseWork(s.Work)
	if err != nil || s.Heavy > 0 || (w.Kind != models.Sleep && w.Kind != models.Block) || w.D <= 0 {
		return 0, false
	}
	return float64(1e9) / float64(w.D.Nanoseconds()), true
}

// ceilingLine draws y = perClient × clients across the x axis, in enough
// points to be straight on a linear y axis as well as on a log one.
func ceilingLine(perClient, xMin, xMax float64) (*plotter.Line, error) {
	const n = 64
	xys := make(plotter.XYs, n)
	for i := range xys {
		x := xMin * math.Pow(xMax/xMin, float64(i)/(n-1))
		xys[i] = plotter.XY{X: x, Y: perClient * x}
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, err
	}
	l.Color = color.RGBA{R: 0x55, G: 0x55, B: 0x55, A: 0xff}
	l.Width = vg.Points(2)
	l.Dashes = []vg.Length{vg.Points(2), vg.Points(4)}
	return l, nil
}

// markerRadius and lineWidth are a row's marker and line, large enough
// to project.
const (
	markerRadius = vg.Length(5) // points
	lineWidth    = 2.5          // points
)

// seriesPlot draws one row: its line, and a marker at each level but the
// client-bound ones, which boundPoints draws. It is also the row's legend
// entry.
type seriesPlot struct {
	style  style
	points []levelPoint
}

// lineStyle is the row's line.
func (sp *seriesPlot) lineStyle() draw.LineStyle {
	return draw.LineStyle{Color: sp.style.color, Width: vg.Points(lineWidth), Dashes: sp.style.dashes}
}

// Plot implements plot.Plotter.
func (sp *seriesPlot) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	pts := make([]vg.Point, len(sp.points))
	for i, pt := range sp.points {
		pts[i] = vg.Point{X: trX(pt.x), Y: trY(pt.y)}
	}
	c.StrokeLines(sp.lineStyle(), c.ClipLinesXY(pts)...)
	for i, pt := range sp.points {
		if !pt.bound {
			c.DrawGlyph(draw.GlyphStyle{Color: sp.style.color, Radius: markerRadius, Shape: marker{shape: sp.style.shape}}, pts[i])
		}
	}
}

// Thumbnail implements plot.Thumbnailer: the row's line and a filled
// marker.
func (sp *seriesPlot) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(sp.lineStyle(), c.Min.X, y, c.Max.X, y)
	c.DrawGlyph(draw.GlyphStyle{Color: sp.style.color, Radius: markerRadius, Shape: marker{shape: sp.style.shape}}, c.Center())
}

// failedPoints are the levels with failed requests, each crossed in red
// over its marker; drawn after every row, so that no line hides one.
type failedPoints []levelPoint

// Plot implements plot.Plotter.
func (fp failedPoints) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for _, pt := range fp {
		c.DrawGlyph(draw.GlyphStyle{Color: failedRed, Radius: markerRadius, Shape: failedCross{}}, vg.Point{X: trX(pt.x), Y: trY(pt.y)})
	}
}

// Thumbnail implements plot.Thumbnailer.
func (failedPoints) Thumbnail(c *draw.Canvas) {
	c.DrawGlyph(draw.GlyphStyle{Color: failedRed, Radius: markerRadius, Shape: failedCross{}}, c.Center())
}

// boundPoint is a client-bound level, and the style of its row.
type boundPoint struct {
	levelPoint
	style style
}

// boundPoints are the client-bound levels, each a hollow marker in its
// row's shape and colour; drawn after every row.
type boundPoints []boundPoint

// Plot implements plot.Plotter.
func (bp boundPoints) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for _, pt := range bp {
		c.DrawGlyph(draw.GlyphStyle{Color: pt.style.color, Radius: markerRadius, Shape: marker{pt.style.shape, true}}, vg.Point{X: trX(pt.x), Y: trY(pt.y)})
	}
}

// Thumbnail implements plot.Thumbnailer: a hollow circle, in grey since
// it stands for every row.
func (boundPoints) Thumbnail(c *draw.Canvas) {
	grey := color.RGBA{R: 0x55, G: 0x55, B: 0x55, A: 0xff}
	c.DrawGlyph(draw.GlyphStyle{Color: grey, Radius: markerRadius, Shape: marker{shape: circle, hollow: true}}, c.Center())
}

// connectPlot draws, for a greeting scenario at its largest level, the
// distribution of connect times of every row: the share of connects still
// waiting after x, both axes on log scales, so that the few slow ones are
// not lost in the crowd. A full accept queue drops SYNs, which the client
// sends again after 1 s (1 s apart the first tcp_syn_linear_timeouts + 1
// times on Linux 6.5+, doubling on older kernels): a plateau up to 1 s,
// then a cliff.
func (s *ScenarioResult) connectPlot(t *plotText) (*figure, bool, error) {
	n := s.Clients[len(s.Clients)-1]
	f := newFigure(fmt.Sprintf(t.connectLevel, t.headingOf(s), n), t.connectTitle)
	p := f.plot
	p.X.Label.Text = t.connectX
	f.yLabel = t.connectY
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = logTicks{t: t, across: true}
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = logTicks{t: t}
	p.Add(plotter.NewGrid())
	lo, hi, floor := math.Inf(1), 0.0, 100.0
	drawn := false
	for _, series := range s.Models {
		run := s.run(series, n)
		if run == nil || run.Load.Histograms["connect"] == nil {
			continue
		}
		h, err := loadgen.Decode(run.Load.Histograms["connect"])
		if err != nil {
			return nil, false, fmt.Errorf("%s at %d clients: connect histogram: %w", series, n, err)
		}
		total := h.TotalCount()
		if total == 0 {
			continue
		}
		// From 100% before the first connect, down a step at each
		// bucket, to the last connect's share; a log axis has no zero.
		var xys plotter.XYs
		left := total
		for _, b := range h.Distribution() {
			if b.Count == 0 {
				continue
			}
			if len(xys) == 0 {
				from := max(float64(b.From), 1) / 1e6 // a log axis has no zero either
				xys = append(xys, plotter.XY{X: from, Y: 100})
				lo = min(lo, from)
			}
			ms := float64(b.To) / 1e6
			if left -= b.Count; left == 0 {
				// The last connect: down to the bottom of the axis.
				xys = append(xys, plotter.XY{X: ms, Y: 100 / float64(total) / 2})
				floor = min(floor, 100/float64(total)/2)
				hi = max(hi, ms)
				break
			}
			xys = append(xys, plotter.XY{X: ms, Y: 100 * float64(left) / float64(total)})
			floor = min(floor, 100*float64(left)/float64(total))
			hi = max(hi, ms)
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, false, err
		}
		st := s.seriesStyle(series)
		line.StepStyle = plotter.PostStep
		line.Color, line.Dashes = st.color, st.dashes
		line.Width = vg.Points(lineWidth)
		p.Add(line)
		f.legend.Add(series, line)
		drawn = true
	}
	if !drawn {
		return nil, false, nil
	}
	p.X.Min, p.X.Max = lo*0.8, max(hi*1.5, 10*lo)
	p.Y.Min, p.Y.Max = floor, 100
	return f, true, nil
}

// figure is a plot with what surrounds it: a title of two lines above
// (the scenario, then the metric), the legend to the right of the data,
// and under the plot a caption line for each mark it uses. The y axis's
// label is the figure's, not the plot's: gonum places a plot's by the
// middle of the axis's values, which on a log axis is near its top, and
// pads the plot for it there.
type figure struct {
	plot    *plot.Plot
	title   [2]string
	yLabel  string
	legend  plot.Legend
	caption []string
}

// The size of every figure and of its words: at 96 dots per inch, a PNG
// of 1134 by 643 pixels, about a projector's 16:9, whose smallest words
// (the ticks) are as tall as a slide's body text seen from the back row.
const (
	figureWidth, figureHeight = 30 * vg.Centimeter, 17 * vg.Centimeter
	figureMargin              = 10 // points, around everything
	headingSize, titleSize    = 17, 15
	labelSize, tickSize       = 15, 14
	legendSize, captionSize   = 14, 13
)

// sans is the figures' typeface: sans-serif reads better projected.
func sans(size vg.Length) font.Font {
	return font.Font{Typeface: "Liberation", Variant: "Sans", Size: size}
}

// newFigure returns an empty figure titled heading and title, its text
// sized to be projected.
func newFigure(heading, title string) *figure {
	f := &figure{plot: plot.New(), title: [2]string{heading, title}, legend: plot.NewLegend()}
	p := f.plot
	p.X.Label.TextStyle.Font, p.Y.Label.TextStyle.Font = sans(labelSize), sans(labelSize)
	p.X.Tick.Label.Font, p.Y.Tick.Label.Font = sans(tickSize), sans(tickSize)
	f.legend.TextStyle.Font = sans(legendSize)
	f.legend.Top, f.legend.Left = true, true
	f.legend.ThumbnailWidth = vg.Points(40)
	f.legend.Padding = vg.Points(3)
	return f
}

// draw lays the figure out on c: title, then the plot and its legend side
// by side, then the caption. A line of text too wide for the figure, or
// a legend too tall for it, is drawn smaller rather than cut.
func (f *figure) draw(c draw.Canvas) {
	c.SetColor(color.White)
	c.Fill(c.Rectangle.Path())
	c = draw.Crop(c, figureMargin, -figureMargin, figureMargin, -figureMargin)
	width := c.Max.X - c.Min.X

	y := c.Max.Y
	for i, line := range f.title {
		sty := textStyle([]vg.Length{headingSize, titleSize}[i], line, width)
		sty.XAlign, sty.YAlign = text.XCenter, text.YTop
		c.FillText(sty, vg.Point{X: c.Center().X, Y: y}, line)
		y -= sty.Height(line) * 1.15
	}
	top := y - vg.Points(6)

	var caption []string
	for _, line := range f.caption {
		caption = append(caption, wrap(captionSize, line, width)...)
	}
	bottom := c.Min.Y
	for i := len(caption) - 1; i >= 0; i-- {
		sty := textStyle(captionSize, caption[i], width)
		sty.YAlign = text.YBottom
		c.FillText(sty, vg.Point{X: c.Min.X, Y: bottom}, caption[i])
		bottom += sty.Height(caption[i]) * 1.2
	}
	if len(f.caption) > 0 {
		bottom += vg.Points(4)
	}

	area := c
	area.Min.Y, area.Max.Y = bottom, top
	if f.yLabel != "" {
		sty := textStyle(labelSize, f.yLabel, top-bottom)
		sty.Rotation = math.Pi / 2
		sty.XAlign, sty.YAlign = text.XCenter, text.YTop
		c.FillText(sty, vg.Point{X: area.Min.X, Y: (bottom + top) / 2}, f.yLabel)
		area.Min.X += sty.Height(f.yLabel) + vg.Points(6)
	}
	legend := f.legend
	for size := vg.Length(legendSize); size > 6; size-- {
		legend.TextStyle.Font.Size = size
		if r := legend.Rectangle(area); r.Max.Y-r.Min.Y <= area.Max.Y-area.Min.Y {
			break
		}
	}
	r := legend.Rectangle(area)
	legendWidth := r.Max.X - r.Min.X
	plotArea, legendArea := area, area
	plotArea.Max.X = area.Max.X - legendWidth - vg.Points(14)
	legendArea.Min.X = plotArea.Max.X + vg.Points(14)
	f.plot.Draw(plotArea)
	legend.Draw(legendArea)
}

// textStyle is the style of a line of text of the given size, made
// smaller if it is wider than width, so that it fits whole.
func textStyle(size vg.Length, line string, width vg.Length) text.Style {
	sty := text.Style{Font: sans(size), Handler: plot.DefaultTextHandler}
	if w := sty.Width(line); w > width {
		sty.Font.Size = size * width / w
	}
	return sty
}

// wrap splits a line of text of the given size, at its spaces, into
// lines no wider than width.
func wrap(size vg.Length, line string, width vg.Length) []string {
	sty := text.Style{Font: sans(size), Handler: plot.DefaultTextHandler}
	var out []string
	cur := ""
	for _, w := range strings.Fields(line) {
		if next := strings.TrimSpace(cur + " " + w); cur == "" || sty.Width(next) <= width {
			cur = next
			continue
		}
		out = append(out, cur)
		cur = w
	}
	return append(out, cur)
}

// save writes the figure to path, as PNG or SVG by its extension.
func (f *figure) save(path string) (err error) {
	c, err := draw.NewFormattedCanvas(figureWidth, figureHeight, strings.TrimPrefix(filepath.Ext(path), "."))
	if err != nil {
		return err
	}
	f.draw(draw.New(c))
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(out); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// linearTicks are gonum's default ticks, labelled like the tables of the
// figure's language: 50,000 rather than 50000.00, 50.000 in Portuguese.
type linearTicks struct{ t *plotText }

func (lt linearTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = lt.t.number(label(ticks[i].Value))
		}
	}
	return ticks
}

// logTicks labels 1, 2 and 5 of every decade, and marks the other digits;
// on an axis too short to show three of those, it labels every digit. On
// a horizontal axis (across) of more than three decades, where labels
// stand side by side, it labels the powers of ten only, so that no two
// run into each other.
type logTicks struct {
	t      *plotText
	across bool
}

func (lt logTicks) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	labelled := 0
	sparse := lt.across && math.Log10(max/min) > 3
	for exp := math.Floor(math.Log10(min)); exp <= math.Ceil(math.Log10(max)); exp++ {
		for d := 1; d <= 9; d++ {
			v := float64(d) * math.Pow(10, exp)
			if v < min || v > max {
				continue
			}
			t := plot.Tick{Value: v}
			if d == 1 || (!sparse && (d == 2 || d == 5)) {
				t.Label = lt.t.number(label(v))
				labelled++
			}
			ticks = append(ticks, t)
		}
	}
	if labelled < 3 {
		for i := range ticks {
			ticks[i].Label = lt.t.number(label(ticks[i].Value))
		}
	}
	return ticks
}

// label formats a tick value: thousands separated above 1000, short
// decimals below.
func label(v float64) string {
	if v >= 1000 {
		return loadgen.Rate(v)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// seriesParts returns the model and environment of a table row.
func (s *ScenarioResult) seriesParts(series string) (model, env string) {
	for _, r := range s.Runs {
		if r.Series == series {
			return r.Model, r.Env
		}
	}
	return series, Native
}

// levelTicks labels exactly the client levels that were run.
type levelTicks []int

func (t levelTicks) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	for _, n := range t {
		ticks = append(ticks, plot.Tick{Value: float64(n), Label: strconv.Itoa(n)})
	}
	return ticks
}
