package models_test

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"iolab/models/golden"
)

// relCell is one scenario against one model, as the table shows it.
type relCell struct {
	// status is ok, FAIL, n/a (the scenario does not apply to the model)
	// or limit (a limitation its package documents).
	status string
	// text is the measured figure, or for FAIL the first failure.
	text string
	// after is what the checks after the scenario measured: threads,
	// descriptors and resident memory, each against before it.
	after string
}

// relTable collects the cells as the scenarios end, from any goroutine.
type relTable struct {
	form string
	race bool
	rows []string // scenarios, in table order
	cols []string // models, in teaching order

	mu    sync.Mutex
	cells map[[2]string]relCell // by scenario and model
}

func newRelTable(form string, race bool) *relTable {
	return &relTable{form: form, race: race, cells: map[[2]string]relCell{}}
}

// record sets the cell of scenario and model.
func (t *relTable) record(scenario, model string, c relCell) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cells[[2]string{scenario, model}] = c
}

// write writes the table as Markdown: what each scenario measured, then
// what the checks after it measured.
func (t *relTable) write(w io.Writer) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	race := "off"
	if t.race {
		race = "on"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "Reliability suite, %s form (race detector %s): each scenario against each model, a fresh server each time.\n\n", t.form, race)
	t.grid(&b, func(c relCell) string {
		if c.status == "" {
			return "not run"
		}
		if c.text == "" {
			return c.status
		}
		return c.status + ": " + c.text
	})
	fmt.Fprintf(&b, "\nAfter each scenario a fresh client was served; then the change in threads / open descriptors / resident memory (after a GC) since before it.\n\n")
	t.grid(&b, func(c relCell) string {
		if c.after == "" {
			return "-"
		}
		return c.after
	})
	_, err := w.Write(b.Bytes())
	return err
}

// grid writes one Markdown table, a row per scenario and a column per
// model, with cell's text in each.
func (t *relTable) grid(b *bytes.Buffer, cell func(relCell) string) {
	b.WriteString("| scenario |")
	for _, m := range t.cols {
		b.WriteString(" " + m + " |")
	}
	b.WriteString("\n|---|")
	b.WriteString(strings.Repeat("---|", len(t.cols)))
	b.WriteString("\n")
	for _, s := range t.rows {
		b.WriteString("| " + mdEscape(s) + " |")
		for _, m := range t.cols {
			b.WriteString(" " + mdEscape(cell(t.cells[[2]string{s, m}])) + " |")
		}
		b.WriteString("\n")
	}
}

// mdEscape keeps text inside one Markdown table cell.
func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

func TestReliabilityTableFormat(t *testing.T) {
	tab := newRelTable("short", true)
	tab.rows = []string{"slowloris", "10,000 concurrent echo clients"}
	tab.cols = []string{"sequential", "epoll", "gnet"}
	tab.record("slowloris", "sequential", relCell{status: "ok", text: "2 closed as request_timeout after 1.00–1.01 s", after: "+0 / +0 / +0.1 MiB"})
	tab.record("slowloris", "epoll", relCell{status: "FAIL", text: "4 of 4 still open after 3.0 s | no request_timeout", after: "+0 / +0 / -0.2 MiB"})
	tab.record("10,000 concurrent echo clients", "sequential", relCell{status: "n/a", text: "serial model: one client at a time"})
	tab.record("10,000 concurrent echo clients", "gnet", relCell{status: "limit", text: "documented"})
	var b bytes.Buffer
	if err := tab.write(&b); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "reliability-table.golden.md", b.Bytes())
}
