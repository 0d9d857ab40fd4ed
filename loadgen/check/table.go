package check

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"iolab/loadgen/table"
)

// Status grades one check.
type Status string

const (
	OK    Status = "ok"
	Fail  Status = "FAIL"
	NA    Status = "n/a"   // the check does not apply to the server, and says why
	Limit Status = "limit" // a limitation the model's package documents
)

// Cell is one scenario against one server.
type Cell struct {
	Scenario string `json:"scenario"`
	Status   Status `json:"status"`
	// Text is the measured figure, or for FAIL the first failure and
	// the figure, for n/a why, for limit the evidence.
	Text string `json:"text"`
	// After is what the checks after the scenario measured: threads,
	// descriptors and resident memory, each against before it.
	After string `json:"after,omitempty"`
	// Failures lists every failure, the first one first.
	Failures []string `json:"failures,omitempty"`

	unserved string // why the scenario's first client was not served
}

// Report is one server's graded checks.
type Report struct {
	Server string `json:"server"`
	About  string `json:"about"`
	Form   string `json:"form"`
	Cells  []Cell `json:"checks"`
}

// Counts returns how many checks had each status.
func (r *Report) Counts() map[Status]int {
	n := map[Status]int{}
	for _, c := range r.Cells {
		n[c.Status]++
	}
	return n
}

// Failed reports whether any check failed.
func (r *Report) Failed() bool { return r.Counts()[Fail] > 0 }

// Total is the report's last line: how many checks passed, failed, did
// not apply and met a documented limit.
func (r *Report) Total() string {
	n := r.Counts()
	return fmt.Sprintf("%d checks: %d ok, %d FAIL, %d n/a, %d limit", len(r.Cells), n[OK], n[Fail], n[NA], n[Limit])
}

// WriteText writes the graded table: each check, its grade, and the
// figure or the reason behind it, then the total.
func (r *Report) WriteText(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "iolab check, %s form: %s\n\n", r.Form, r.About)
	for _, c := range r.Cells {
		fmt.Fprintf(&b, "%-5s %s\n", c.Status, c.Scenario)
		if c.Text != "" {
			fmt.Fprintf(&b, "      %s\n", c.Text)
		}
		if c.After != "" {
			fmt.Fprintf(&b, "      after it: threads / descriptors / memory %s\n", c.After)
		}
	}
	fmt.Fprintf(&b, "\n%s\n", r.Total())
	_, err := w.Write(b.Bytes())
	return err
}

// WriteJSON writes the report as one JSON object, for a grading script.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		*Report
		Total  string         `json:"total"`
		Counts map[Status]int `json:"counts"`
	}{r, r.Total(), r.Counts()})
}

// Grid collects many servers' cells, as they end, from any goroutine,
// into one table: a row per scenario, a column per server.
type Grid struct {
	form string
	race bool     // the servers run under the race detector
	rows []string // scenarios, in table order
	cols []string // servers, in teaching order

	mu    sync.Mutex
	cells map[[2]string]Cell // by scenario and server
}

// NewGrid returns an empty grid of scenarios by servers.
func NewGrid(form string, scenarios []Scenario, servers []string) *Grid {
	g := &Grid{form: form, race: raceDetector, cols: servers, cells: map[[2]string]Cell{}}
	for _, sc := range scenarios {
		g.rows = append(g.rows, sc.Name)
	}
	return g
}

// Record sets the cell of server.
func (g *Grid) Record(server string, c Cell) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cells[[2]string{c.Scenario, server}] = c
}

// Write writes the grid as Markdown: what each scenario measured, then
// what the checks after it measured.
func (g *Grid) Write(w io.Writer) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	race := "off"
	if g.race {
		race = "on"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "iolab check, %s form (race detector %s): each scenario against each model, a fresh server each time.\n\n", g.form, race)
	g.grid(&b, func(c Cell) string {
		if c.Status == "" {
			return "not run"
		}
		if c.Text == "" {
			return string(c.Status)
		}
		return string(c.Status) + ": " + c.Text
	})
	fmt.Fprintf(&b, "\nAfter each scenario a fresh client was served; then the change in threads / open descriptors / resident memory (after a GC) since before it.\n\n")
	g.grid(&b, func(c Cell) string {
		if c.After == "" {
			return "-"
		}
		return c.After
	})
	_, err := w.Write(b.Bytes())
	return err
}

// grid writes one Markdown table, a row per scenario and a column per
// server, with cell's text in each.
func (g *Grid) grid(b *bytes.Buffer, cell func(Cell) string) {
	t := table.Table{Header: append([]string{"scenario"}, g.cols...)}
	for _, s := range g.rows {
		row := []string{s}
		for _, m := range g.cols {
			row = append(row, cell(g.cells[[2]string{s, m}]))
		}
		t.Add(row...)
	}
	_ = t.WriteMarkdown(b) // a bytes.Buffer does not fail
}
