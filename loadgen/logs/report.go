package logs

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"iolab/loadgen"
	"iolab/loadgen/table"
)

// maxRows bounds the process and thread tables: a threads-model run has
// one thread per connection, a fork-model run one process per connection,
// and the spread says it better than 10,000 rows.
const maxRows = 10

// WriteText writes the report for people.
func WriteText(w io.Writer, rep *Report) error {
	for i, r := range rep.Runs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		writeRun(w, i+1, r, rep.Interval)
	}
	fmt.Fprintf(w, "\n%s iolab events read", loadgen.Count(rep.Events))
	if rep.Skipped > 0 {
		fmt.Fprintf(w, "; %s lines skipped (not iolab events)", loadgen.Count(rep.Skipped))
	}
	_, err := fmt.Fprintln(w)
	return err
}

func writeRun(w io.Writer, n int, r *Run, interval time.Duration) {
	fmt.Fprintf(w, "run %d: model %s, proto %s, work %s", n, r.Model, orDash(r.Proto), orDash(r.Work))
	if r.PID != 0 {
		fmt.Fprintf(w, ", pid %d", r.PID)
	}
	if r.Workers != 0 {
		fmt.Fprintf(w, ", workers %d", r.Workers)
	}
	fmt.Fprintf(w, ", %.1f s", r.Seconds)
	if !r.Start.IsZero() {
		fmt.Fprintf(w, " (%s to %s)", r.Start.Format("15:04:05.000"), r.End.Format("15:04:05.000"))
	}
	if !r.Stopped {
		fmt.Fprint(w, ", no stop event")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  connections  %s opened, %s closed; requests %s; bytes in %s, out %s\n",
		loadgen.Count(r.Opened), loadgen.Count(r.Closed), loadgen.Count(r.Requests), loadgen.Count(r.BytesIn), loadgen.Count(r.BytesOut))
	if r.Closed > 0 {
		fmt.Fprintf(w, "  connection duration  p50 %s  p90 %s  p99 %s  max %s\n",
			us(r.Duration.P50), us(r.Duration.P90), us(r.Duration.P99), us(r.Duration.Max))
	}
	if len(r.Reasons) > 0 {
		fmt.Fprintf(w, "  close reasons  %s\n", reasons(r.Reasons))
	}
	if r.AcceptErrs > 0 {
		fmt.Fprintf(w, "  accept errors  %s\n", loadgen.Count(r.AcceptErrs))
	}
	if r.PeakOpen > 0 {
		fmt.Fprintf(w, "  peak concurrency  %s connections open at once, at %s\n", loadgen.Count(r.PeakOpen), r.PeakAt.Format("15:04:05.000"))
	}
	if len(r.Processes) > 0 {
		rows := make([]served, len(r.Processes))
		for i, p := range r.Processes {
			rows[i] = served{p.PID, p.Conns}
		}
		writeSpread(w, perProcess, rows, r.Closed)
	}
	if len(r.Threads) > 0 {
		rows := make([]served, len(r.Threads))
		for i, t := range r.Threads {
			rows[i] = served{t.TID, t.Conns}
		}
		writeSpread(w, perThread, rows, r.Closed)
	}
	if len(r.Timeline) > 0 {
		writeTimeline(w, r, interval)
	}
}

// served is one process or thread, and the connections it served.
type served struct {
	id    int
	conns int64
}

// spread names what connections spread over in the text report: processes
// or OS threads.
type spread struct {
	title string // "connections per OS thread"
	one   string // "thread", as in "per thread"
	some  string // "thread(s)"
	key   string // the id column: "tid"
}

var (
	perProcess = spread{"connections per process", "process", "process(es)", "pid"}
	perThread  = spread{"connections per OS thread", "thread", "thread(s)", "tid"}
)

// writeSpread writes how the connections of r spread over rows, busiest
// first: the summary line and a table of at most maxRows rows.
func writeSpread(w io.Writer, sp spread, rows []served, closed int64) {
	fmt.Fprintf(w, "  %s  %s %s served %s connections", sp.title, loadgen.Count(int64(len(rows))), sp.some, loadgen.Count(closed))
	if len(rows) > 1 {
		counts := make([]int64, len(rows))
		for i, x := range rows {
			counts[i] = x.conns
		}
		slices.Sort(counts)
		fmt.Fprintf(w, "; per %s min %s, median %s, max %s", sp.one, loadgen.Count(counts[0]), loadgen.Count(counts[len(counts)/2]), loadgen.Count(counts[len(counts)-1]))
	}
	fmt.Fprintln(w)
	t := table.Table{Header: []string{sp.key, "conns", "share"}, Indent: "    "}
	for i, x := range rows {
		if i == maxRows {
			rest := int64(0)
			for _, x := range rows[i:] {
				rest += x.conns
			}
			t.Add(loadgen.Count(int64(len(rows)-i))+" more", loadgen.Count(rest), percent(rest, closed))
			break
		}
		id := fmt.Sprint(x.id)
		if x.id == 0 {
			id = "unknown"
		}
		t.Add(id, loadgen.Count(x.conns), percent(x.conns, closed))
	}
	_ = t.WriteText(w)
}

// writeTimeline writes the most connections open in each interval.
func writeTimeline(w io.Writer, r *Run, width time.Duration) {
	fmt.Fprintf(w, "  open connections per %v (most at once in each, from %s)\n   ", width, r.Timeline[0].Start.Format("15:04:05.000"))
	for i, s := range r.Timeline {
		if i > 0 && i%15 == 0 {
			fmt.Fprint(w, "\n   ")
		}
		fmt.Fprintf(w, " %d", s.MaxOpen)
	}
	fmt.Fprintln(w)
}

// WriteJSON writes the report for scripts.
func WriteJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func reasons(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %s", k, loadgen.Count(m[k]))
	}
	return strings.Join(parts, ", ")
}

// us formats a duration the server logs in whole microseconds the way
// iolab load and bench print theirs, with loadgen.Dur.
func us(v int64) string { return loadgen.Dur(v * int64(time.Microsecond)) }

// percent formats n as a share of total: "33.3%".
func percent(n, total int64) string {
	if total == 0 {
		return "0.0%"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(total))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
