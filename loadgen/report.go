package loadgen

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"iolab/loadgen/table"
)

// WriteTable writes the human table: one row per level, then notes on
// errors, open-loop corrections and client-bound levels. A row that cannot
// be read as it stands says so at its end: a level cut short (partial), an
// open-loop rate the server did not reach.
func WriteTable(w io.Writer, r *Result) error {
	t := table.Table{Header: []string{"clients", "req/s", "p50", "p90", "p99", "p99.9", "max", "errors", "client-bound"}}
	for _, l := range r.Levels {
		bound := "no"
		if l.ClientBound {
			bound = "YES"
		}
		t.Rows = append(t.Rows, table.Row{Cells: []string{Count(int64(l.Clients)), Rate(l.Throughput),
			Dur(l.Latency.P50), Dur(l.Latency.P90), Dur(l.Latency.P99), Dur(l.Latency.P999), Dur(l.Latency.Max),
			Count(l.ErrorsTotal), bound}, Mark: rowMarks(r, &l)})
	}
	if err := t.WriteText(w); err != nil {
		return err
	}
	if err := writeKinds(w, r); err != nil {
		return err
	}
	for _, n := range levelNotes(r) {
		if _, err := fmt.Fprintln(w, n); err != nil {
			return err
		}
	}
	return nil
}

// writeKinds writes, for a mixed load, a second table that times the
// cheap and the heavy requests apart, level by level: the rows above mix
// them, and how long a cheap request waits behind a heavy one is what a
// mixed load is run for.
func writeKinds(w io.Writer, r *Result) error {
	if !mixed(r) {
		return nil
	}
	if _, err := fmt.Fprintf(w, "\ncheap and heavy requests apart (-heavy %v: the lines that begin with %q are heavy)\n",
		r.Config.Heavy, r.Config.HeavyMark); err != nil {
		return err
	}
	t := table.Table{Header: []string{"clients", "cheap", "cheap p50", "cheap p99", "heavy", "heavy p50", "heavy p99"}}
	for _, l := range r.Levels {
		c, h := kinds(&l)
		t.Add(Count(int64(l.Clients)), Count(c.Count), Dur(c.P50), Dur(c.P99), Count(h.Count), Dur(h.P50), Dur(h.P99))
	}
	return t.WriteText(w)
}

// mixed reports whether some level of r timed cheap and heavy requests
// apart (Config.Heavy).
func mixed(r *Result) bool {
	for _, l := range r.Levels {
		if l.Heavy != nil {
			return true
		}
	}
	return false
}

// kinds returns the cheap and heavy latencies of l, empty where it has
// none.
func kinds(l *Level) (cheap, heavy Summary) {
	if l.Cheap != nil {
		cheap = *l.Cheap
	}
	if l.Heavy != nil {
		heavy = *l.Heavy
	}
	return cheap, heavy
}

// levelNotes returns the notes under the table, level by level: what
// failed, how an open loop was corrected, how long a greeting's phases
// took, how many echo connections were held, and whether the load
// generator was the bottleneck.
func levelNotes(r *Result) []string {
	var notes []string
	for _, l := range r.Levels {
		if l.ErrorsTotal > 0 {
			notes = append(notes, ErrorsNote(&l, ""))
		}
		if l.Uncorrected != nil {
			notes = append(notes, fmt.Sprintf("open loop at %s clients: latency from each request's due time; from the actual send p50 %s p99 %s; %s sent late, %s never sent",
				Count(int64(l.Clients)), Dur(l.Uncorrected.P50), Dur(l.Uncorrected.P99), Count(l.Late), Count(l.Unsent)))
		}
		if l.Connect != nil && l.Connect.Count > 0 {
			notes = append(notes, fmt.Sprintf("greeting at %s clients: connect p50 %s p99 %s max %s; first byte p50 %s p99 %s",
				Count(int64(l.Clients)), Dur(l.Connect.P50), Dur(l.Connect.P99), Dur(l.Connect.Max), Dur(l.FirstByte.P50), Dur(l.FirstByte.P99)))
		}
		if l.Held > 0 && (l.Held < l.Clients || l.Clients >= heldNoteFrom) {
			setup := "never all connected at once"
			if l.Setup != nil {
				setup = fmt.Sprintf("all connected %.1fs after the start", *l.Setup)
			}
			notes = append(notes, fmt.Sprintf("echo at %s clients: %s connections open at the end; %s", Count(int64(l.Clients)), Count(int64(l.Held)), setup))
		}
		if l.ClientBound {
			notes = append(notes, ClientBoundNote(&l, ""))
		}
	}
	return notes
}

// ErrorsNote says how many of l's requests failed, by kind. iolab load
// and iolab bench both print it under their tables, since no latency
// includes a failed request. It names the level as the table above it
// does: series is "" under iolab load's table, a row per level with
// thousands separated ("errors at 1,000 clients: ..."), and the row's
// name under a bench table, a row per series with plain levels as column
// labels ("epoll at 1000 clients: errors ...").
func ErrorsNote(l *Level, series string) string {
	if series != "" {
		return fmt.Sprintf("%s at %d clients: errors %s", series, l.Clients, ErrorList(l.Errors, Plain))
	}
	note := fmt.Sprintf("errors at %s clients: %s", Count(int64(l.Clients)), ErrorList(l.Errors, Count))
	if l.Errors[ErrAddrUnavailable.String()] > 0 {
		note += " (addr_unavailable: no local port left for one source address; -source 127.0.0.2-127.0.0.50 spreads clients over more)"
	}
	return note
}

// ClientBoundNote says that at level l the load generator, not the
// server, may have been the bottleneck (Level.ClientBound), so the server
// may be faster than measured. series is as for ErrorsNote.
func ClientBoundNote(l *Level, series string) string {
	if series != "" {
		return fmt.Sprintf("%s at %d clients was client-bound: the load generator used %.0f%% of its CPU; the server may be faster than shown",
			series, l.Clients, l.ClientCPU.Percent)
	}
	return fmt.Sprintf("client-bound at %s clients: the load generator used %.0f%% of %d CPU(s); the server may be faster than this row says",
		Count(int64(l.Clients)), l.ClientCPU.Percent, l.ClientCPU.Allowed)
}

// rowMarks returns what a row must say at its end to be read right: that
// the level was cut short, or that it fell short of the open-loop rate.
func rowMarks(r *Result, l *Level) string {
	var marks []string
	if l.Partial {
		marks = append(marks, "partial: cut short")
	}
	if r.Config.Rate > 0 && l.Throughput < rateMissedBelow*r.Config.Rate {
		marks = append(marks, "missed -rate "+Rate(r.Config.Rate))
	}
	if len(marks) == 0 {
		return ""
	}
	return " " + strings.Join(marks, "; ")
}

// rateMissedBelow is the share of the open-loop rate under which a level
// missed it: a little slack for the requests still in flight at the end.
const rateMissedBelow = 0.99

// heldNoteFrom is the level from which the table says how many echo
// connections were held, even when all were: where holding them is the
// question (iolab bench -scenario c100k).
const heldNoteFrom = 1000

// ErrorList formats the non-zero error counts of errs in kind order, each
// count by num (Count or Plain): "connect_timeout=12 read_timeout=3".
func ErrorList(errs map[string]int64, num func(int64) string) string {
	var parts []string
	for _, k := range ErrKinds() {
		if n := errs[k.String()]; n > 0 {
			parts = append(parts, k.String()+"="+num(n))
		}
	}
	return strings.Join(parts, " ")
}

// WriteJSON writes the complete results.
func WriteJSON(w io.Writer, r *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// csvHeader names the columns of WriteCSV. Latencies are in microseconds.
var csvHeader = []string{"proto", "rate", "clients", "seconds", "requests", "req_per_s",
	"mean_us", "p50_us", "p90_us", "p99_us", "p999_us", "max_us",
	"errors", "refused", "reset", "connect_timeout", "read_timeout", "wrong_reply", "addr_unavailable", "other",
	"late", "unsent", "client_cpu_pct", "client_bound"}

// csvKinds names the columns WriteCSV adds for a mixed load: the cheap
// and the heavy requests apart.
var csvKinds = []string{"cheap_requests", "cheap_p50_us", "cheap_p99_us", "heavy_requests", "heavy_p50_us", "heavy_p99_us"}

// WriteCSV writes one row per level; for a mixed load, with the columns
// of csvKinds at the end, so that a program that reads a run without
// them finds every other column where it always was.
func WriteCSV(w io.Writer, r *Result) error {
	cw := csv.NewWriter(w)
	header := csvHeader
	if mixed(r) {
		header = append(slices.Clip(header), csvKinds...)
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, l := range r.Levels {
		row := []string{r.Config.Proto, strconv.FormatFloat(r.Config.Rate, 'f', -1, 64), strconv.Itoa(l.Clients),
			strconv.FormatFloat(l.Seconds, 'f', 3, 64), strconv.FormatInt(l.Requests, 10),
			strconv.FormatFloat(l.Throughput, 'f', 1, 64),
			strconv.FormatFloat(l.Latency.Mean/1e3, 'f', 1, 64), Micros(l.Latency.P50), Micros(l.Latency.P90),
			Micros(l.Latency.P99), Micros(l.Latency.P999), Micros(l.Latency.Max), strconv.FormatInt(l.ErrorsTotal, 10)}
		for _, k := range ErrKinds() {
			row = append(row, strconv.FormatInt(l.Errors[k.String()], 10))
		}
		row = append(row, strconv.FormatInt(l.Late, 10), strconv.FormatInt(l.Unsent, 10),
			strconv.FormatFloat(l.ClientCPU.Percent, 'f', 1, 64), strconv.FormatBool(l.ClientBound))
		if mixed(r) {
			c, h := kinds(&l)
			row = append(row, strconv.FormatInt(c.Count, 10), Micros(c.P50), Micros(c.P99),
				strconv.FormatInt(h.Count, 10), Micros(h.P50), Micros(h.P99))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Micros formats nanoseconds as microseconds with one decimal, the unit
// of the CSV files (iolab load -csv, and bench's results.csv): 75123 is
// "75.1". Programs read these columns, so unlike Dur it never changes unit.
func Micros(ns int64) string { return strconv.FormatFloat(float64(ns)/1e3, 'f', 1, 64) }

// Dur formats nanoseconds for people: 850ns, 75.1µs, 12.3ms, 1.23s.
func Dur(ns int64) string {
	d := time.Duration(ns)
	switch {
	case ns == 0:
		return "-"
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", ns)
	case d < time.Millisecond:
		return fmt.Sprintf("%.1fµs", float64(ns)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(ns)/1e6)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// Plain formats a count in digits alone, the way the bench labels its
// levels and counts its failures: 12345.
func Plain(n int64) string { return strconv.FormatInt(n, 10) }

// Rate formats requests per second with thousands separated: 12,345.
func Rate(r float64) string { return Count(int64(r + 0.5)) }

// Count formats a count with thousands separated: 4,999,965,933.
func Count(n int64) string {
	s := strconv.FormatInt(n, 10)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	var b strings.Builder
	b.WriteString(sign)
	for i, ch := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	return b.String()
}
