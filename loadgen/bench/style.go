package bench

import (
	"image/color"
	"math"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// How a row looks in every plot. Eleven lines on a projector, seen by a
// class in which some students do not tell red from green: each model
// has one colour, one marker and one dash, fixed by its name, so that
// epoll is the same blue circle in every figure of every run, and a model
// absent from a run leaves the others as they were. No two models share
// a colour and a marker.
//
// The colours are Okabe and Ito's palette for colour-blind readers
// ("Color Universal Design", Okabe & Ito, 2002; the same eight colours as
// Wong, Nature Methods 8:441, 2011), less its yellow, which a projector
// washes out on white: seven colours for eleven models. The four models
// that share a colour with a relative (threads and pool, fork and
// prefork, epoll and reuseport, goroutine and gnet) are told apart by
// their marker and by a dashed line for the second.

// style is how one row is drawn.
type style struct {
	color  color.RGBA
	shape  markShape
	dashes []vg.Length // nil: a solid line
}

// The palette's colours, by the names Okabe and Ito give them.
var (
	black         = color.RGBA{R: 0x00, G: 0x00, B: 0x00, A: 0xff}
	orange        = color.RGBA{R: 0xe6, G: 0x9f, B: 0x00, A: 0xff}
	skyBlue       = color.RGBA{R: 0x56, G: 0xb4, B: 0xe9, A: 0xff}
	bluishGreen   = color.RGBA{R: 0x00, G: 0x9e, B: 0x73, A: 0xff}
	blue          = color.RGBA{R: 0x00, G: 0x72, B: 0xb2, A: 0xff}
	vermillion    = color.RGBA{R: 0xd5, G: 0x5e, B: 0x00, A: 0xff}
	reddishPurple = color.RGBA{R: 0xcc, G: 0x79, B: 0xa7, A: 0xff}
)

// dashed and dotted are the line styles beside solid.
var (
	dashed  = []vg.Length{vg.Points(7), vg.Points(4)}
	dotted  = []vg.Length{vg.Points(2), vg.Points(3)}
	dashDot = []vg.Length{vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3)}
)

// modelStyles gives each model its style, in every plot.
var modelStyles = map[string]style{
	"sequential": {black, circle, nil},
	"fork":       {reddishPurple, triangleDown, nil},
	"prefork":    {reddishPurple, triangle, dashed},
	"threads":    {vermillion, square, nil},
	"pool":       {vermillion, diamond, dashed},
	"goroutine":  {skyBlue, pentagon, nil},
	"gnet":       {skyBlue, hexagon, dashed},
	"epoll":      {blue, circle, nil},
	"reuseport":  {blue, square, dashed},
	"workers":    {bluishGreen, diamond, nil},
	"uring":      {orange, triangle, nil},
}

// otherStyles are, in order, the rows that are not models: the servers
// of iolab bench -server, in the order given. Their colours are Paul
// Tol's "muted" scheme for colour-blind readers (wine, olive, indigo,
// teal), which no model uses, on a dash-dot line, so that the tutorial's
// servers do not pass for the models drawn beside them.
var otherStyles = []style{
	{color.RGBA{R: 0x88, G: 0x22, B: 0x55, A: 0xff}, hexagon, dashDot},
	{color.RGBA{R: 0x99, G: 0x99, B: 0x33, A: 0xff}, pentagon, dashDot},
	{color.RGBA{R: 0x33, G: 0x22, B: 0x88, A: 0xff}, triangleDown, dashDot},
	{color.RGBA{R: 0x44, G: 0xaa, B: 0x99, A: 0xff}, diamond, dashDot},
}

// backlogStyles tell apart, in order, the rows of one model at a
// scenario's several backlogs (backlog: 1, 5, the system's default): a
// colour and a dash each, the model's marker kept.
var backlogStyles = []style{
	{color: vermillion, dashes: dashed},
	{color: blue, dashes: dotted},
	{color: bluishGreen},
}

// envDashes draws each environment in its own line style, native solid,
// when a bench ran in several: there the dash says where a server ran,
// and the colour and marker which model it is.
var envDashes = map[string][]vg.Length{
	DockerBridge: dashed,
	DockerHost:   dotted,
	DockerInside: dashDot,
}

// seriesStyle is the style of a row of s: its model's; for the rows of
// one model at several backlogs, a colour and dash per backlog; in a
// bench of several environments, a dash per environment; and for a row
// that is not a model, the next of otherStyles.
func (s *ScenarioResult) seriesStyle(series string) style {
	if s.isOther(series) {
		i := 0 // the place of series among the rows that are not models
		for _, row := range s.Models {
			if row == series {
				break
			}
			if s.isOther(row) {
				i++
			}
		}
		return otherStyles[i%len(otherStyles)]
	}
	run := s.findSeries(series)
	if run == nil { // a model's row, named after it, that never ran
		return modelStyles[series]
	}
	st := modelStyles[run.Model]
	if len(s.Envs) > 1 {
		st.dashes = envDashes[run.Env]
	}
	for j, b := range s.Backlogs {
		if run.Backlog == b {
			bs := backlogStyles[j%len(backlogStyles)]
			st.color, st.dashes = bs.color, bs.dashes
		}
	}
	return st
}

// isOther reports whether a row of s is not a model: a server of -server,
// or a name no model has.
func (s *ScenarioResult) isOther(series string) bool {
	model, _ := s.seriesParts(series)
	_, known := modelStyles[model]
	run := s.findSeries(series)
	return !known || (run != nil && run.External)
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

// markShape is a marker's outline: a circle, or a regular polygon.
type markShape struct {
	sides int     // 0: a circle
	turn  float64 // where the first corner is, in turns from straight up
}

// The markers. Every one can be drawn filled (a level measured cleanly)
// or hollow (a client-bound level), so the shape says the model and the
// fill how far to trust the point.
var (
	circle       = markShape{}
	square       = markShape{4, 1.0 / 8}
	diamond      = markShape{4, 0}
	triangle     = markShape{3, 0}
	triangleDown = markShape{3, 0.5}
	pentagon     = markShape{5, 0}
	hexagon      = markShape{6, 0}
)

// path outlines the shape around pt. A polygon with the circle's radius
// looks smaller than the circle (a triangle has 41% of its area), so its
// radius grows half-way, on a log scale, towards the circle's area.
func (m markShape) path(pt vg.Point, r vg.Length) vg.Path {
	var p vg.Path
	if m.sides == 0 {
		p.Move(vg.Point{X: pt.X + r, Y: pt.Y})
		p.Arc(pt, r, 0, 2*math.Pi)
		p.Close()
		return p
	}
	n := float64(m.sides)
	area := n / 2 * math.Sin(2*math.Pi/n) // of the polygon of radius 1; the circle's is π
	r *= vg.Length(math.Pow(math.Pi/area, 0.25))
	for i := range m.sides {
		a := math.Pi/2 - 2*math.Pi*(m.turn+float64(i)/n)
		v := vg.Point{X: pt.X + r*vg.Length(math.Cos(a)), Y: pt.Y + r*vg.Length(math.Sin(a))}
		if i == 0 {
			p.Move(v)
		} else {
			p.Line(v)
		}
	}
	p.Close()
	return p
}

// marker draws a shape filled, or hollow: white inside, with a thick
// outline in the row's colour, which a projector shows as clearly as a
// fill.
type marker struct {
	shape  markShape
	hollow bool
}

// DrawGlyph implements draw.GlyphDrawer.
func (m marker) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	p := m.shape.path(pt, sty.Radius)
	if !m.hollow {
		c.SetColor(sty.Color)
		c.Fill(p)
		return
	}
	c.SetColor(color.White)
	c.Fill(p)
	c.SetLineStyle(draw.LineStyle{Color: sty.Color, Width: vg.Points(2.2)})
	c.Stroke(p)
}

// failedRed is the cross over a level with failed requests: a red that
// no row uses, on a white halo, so that it shows over any line.
var failedRed = color.RGBA{R: 0xdd, A: 0xff}

// failedCross draws the cross that marks a level with failed requests:
// larger than the marker it covers, so both stay visible.
type failedCross struct{}

// DrawGlyph implements draw.GlyphDrawer.
func (failedCross) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	r := sty.Radius * 1.5
	for _, ls := range []draw.LineStyle{{Color: color.White, Width: vg.Points(5)}, {Color: failedRed, Width: vg.Points(2.4)}} {
		c.StrokeLine2(ls, pt.X-r, pt.Y-r, pt.X+r, pt.Y+r)
		c.StrokeLine2(ls, pt.X-r, pt.Y+r, pt.X+r, pt.Y-r)
	}
}
