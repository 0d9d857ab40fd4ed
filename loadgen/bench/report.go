package bench

import (
	"fmt"
	"io"

	"iolab/models"
)

// report is what a report says, in the order it says it. report.md and
// report.html both walk it, so the two pages cannot drift apart: a table,
// a note or a verdict added here appears in both. Its texts may hold
// code in backticks, the one piece of Markdown they share; each writer
// renders it its own way.
type report struct {
	Title     string
	Facts     []fact // the bench's conditions, one line each
	Footprint string // how to read the server's footprint; "" where none was measured (a paired comparison)
	Scenarios []scenarioReport
	// Benched is set when some model ran: only then does a report say
	// what the models do at their limits (Limits: those with words).
	Benched bool
	Limits  []limit
}

// fact is one line of the bench's conditions: "Machine: ...".
type fact struct{ Label, Text string }

// scenarioReport is one scenario's part of a report.
type scenarioReport struct {
	Name     string
	Heading  string // "seed: greeting, work none"
	About    string
	Header   []string // what differs from the bench's conditions
	Sections []section
	Notes    []string
	Plots    []Plot
}

// section is a titled set of tables: a metric group, or one of the
// extra tables (system calls by name, failures by kind, event loops).
type section struct {
	Title  string
	Tables []shownTable
}

// shownTable is a table with the labels of its columns: the client
// levels, or for system calls by name the calls.
type shownTable struct {
	Table
	Corner string // the label above the rows' names
	Cols   []string
}

// limit is one model's own words on its limits (models.Model.Limits).
type limit struct{ Model, Text string }

// footprintText says where the footprint's numbers come from, once for
// the whole report.
const footprintText = "The footprint covers the server's process tree, the server and every process descended from it (found by their parent PIDs in `/proc/*/stat`): processes, threads, memory and descriptors, summed over the tree and sampled every 100 ms during the measured interval (peak shown). Summed RSS counts a page that processes share (the binary, memory not yet copied after `fork`) once in each. CPU time and context switches per request come from `getrusage(2)` as the server exits, its own and that of the children it reaped (`RUSAGE_CHILDREN`, the same as `wait4(2)` reports: exact, and counting threads and processes that have exited), over its whole life, divided by the requests it answered."

// limitsIntro and limitsOutro frame the models' limits.
const (
	limitsIntro = "The loads above stay within every limit. Past them (`iolab serve -max-conns`, `-max-output`, `-request-timeout`, `-idle-timeout`):"
	limitsOutro = "`make reliability` measures each model at each limit, 10,000 clients among them, and writes its table to `results/reliability.md`."
)

// newReport gathers what a report of r says, with plots (WritePlots).
func newReport(r *Results, plots []Plot) *report {
	rep := &report{Title: "iolab bench, " + r.Started.Format("2006-01-02 15:04 MST")}
	if r.Pair == nil {
		rep.Footprint = footprintText
	}
	rep.Facts = append(rep.Facts, fact{"Machine", fmt.Sprintf("%s, %d cores, %s, %s, %s", r.Machine.CPU, r.Machine.Cores, r.Machine.Kernel, r.Machine.OS, r.Machine.Go)})
	if r.Pinning.Pinned {
		rep.Facts = append(rep.Facts, fact{"Pinning", fmt.Sprintf("server on CPU %s, load generator on CPU %s", joinInts(r.Pinning.ServerCPUs), joinInts(r.Pinning.LoadCPUs))})
	} else {
		rep.Facts = append(rep.Facts, fact{"Pinning", "none; server and load generator share every CPU"})
	}
	if r.Pair != nil {
		rep.Facts = append(rep.Facts, fact{"Each run", fmt.Sprintf("the same two servers throughout, %s warm-up, %s measured, %s timeout per request phase", r.Warmup, r.Duration, r.Timeout)})
	} else {
		rep.Facts = append(rep.Facts, fact{"Each level", fmt.Sprintf("a fresh server, %s warm-up, %s measured, %s timeout per request phase", r.Warmup, r.Duration, r.Timeout)})
	}
	flag, reported := r.workers()
	rep.Facts = append(rep.Facts, fact{"Workers", workersText(flag, reported, true)})
	if r.LoadEngine != "" {
		rep.Facts = append(rep.Facts, fact{"Load generator", engineText(r.LoadEngine)})
	}
	if r.SyscallsSkipped != "" {
		rep.Facts = append(rep.Facts, fact{"System calls", "not counted: " + r.SyscallsSkipped})
	}
	if r.Pair != nil {
		rep.Facts = append(rep.Facts, fact{"Files", "`results.json` (everything: each run of each pair under `pair`), `logs/` (each server's log)"})
	} else {
		rep.Facts = append(rep.Facts, fact{"Files", "`results.json` (everything), `results.csv` (one row per run), `logs/` (each server's JSON log)"})
	}
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		sr := scenarioReport{Name: s.Name, Heading: fmt.Sprintf("%s: %s, work %s", s.Name, s.Proto, s.workText()), About: s.About,
			Header: s.headerLines(r), Sections: s.sections(), Notes: s.notes()}
		for _, p := range plots {
			if p.Scenario == s.Name {
				sr.Plots = append(sr.Plots, p)
			}
		}
		rep.Scenarios = append(rep.Scenarios, sr)
	}
	if r.Pair != nil {
		rep.Scenarios = append(rep.Scenarios, r.Pair.report())
	}
	rep.Limits, rep.Benched = limits(r)
	return rep
}

// sections returns the tables of s as a report shows them: each metric
// group, then the extra tables s has.
func (s *ScenarioResult) sections() []section {
	levels := func(t Table) shownTable { return shownTable{t, "model", levelLabels(t.Clients)} }
	var out []section
	gs := s.Groups()
	for gi, ts := range Tables(s) {
		sec := section{Title: gs[gi].Title}
		for _, t := range ts {
			sec.Tables = append(sec.Tables, levels(t))
		}
		out = append(out, sec)
	}
	if t, calls, ok := s.SyscallsTable(); ok {
		out = append(out, section{"System calls by name", []shownTable{{t, "model", calls}}})
	}
	if t, ok := s.ErrorKindsTable(); ok {
		out = append(out, section{"Failures by kind", []shownTable{levels(t)}})
	}
	if t, ok := s.LoopsTable(); ok {
		out = append(out, section{"Event loops", []shownTable{levels(t)}})
	}
	return out
}

// limits returns each model benched in r, in the order first run, with
// what it does at its limits, which the bench's loads do not reach, and
// whether r holds any run (a server that is not a model has no words).
func limits(r *Results) (out []limit, benched bool) {
	seen := map[string]bool{}
	for _, s := range r.Scenarios {
		for _, run := range s.Runs {
			benched = true
			if seen[run.Model] {
				continue
			}
			seen[run.Model] = true
			if m, err := models.Lookup(run.Model); err == nil && m.Limits != "" {
				out = append(out, limit{run.Model, m.Limits})
			}
		}
	}
	return out, benched
}

// WriteReport writes report.md: the machine, for each scenario its
// tables, verdicts, notes and plots, and what each model benched does at
// its limits.
func WriteReport(w io.Writer, r *Results, plots []Plot) {
	rep := newReport(r, plots)
	fmt.Fprintf(w, "# %s\n\n", rep.Title)
	for _, f := range rep.Facts {
		fmt.Fprintf(w, "- **%s:** %s\n", f.Label, f.Text)
	}
	if rep.Footprint != "" {
		fmt.Fprintf(w, "\n%s\n", rep.Footprint)
	}
	for _, s := range rep.Scenarios {
		fmt.Fprintf(w, "\n## %s\n\n%s\n\n", s.Heading, s.About)
		for _, line := range s.Header {
			fmt.Fprintf(w, "**%s**\n\n", line)
		}
		for _, sec := range s.Sections {
			fmt.Fprintf(w, "### %s\n\n", sec.Title)
			for _, t := range sec.Tables {
				mdTableCols(w, t.Table, t.Corner, t.Cols)
			}
		}
		if len(s.Notes) > 0 {
			fmt.Fprint(w, "### Notes\n\n")
			for _, n := range s.Notes {
				fmt.Fprintf(w, "- %s\n", n)
			}
			fmt.Fprintln(w)
		}
		if len(s.Plots) > 0 {
			fmt.Fprint(w, "### Plots\n\n")
		}
		for _, p := range s.Plots {
			fmt.Fprintf(w, "![%s: %s](%s)\n\n", s.Name, p.Title, p.PNG)
		}
	}
	if !rep.Benched {
		return
	}
	fmt.Fprintf(w, "## The models at their limits\n\n%s\n\n", limitsIntro)
	for _, l := range rep.Limits {
		fmt.Fprintf(w, "- **%s**: %s\n", l.Model, l.Text)
	}
	fmt.Fprintf(w, "\n%s\n", limitsOutro)
}
