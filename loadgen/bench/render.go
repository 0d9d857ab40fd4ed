package bench

import (
	"fmt"
	"io"
	"strconv"

	"iolab/loadgen/table"
)

// Rendering: WriteText prints every scenario's tables for a terminal;
// mdTableCols writes one as Markdown for report.md. Both lay a table out
// with package table; the header lines and notes that say how far to
// trust a scenario's tables (verdict.go) are shared by both.

// WriteText writes every scenario's tables for a terminal.
func WriteText(w io.Writer, r *Results) error {
	fmt.Fprintf(w, "Machine: %s\n", r.describe())
	if r.SyscallsSkipped != "" {
		fmt.Fprintf(w, "System calls: not counted: %s\n", r.SyscallsSkipped)
	}
	if flag, reported := r.workers(); flag != "" || reported != "" {
		fmt.Fprintf(w, "Workers: %s\n", workersText(flag, reported, false))
	}
	if r.LoadEngine != "" {
		fmt.Fprintf(w, "Load generator: %s\n", engineText(r.LoadEngine))
	}
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		fmt.Fprintf(w, "\n=== %s: %s, work %s ===\n%s\n", s.Name, s.Proto, s.workText(), s.About)
		for _, line := range s.headerLines(r) {
			fmt.Fprintln(w, line)
		}
		gs := s.Groups()
		for gi, ts := range Tables(s) {
			fmt.Fprintf(w, "\n-- %s --\n", gs[gi].Title)
			for _, t := range ts {
				if err := textTable(w, t); err != nil {
					return err
				}
			}
		}
		if t, calls, ok := s.SyscallsTable(); ok {
			if err := textTableCols(w, t, "calls", calls); err != nil {
				return err
			}
		}
		for _, extra := range []func() (Table, bool){s.ErrorKindsTable, s.LoopsTable} {
			if t, ok := extra(); ok {
				if err := textTable(w, t); err != nil {
					return err
				}
			}
		}
		writeNotes(w, s.notes())
	}
	if r.Pair != nil {
		p := r.Pair.report()
		fmt.Fprintf(w, "\n=== %s ===\n%s\n", p.Heading, p.About)
		for _, sec := range p.Sections {
			for _, t := range sec.Tables {
				if err := textTableCols(w, t.Table, t.Corner, t.Cols); err != nil {
					return err
				}
			}
		}
		writeNotes(w, p.Notes)
	}
	return nil
}

// writeNotes writes a scenario's notes for a terminal, if it has any.
func writeNotes(w io.Writer, notes []string) {
	if len(notes) == 0 {
		return
	}
	fmt.Fprintln(w)
	for _, n := range notes {
		fmt.Fprintln(w, "note: "+n)
	}
}

// textTable writes t for a terminal, with its verdict.
func textTable(w io.Writer, t Table) error {
	return textTableCols(w, t, "clients", levelLabels(t.Clients))
}

// textTableCols writes t for a terminal with the given column labels.
func textTableCols(w io.Writer, t Table, corner string, cols []string) error {
	fmt.Fprintf(w, "\n%s\n", t.Title)
	g := t.grid(corner, cols)
	if err := g.WriteText(w); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "→ %s\n", t.Verdict)
	return err
}

// mdTableCols renders t as a Markdown table with the given column labels,
// its title above and its verdict below.
func mdTableCols(w io.Writer, t Table, corner string, cols []string) {
	fmt.Fprintf(w, "**%s**\n\n", t.Title)
	g := t.grid(corner, cols)
	_ = g.WriteMarkdown(w) // as all of WriteReport's writes: Write gives it a buffer
	fmt.Fprintf(w, "\n%s\n\n", t.Verdict)
}

// grid returns t for package table to lay out: corner and cols as its
// header, then a row per model.
func (t Table) grid(corner string, cols []string) table.Table {
	g := table.Table{Header: append([]string{corner}, cols...)}
	for mi, model := range t.Models {
		g.Add(append([]string{model}, t.Cells[mi]...)...)
	}
	return g
}

// levelLabels labels a table's columns with its levels, in plain digits as
// the scenarios list them.
func levelLabels(clients []int) []string {
	out := make([]string, len(clients))
	for i, n := range clients {
		out[i] = strconv.Itoa(n)
	}
	return out
}

// engineText says which engine the load generator's echo clients ran on.
func engineText(engine string) string {
	return "echo clients on the " + engine + " engine (-engine " + engine + "); greeting clients on epoll"
}
