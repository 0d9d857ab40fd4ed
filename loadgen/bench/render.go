package bench

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"iolab/loadgen"
)

// Rendering: WriteText prints every scenario's tables for a terminal;
// mdTableCols writes one as Markdown for report.md. The header lines and
// notes that say how far to trust a scenario's tables are shared by both.

// WriteText writes every scenario's tables for a terminal.
func WriteText(w io.Writer, r *Results) error {
	fmt.Fprintf(w, "Machine: %s\n", r.describe())
	if r.SyscallsSkipped != "" {
		fmt.Fprintf(w, "System calls: not counted: %s\n", r.SyscallsSkipped)
	}
	if flag, reported := r.workers(); flag != "" || reported != "" {
		fmt.Fprintf(w, "Workers: %s\n", workersText(flag, reported, false))
	}
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		fmt.Fprintf(w, "\n=== %s: %s, work %s ===\n%s\n", s.Name, s.Proto, s.Work, s.About)
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
		if notes := s.notes(); len(notes) > 0 {
			fmt.Fprintln(w)
			for _, n := range notes {
				fmt.Fprintln(w, "note: "+n)
			}
		}
	}
	return nil
}

// textTable writes t for a terminal, with its verdict.
func textTable(w io.Writer, t Table) error {
	return textTableCols(w, t, "clients", levelLabels(t.Clients))
}

// textTableCols writes t for a terminal with the given column labels.
func textTableCols(w io.Writer, t Table, corner string, cols []string) error {
	fmt.Fprintf(w, "\n%s\n", t.Title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\t%s\t\n", corner, strings.Join(cols, "\t"))
	for mi, model := range t.Models {
		fmt.Fprintf(tw, "%s\t%s\t\n", model, strings.Join(t.Cells[mi], "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "→ %s\n", t.Verdict)
	return nil
}

// headerLines say what differs in this scenario from the bench's header:
// where its servers ran, and its longer timeout.
func (s *ScenarioResult) headerLines(r *Results) []string {
	var out []string
	if len(s.ServerCPUs) > 0 {
		out = append(out, fmt.Sprintf("The servers ran on every CPU (%s), the load generator's (%s) among them: they compete for CPU %s.",
			joinInts(s.ServerCPUs), joinInts(r.Pinning.LoadCPUs), joinInts(r.Pinning.LoadCPUs)))
	}
	if s.counted() {
		out = append(out, "System calls were counted (perf stat on the syscall tracepoints) throughout: counting slows every call, "+
			"so this scenario's throughput and latency are not a clean run's; compare them with a run without -syscalls.")
	}
	if s.Timeout != "" {
		out = append(out, fmt.Sprintf("Each request phase is bounded by %s here (the bench's %s), long enough to see a SYN retransmitted (after 1 s, then 1 s apart on Linux 6.7+).",
			s.Timeout, r.Timeout))
	}
	return out
}

// notes lists what a reader must know to trust the tables: failed runs,
// client-bound levels, and error kinds.
func (s *ScenarioResult) notes() []string {
	var out []string
	for _, e := range s.Externals {
		out = append(out, fmt.Sprintf("%s is not a model: `%s` (iolab bench -server); its CPU and context switches per request are its own and "+
			"its reaped children's (wait4), over the requests iolab load counted", e.Name, e.Command))
	}
	unavailable := map[string]bool{} // said once per series
	for _, run := range s.Runs {
		switch {
		case run.Unavailable != "":
			if !unavailable[run.Series] {
				unavailable[run.Series] = true
				out = append(out, fmt.Sprintf("%s is unavailable here (n/a in the tables): %s", run.Series, run.Unavailable))
			}
		case run.Error != "":
			out = append(out, fmt.Sprintf("%s at %d clients failed: %s", run.Series, run.Clients, run.Error))
		case run.External && run.Load.Requests == 0 && run.Load.ErrorsTotal > 0:
			out = append(out, fmt.Sprintf("%s answered no request correctly at %d clients: does it speak %s?", run.Series, run.Clients, s.Proto))
		case run.Load.ClientBound:
			out = append(out, fmt.Sprintf("%s at %d clients was client-bound: the load generator used %.0f%% of its CPU; the server may be faster than shown",
				run.Series, run.Clients, run.Load.ClientCPU.Percent))
		}
		if run.Load.ErrorsTotal > 0 {
			var kinds []string
			for _, k := range loadgen.ErrKinds() {
				if c := run.Load.Errors[k.String()]; c > 0 {
					kinds = append(kinds, fmt.Sprintf("%s=%d", k, c))
				}
			}
			out = append(out, fmt.Sprintf("%s at %d clients: errors %s", run.Series, run.Clients, strings.Join(kinds, " ")))
		}
	}
	return out
}

// mdTableCols renders t as a Markdown table with the given column labels.
func mdTableCols(w io.Writer, t Table, corner string, cols []string) {
	fmt.Fprintf(w, "**%s**\n\n| %s |", t.Title, corner)
	for _, c := range cols {
		fmt.Fprintf(w, " %s |", c)
	}
	fmt.Fprint(w, "\n|---|")
	for range cols {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprintln(w)
	for mi, model := range t.Models {
		fmt.Fprintf(w, "| %s | %s |\n", model, strings.Join(t.Cells[mi], " | "))
	}
	fmt.Fprintf(w, "\n%s\n\n", t.Verdict)
}

func levelLabels(clients []int) []string {
	out := make([]string, len(clients))
	for i, n := range clients {
		out[i] = strconv.Itoa(n)
	}
	return out
}
