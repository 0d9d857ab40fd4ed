// Package logs reads the JSON lines that `iolab serve` writes (the events
// of models/events.go, decoded into models.Event) and answers what an OS
// course asks of them: how many connections and requests, how long
// connections lived, which processes and which OS threads served them, how
// many were open at once, and why they closed.
//
// Lines that are not iolab events (other programs' output, broken JSON)
// are counted and skipped.
package logs

import (
	"bufio"
	"cmp"
	"encoding/json"
	"io"
	"maps"
	"slices"
	"sort"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"iolab/models"
)

// Options tune an analysis.
type Options struct {
	// Interval is the width of the open-connections timeline.
	Interval time.Duration
}

// Report is the analysis of one or more log streams.
type Report struct {
	// Version, RunID and Started name the analysis, as every JSON iolab
	// writes is named (iolab logs fills them in): the iolab build, a
	// random id, and when the analysis began.
	Version string    `json:"version,omitempty"`
	RunID   string    `json:"run_id,omitempty"`
	Started time.Time `json:"started,omitzero"`
	Runs    []*Run    `json:"runs"`
	// Skipped counts lines that are not iolab events.
	Skipped int64 `json:"skipped_lines"`
	// Events counts the iolab events read.
	Events int64 `json:"events"`
	// Interval is the width of each timeline slot.
	Interval time.Duration `json:"interval_ns"`
}

// Run is one server run: from a start event to the next, or to the end.
type Run struct {
	Model   string    `json:"model"`
	Proto   string    `json:"proto"`
	Work    string    `json:"work"`
	Addr    string    `json:"addr"`
	PID     int       `json:"pid"`
	Workers int       `json:"workers"` // the pool size, from the start event; 0 without a pool
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"` // the last event of the run
	Seconds float64   `json:"seconds"`
	Stopped bool      `json:"stopped"` // a stop event was seen
	// Accepted is the connections the stop event counted. At info level,
	// where connections are not logged one by one, it is all there is of
	// them: Opened and Closed stay 0.
	Accepted int64 `json:"accepted"`
	Opened   int64 `json:"opened"` // EventConnOpen events
	Closed   int64 `json:"closed"` // EventConnClose events
	Requests int64 `json:"requests"`
	BytesIn  int64 `json:"bytes_in"`
	BytesOut int64 `json:"bytes_out"`
	// Duration of the closed connections, in microseconds.
	Duration Percentiles `json:"duration_us"`
	// Reasons counts close reasons.
	Reasons map[string]int64 `json:"reasons"`
	// Processes lists the processes that served connections, busiest
	// first: the server's own PID, or for fork and prefork its children.
	Processes []Process `json:"processes"`
	// Threads lists the OS threads that served connections, busiest first.
	Threads []Thread `json:"threads"`
	// PeakOpen is the most connections open at once, and when.
	PeakOpen   int64     `json:"peak_open"`
	PeakAt     time.Time `json:"peak_at"`
	Timeline   []Slot    `json:"timeline"`
	AcceptErrs int64     `json:"accept_errors"`

	hist    *hdr.Histogram
	pids    map[int]int64
	tids    map[int]int64
	edges   []edge
	opening map[connKey]time.Time
}

// connKey names a connection in a run: each process of the fork and
// prefork models numbers its own connections from 1, so the number alone
// does not.
type connKey struct {
	pid  int
	conn uint64
}

// Percentiles of a distribution.
type Percentiles struct {
	P50 int64 `json:"p50"`
	P90 int64 `json:"p90"`
	P99 int64 `json:"p99"`
	Max int64 `json:"max"`
}

// Process is one process and the connections it served.
type Process struct {
	PID   int   `json:"pid"`
	Conns int64 `json:"conns"`
}

// Thread is one OS thread and the connections it served.
type Thread struct {
	TID   int   `json:"tid"`
	Conns int64 `json:"conns"`
}

// Slot is one interval of the timeline.
type Slot struct {
	Start time.Time `json:"start"`
	// MaxOpen is the most connections open at once during the interval.
	MaxOpen int64 `json:"max_open"`
	// Opened and Closed count the connections that began and ended in it.
	Opened int64 `json:"opened"`
	Closed int64 `json:"closed"`
}

// edge is a connection opening (+1) or closing (-1) at a time.
type edge struct {
	at    int64 // unix nanoseconds
	delta int8
}

// Analyzer accumulates events from one or more streams.
type Analyzer struct {
	opts   Options
	report Report
	run    *Run
}

// New returns an Analyzer.
func New(opts Options) *Analyzer {
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	return &Analyzer{opts: opts}
}

// Read reads one stream of JSON lines.
func (a *Analyzer) Read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var ev models.Event
	for sc.Scan() {
		line := sc.Bytes()
		ev = models.Event{}
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil {
			a.report.Skipped++
			continue
		}
		if !a.add(&ev) {
			a.report.Skipped++
		}
	}
	return sc.Err()
}

// add folds one event in; it reports false for an event iolab does not
// write.
func (a *Analyzer) add(ev *models.Event) bool {
	if !models.IsEvent(ev.Event) {
		return false
	}
	a.report.Events++
	if ev.Event == models.EventStart || a.run == nil {
		a.run = &Run{Reasons: map[string]int64{}, pids: map[int]int64{}, tids: map[int]int64{}, opening: map[connKey]time.Time{},
			hist: hdr.New(1, int64(24*time.Hour/time.Microsecond), 3), Start: ev.Time}
		if ev.Event != models.EventStart {
			a.run.Model = "(no start event)"
		}
		a.report.Runs = append(a.report.Runs, a.run)
	}
	r := a.run
	if ev.Time.After(r.End) {
		r.End = ev.Time
	}
	switch ev.Event {
	case models.EventStart:
		r.Model, r.Proto, r.Work, r.Addr, r.PID, r.Workers = ev.Model, ev.Proto, ev.Work, ev.Addr, ev.PID, ev.Workers
	case models.EventConnOpen:
		r.Opened++
		r.opening[connKey{r.servedBy(ev), ev.Conn}] = ev.Time
		r.edges = append(r.edges, edge{ev.Time.UnixNano(), +1})
	case models.EventConnClose:
		r.Closed++
		r.Requests += ev.Requests
		r.BytesIn += ev.BytesIn
		r.BytesOut += ev.BytesOut
		r.Reasons[ev.Reason]++
		pid := r.servedBy(ev)
		r.pids[pid]++
		r.tids[ev.TID]++
		_ = r.hist.RecordValue(max(ev.DurationUs, 1))
		key := connKey{pid, ev.Conn}
		if _, ok := r.opening[key]; ok {
			delete(r.opening, key)
		} else {
			// Its open event is missing (an earlier file, or a level that
			// did not log it): the duration says when it opened.
			r.edges = append(r.edges, edge{ev.Time.UnixNano() - ev.DurationUs*1e3, +1})
		}
		r.edges = append(r.edges, edge{ev.Time.UnixNano(), -1})
	case models.EventStop:
		r.Stopped = true
		r.Accepted += ev.Conns
	case models.EventAcceptError:
		r.AcceptErrs++
	}
	return true
}

// busiest returns the ids counted in conns, most connections first, then
// by id.
func busiest(conns map[int]int64) []int {
	ids := slices.Collect(maps.Keys(conns))
	slices.SortFunc(ids, func(a, b int) int {
		if c := cmp.Compare(conns[b], conns[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return ids
}

// servedBy returns the process that served the connection of ev: its
// pid, or in a log from before connection events carried one, the
// server's, its only process.
func (r *Run) servedBy(ev *models.Event) int {
	if ev.PID != 0 {
		return ev.PID
	}
	return r.PID
}

// Report finishes the analysis and returns it.
func (a *Analyzer) Report() *Report {
	a.report.Interval = a.opts.Interval
	for _, r := range a.report.Runs {
		r.finish(a.opts.Interval)
	}
	return &a.report
}

// finish computes what needs every event: percentiles, processes,
// threads, the peak and the timeline.
func (r *Run) finish(interval time.Duration) {
	if !r.End.IsZero() && !r.Start.IsZero() {
		r.Seconds = r.End.Sub(r.Start).Seconds()
	}
	if r.hist.TotalCount() > 0 {
		r.Duration = Percentiles{P50: r.hist.ValueAtQuantile(50), P90: r.hist.ValueAtQuantile(90),
			P99: r.hist.ValueAtQuantile(99), Max: r.hist.Max()}
	}
	r.Processes = r.Processes[:0]
	for _, pid := range busiest(r.pids) {
		r.Processes = append(r.Processes, Process{pid, r.pids[pid]})
	}
	r.Threads = r.Threads[:0]
	for _, tid := range busiest(r.tids) {
		r.Threads = append(r.Threads, Thread{tid, r.tids[tid]})
	}

	// Sweep the openings and closings in time order. Threads log
	// concurrently, so the file is only nearly in order; at equal times
	// closings go first, which never overstates the peak.
	sort.Slice(r.edges, func(i, j int) bool {
		if r.edges[i].at != r.edges[j].at {
			return r.edges[i].at < r.edges[j].at
		}
		return r.edges[i].delta < r.edges[j].delta
	})
	if len(r.edges) == 0 {
		return
	}
	origin := r.edges[0].at
	if !r.Start.IsZero() {
		origin = min(origin, r.Start.UnixNano())
	}
	width := int64(interval)
	var open int64
	r.Timeline = r.Timeline[:0]
	for _, e := range r.edges {
		slot := int((e.at - origin) / width)
		for len(r.Timeline) <= slot {
			r.Timeline = append(r.Timeline, Slot{Start: time.Unix(0, origin+int64(len(r.Timeline))*width).UTC(), MaxOpen: open})
		}
		open += int64(e.delta)
		s := &r.Timeline[slot]
		if e.delta > 0 {
			s.Opened++
		} else {
			s.Closed++
		}
		if open > s.MaxOpen {
			s.MaxOpen = open
		}
		if open > r.PeakOpen {
			r.PeakOpen, r.PeakAt = open, time.Unix(0, e.at).UTC()
		}
	}
	r.edges, r.opening = nil, nil
}
