package bench

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"iolab/loadgen"
	"iolab/models"
)

// plotSpec is one plot of a metric: a line per model over the client
// levels.
type plotSpec struct {
	key    string // the metric it draws
	title  string
	yLabel string
	logY   bool
}

// plotSpecs are drawn for every scenario.
var plotSpecs = []plotSpec{
	{"throughput", "requests per second (higher is better)", "requests / s", false},
	{"p99", "p99 latency (lower is better; log scale)", "p99 latency, ms", true},
	{"procs", "server processes, peak", "processes", true},
	{"threads", "server OS threads, peak", "threads", true},
	{"rss", "server resident memory, peak", "RSS, MiB", false},
	{"switches", "server context switches per request", "context switches / request", false},
	{"efficiency", "requests per server CPU-second (higher is better)", "requests / CPU-second", false},
}

// kindsPlot is drawn for a mixed load only (Scenario.Heavy): the cheap
// requests' tail, which a blocked serving thread stretches.
var kindsPlot = plotSpec{"cheap-p99", "cheap requests' p99 latency (lower is better; log scale)", "cheap requests' p99 latency, ms", true}

// Plot is one written plot.
type Plot struct {
	Scenario, Key, Title string
	PNG, SVG             string // file names, relative to the output folder
}

// modelStyle gives each model the same colour and marker in every plot.
var modelStyle = map[string]struct {
	color color.RGBA
	shape draw.GlyphDrawer
}{
	"sequential": {color.RGBA{R: 0x77, G: 0x77, B: 0x77, A: 0xff}, draw.CircleGlyph{}},
	"threads":    {color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, draw.SquareGlyph{}},
	"goroutine":  {color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, draw.TriangleGlyph{}},
	"epoll":      {color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, draw.PyramidGlyph{}},
	"gnet":       {color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, draw.CrossGlyph{}},
	"fork":       {color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff}, draw.RingGlyph{}},
	"prefork":    {color.RGBA{R: 0xe3, G: 0x77, B: 0xc2, A: 0xff}, draw.BoxGlyph{}},
	"pool":       {color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, draw.PlusGlyph{}},
	"workers":    {color.RGBA{R: 0xbc, G: 0xbd, B: 0x22, A: 0xff}, draw.SquareGlyph{}},
	"reuseport":  {color.RGBA{R: 0x17, G: 0xbe, B: 0xcf, A: 0xff}, draw.TriangleGlyph{}},
	"uring":      {color.RGBA{R: 0x00, G: 0x00, B: 0x00, A: 0xff}, draw.CircleGlyph{}},
}

// WritePlots draws every plot of every scenario into dir, as PNG and SVG:
// plotSpecs, kindsPlot for a mixed load, and connectPlot for a greeting.
func WritePlots(r *Results, dir string) ([]Plot, error) {
	var out []Plot
	save := func(p *plot.Plot, s *ScenarioResult, key, title string) error {
		base := s.Name + "-" + key
		for _, ext := range []string{"png", "svg"} {
			if err := p.Save(plotWidth, plotHeight, filepath.Join(dir, base+"."+ext)); err != nil {
				return fmt.Errorf("plot %s: %w", base, err)
			}
		}
		out = append(out, Plot{Scenario: s.Name, Key: key, Title: title, PNG: base + ".png", SVG: base + ".svg"})
		return nil
	}
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		specs := plotSpecs
		if s.Heavy > 0 {
			specs = append(slices.Clip(specs), kindsPlot)
		}
		for _, spec := range specs {
			p, ok, err := s.plot(spec)
			if err == nil && ok {
				err = save(p, s, spec.key, spec.title)
			}
			if err != nil {
				return out, err
			}
		}
		if s.Proto != models.Greeting.String() {
			continue
		}
		p, ok, err := s.connectPlot()
		if err == nil && ok {
			err = save(p, s, "connect", connectTitle)
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// plot draws spec for s: clients on a log axis, one line per model. Its
// y axis is on a log scale when the spec says so, or when the values span
// a factor of 30 or more (throughput in io-bound: 96 to 85,107), so that
// the small ones do not all sit on zero. On a latency plot, a point whose
// run failed requests is ringed in red: its percentiles leave those out.
// It reports false if no model has a value to draw.
func (s *ScenarioResult) plot(spec plotSpec) (*plot.Plot, bool, error) {
	m, ok := findMetric(spec.key)
	if !ok {
		return nil, false, fmt.Errorf("no metric %q", spec.key)
	}
	type line struct {
		series string
		xys    plotter.XYs
		failed plotter.XYs // points of runs that failed requests
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
			l.xys = append(l.xys, plotter.XY{X: float64(n), Y: v})
			if r := s.run(series, n); r != nil && r.Load.ErrorsTotal > 0 {
				l.failed = append(l.failed, plotter.XY{X: float64(n), Y: v})
			}
			top = max(top, v)
			if v > 0 {
				lo = min(lo, v)
			}
		}
		if len(l.xys) > 0 {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return nil, false, nil
	}
	logY := spec.logY || (lo > 0 && top/lo >= 30)
	title := spec.title
	if logY && !spec.logY {
		if strings.HasSuffix(title, ")") { // "(higher is better)" becomes "(higher is better; log scale)"
			title = strings.TrimSuffix(title, ")") + "; log scale)"
		} else {
			title += " (log scale)"
		}
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s (%s, work %s): %s", s.Name, s.Proto, s.workText(), title)
	p.X.Label.Text = "simultaneous clients (log scale)"
	p.Y.Label.Text = spec.yLabel
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = levelTicks(s.Clients)
	p.X.Min, p.X.Max = float64(s.Clients[0])*0.8, float64(s.Clients[len(s.Clients)-1])*1.25
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
		p.Y.Min, p.Y.Max = lo/1.5, top*8 // headroom above, for the legend in the top left
	} else {
		p.Y.Min, p.Y.Max = 0, top*1.5
		p.Y.Tick.Marker = linearTicks{}
	}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	var failedMark plot.Thumbnailer // the legend's entry for the rings, last
	for i, l := range lines {
		xys := l.xys
		if logY { // a log axis has no zero
			xys = nil
			for _, xy := range l.xys {
				if xy.Y > 0 {
					xys = append(xys, xy)
				}
			}
			if len(xys) == 0 {
				continue
			}
		}
		ln, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, false, err
		}
		model, _ := s.seriesParts(l.series)
		c, dashes := s.seriesStyle(i, l.series)
		ln.Color, points.Color = c, c
		ln.Width = vg.Points(2)
		ln.Dashes = dashes
		points.Shape, points.Radius = modelStyle[model].shape, vg.Points(4)
		if points.Shape == nil {
			points.Shape = draw.CircleGlyph{}
		}
		p.Add(ln, points)
		p.Legend.Add(l.series, ln, points)
		if latencyKey(spec.key) && len(l.failed) > 0 {
			ring, err := plotter.NewScatter(l.failed)
			if err != nil {
				return nil, false, err
			}
			ring.Shape, ring.Color, ring.Radius = draw.RingGlyph{}, color.RGBA{R: 0xdd, A: 0xff}, vg.Points(8)
			p.Add(ring)
			failedMark = ring
		}
	}
	if failedMark != nil {
		p.Legend.Add("failed requests (not in the latency)", failedMark)
	}
	projectable(p)
	return p, true, nil
}

// projectable sets the plot's text large enough to read on a projector.
func projectable(p *plot.Plot) {
	p.Title.TextStyle.Font.Size = vg.Points(14)
	p.X.Label.TextStyle.Font.Size, p.Y.Label.TextStyle.Font.Size = vg.Points(13), vg.Points(13)
	p.X.Tick.Label.Font.Size, p.Y.Tick.Label.Font.Size = vg.Points(12), vg.Points(12)
	p.Legend.TextStyle.Font.Size = vg.Points(12)
}

// plotWidth and plotHeight are the size of every plot: large enough to
// project, at 96 dots per inch about 900 by 570 pixels.
const plotWidth, plotHeight = 24 * vg.Centimeter, 15 * vg.Centimeter

// connectTitle is the connect-time plot's title.
const connectTitle = "connect time: share of connects still waiting after x, at the largest level"

// connectPlot draws, for a greeting scenario at its largest level, the
// distribution of connect times of every row: the share of connects still
// waiting after x, both axes on log scales, so that the few slow ones are
// not lost in the crowd. A full accept queue drops SYNs, which the client
// sends again after 1 s (then 1 s apart for the next three on Linux 6.7+,
// doubling before): a plateau up to 1 s, then a cliff.
func (s *ScenarioResult) connectPlot() (*plot.Plot, bool, error) {
	n := s.Clients[len(s.Clients)-1]
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s (%s, work %s), %d clients: %s", s.Name, s.Proto, s.workText(), n, "connect time")
	p.X.Label.Text = "connect(2) time, ms (log scale)"
	p.Y.Label.Text = "% still waiting (log scale)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = logTicks{}
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = logTicks{}
	p.Legend.Top, p.Legend.Left = true, false
	p.Legend.YOffs = -vg.Points(4)
	p.Add(plotter.NewGrid())
	lo, hi, floor := math.Inf(1), 0.0, 100.0
	drawn := false
	for i, series := range s.Models {
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
		line.StepStyle = plotter.PostStep
		line.Color, line.Dashes = s.seriesStyle(i, series)
		line.Width = vg.Points(1.8)
		p.Add(line)
		p.Legend.Add(series, line)
		drawn = true
	}
	if !drawn {
		return nil, false, nil
	}
	p.X.Min, p.X.Max = lo*0.8, max(hi*1.5, 10*lo)
	p.Y.Min, p.Y.Max = floor, 100
	projectable(p)
	return p, true, nil
}

// seriesStyle is the colour and dashes of the i-th row of s: its model's
// colour, and for the rows of one model at several backlogs, or for a
// server that is not a model, a colour or dash of its own.
func (s *ScenarioResult) seriesStyle(i int, series string) (color.Color, []vg.Length) {
	model, env := s.seriesParts(series)
	st, known := modelStyle[model]
	c := color.Color(st.color)
	if !known {
		c = palette[i%len(palette)]
	}
	dashes := envDashes[env]
	for j, b := range s.Backlogs {
		if run := s.findSeries(series); run != nil && run.Backlog == b {
			c, dashes = palette[j%len(palette)], backlogDashes[j%len(backlogDashes)]
		}
	}
	return c, dashes
}

// findSeries returns the first run of a row, or nil.
func (s *ScenarioResult) findSeries(series string) *Measurement {
	for i := range s.Runs {
		if s.Runs[i].Series == series {
			return &s.Runs[i]
		}
	}
	return nil
}

// palette colours the rows that are not models (iolab bench -server).
var palette = []color.Color{
	color.RGBA{R: 0x99, G: 0x00, B: 0x99, A: 0xff},
	color.RGBA{R: 0x00, G: 0x66, B: 0x99, A: 0xff},
	color.RGBA{R: 0x99, G: 0x66, B: 0x00, A: 0xff},
	color.RGBA{R: 0x00, G: 0x99, B: 0x66, A: 0xff},
}

// backlogDashes tell apart the rows of one model at several backlogs.
var backlogDashes = [][]vg.Length{nil, {vg.Points(6), vg.Points(3)}, {vg.Points(2), vg.Points(2)}}

// linearTicks are gonum's default ticks, labelled like the tables:
// 50,000 rather than 50000.00.
type linearTicks struct{}

func (linearTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = label(ticks[i].Value)
		}
	}
	return ticks
}

// logTicks labels 1, 2 and 5 of every decade, and marks the other digits.
type logTicks struct{}

func (logTicks) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	for exp := math.Floor(math.Log10(min)); exp <= math.Ceil(math.Log10(max)); exp++ {
		for d := 1; d <= 9; d++ {
			v := float64(d) * math.Pow(10, exp)
			if v < min || v > max {
				continue
			}
			t := plot.Tick{Value: v}
			if d == 1 || d == 2 || d == 5 {
				t.Label = label(v)
			}
			ticks = append(ticks, t)
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

// envDashes draws each environment in its own line style: native solid.
var envDashes = map[string][]vg.Length{
	DockerBridge: {vg.Points(6), vg.Points(3)},
	DockerHost:   {vg.Points(2), vg.Points(2)},
	DockerInside: {vg.Points(8), vg.Points(2), vg.Points(2), vg.Points(2)},
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
