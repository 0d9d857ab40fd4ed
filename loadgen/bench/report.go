package bench

import (
	"fmt"
	"io"

	"iolab/models"
)

// WriteReport writes report.md: the machine, for each scenario its
// tables, verdicts, notes and plots, and what each model benched does at
// its limits.
func WriteReport(w io.Writer, r *Results, plots []Plot) {
	fmt.Fprintf(w, "# iolab bench, %s\n\n", r.Started.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "- **Machine:** %s, %d cores, %s, %s, %s\n", r.Machine.CPU, r.Machine.Cores, r.Machine.Kernel, r.Machine.OS, r.Machine.Go)
	if r.Pinning.Pinned {
		fmt.Fprintf(w, "- **Pinning:** server on CPU %s, load generator on CPU %s\n", joinInts(r.Pinning.ServerCPUs), joinInts(r.Pinning.LoadCPUs))
	} else {
		fmt.Fprintln(w, "- **Pinning:** none; server and load generator share every CPU")
	}
	fmt.Fprintf(w, "- **Each level:** a fresh server, %s warm-up, %s measured, %s timeout per request phase\n", r.Warmup, r.Duration, r.Timeout)
	flag, reported := r.workers()
	fmt.Fprintf(w, "- **Workers:** %s\n", workersText(flag, reported, true))
	if r.SyscallsSkipped != "" {
		fmt.Fprintf(w, "- **System calls:** not counted: %s\n", r.SyscallsSkipped)
	}
	fmt.Fprintln(w, "- **Files:** `results.json` (everything), `results.csv` (one row per run), `logs/` (each server's JSON log)")
	fmt.Fprintln(w, "\nThe footprint covers the server's process tree, the server and every process descended from it (found by their parent PIDs in `/proc/*/stat`): processes, threads, memory and descriptors, summed over the tree and sampled every 100 ms during the measured interval (peak shown). Summed RSS counts a page that processes share (the binary, memory not yet copied after `fork`) once in each. CPU time and context switches per request come from `getrusage(2)` as the server exits, its own and that of the children it reaped (`RUSAGE_CHILDREN`, the same as `wait4(2)` reports: exact, and counting threads and processes that have exited), over its whole life, divided by the requests it answered.")
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		fmt.Fprintf(w, "\n## %s: %s, work %s\n\n%s\n\n", s.Name, s.Proto, s.Work, s.About)
		for _, line := range s.headerLines(r) {
			fmt.Fprintf(w, "**%s**\n\n", line)
		}
		gs := s.Groups()
		for gi, ts := range Tables(s) {
			fmt.Fprintf(w, "### %s\n\n", gs[gi].Title)
			for _, t := range ts {
				mdTable(w, t)
			}
		}
		if t, calls, ok := s.SyscallsTable(); ok {
			fmt.Fprint(w, "### System calls by name\n\n")
			mdTableCols(w, t, "model", calls)
		}
		if t, ok := s.ErrorKindsTable(); ok {
			fmt.Fprint(w, "### Failures by kind\n\n")
			mdTable(w, t)
		}
		if t, ok := s.LoopsTable(); ok {
			fmt.Fprint(w, "### Event loops\n\n")
			mdTable(w, t)
		}
		if notes := s.notes(); len(notes) > 0 {
			fmt.Fprint(w, "### Notes\n\n")
			for _, n := range notes {
				fmt.Fprintf(w, "- %s\n", n)
			}
			fmt.Fprintln(w)
		}
		fmt.Fprint(w, "### Plots\n\n")
		for _, p := range plots {
			if p.Scenario == s.Name {
				fmt.Fprintf(w, "![%s: %s](%s)\n\n", s.Name, p.Title, p.PNG)
			}
		}
	}
	writeLimits(w, r)
}

// writeLimits says what each model in r does at its limits, which the
// bench's loads do not reach: the models' own words (models.Model.Limits),
// and where the measurements are.
func writeLimits(w io.Writer, r *Results) {
	var names []string
	seen := map[string]bool{}
	for _, s := range r.Scenarios {
		for _, run := range s.Runs {
			if !seen[run.Model] {
				seen[run.Model] = true
				names = append(names, run.Model)
			}
		}
	}
	if len(names) == 0 {
		return
	}
	fmt.Fprint(w, "## The models at their limits\n\n")
	fmt.Fprintln(w, "The loads above stay within every limit. Past them (`iolab serve -max-conns`, `-max-output`, `-request-timeout`, `-idle-timeout`):")
	fmt.Fprintln(w)
	for _, name := range names {
		if m, err := models.Lookup(name); err == nil && m.Limits != "" {
			fmt.Fprintf(w, "- **%s**: %s\n", name, m.Limits)
		}
	}
	fmt.Fprintln(w, "\n`make reliability` measures each model at each limit, 10,000 clients among them, and writes its table to `results/reliability.md`.")
}
