package loadgen

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"iolab/loadgen/version"
)

// Merge combines the results of load generators that ran at the same time
// against one server (several processes, or several machines): level by
// level, their clients, requests and errors add up, and their latency
// histograms are added bucket by bucket, so that every percentile of the
// merged level is the one of all their requests recorded together, not an
// average of percentiles (which means nothing). Each run's throughput is
// its own requests over its own interval; the merged throughput is their
// sum. (Dividing all the requests by the span from the earliest start to
// the latest end would count the gaps between runs that did not start at
// the same moment as idle time, and understate it.)
//
// Runs merge only if they measured the same thing: the same protocol,
// number of client levels (their clients may differ: each agent drives
// its share), warm-up, timeout, rate, line size, pipeline, expected
// greeting, and share and mark of heavy lines. Merge says which field
// differs otherwise. Their stop conditions may differ (-duration,
// -requests): each run's rate is over its own interval. A level cut short
// in any run is partial in the merge.
//
// The merged result is a run of its own: a fresh RunID, the iolab version
// that merged it, the earliest start of the runs, and their ids in Merged.
func Merge(runs ...*Result) (*Result, error) {
	if len(runs) == 0 {
		return nil, errors.New("nothing to merge")
	}
	first := runs[0]
	for i, r := range runs[1:] {
		if err := sameConfig(&first.Config, &r.Config); err != nil {
			return nil, &MismatchError{Run: i + 2, Err: err}
		}
		if len(r.Levels) != len(first.Levels) {
			return nil, &MismatchError{Run: i + 2, Err: fmt.Errorf("%d levels against %d", len(r.Levels), len(first.Levels))}
		}
	}
	out := &Result{Version: version.String(), RunID: NewRunID(), Config: first.Config}
	var addrs, durations []string
	out.Config.Requests = 0
	for _, r := range runs {
		if !slices.Contains(addrs, r.Config.Addr) {
			addrs = append(addrs, r.Config.Addr)
		}
		if !slices.Contains(durations, r.Config.Duration) {
			durations = append(durations, r.Config.Duration)
		}
		out.Config.Requests += r.Config.Requests
		if r != first {
			out.Config.Rate += r.Config.Rate // each drove its share of the total
		}
		if r.RunID != "" {
			out.Merged = append(out.Merged, r.RunID)
		}
		if !r.Started.IsZero() && (out.Started.IsZero() || r.Started.Before(out.Started)) {
			out.Started = r.Started
		}
	}
	if out.Started.IsZero() {
		out.Started = time.Now().UTC()
	}
	out.Config.Addr = strings.Join(addrs, ",")
	out.Config.Duration = strings.Join(durations, ",")
	out.Config.Clients = nil
	out.Config.CPUs, out.Config.Procs = nil, 0
	for li := range first.Levels {
		levels := make([]*Level, len(runs))
		for ri, r := range runs {
			levels[ri] = &r.Levels[li]
		}
		l, err := mergeLevel(levels)
		if err != nil {
			return nil, fmt.Errorf("level %d: %w", li+1, err)
		}
		out.Levels = append(out.Levels, l)
		out.Config.Clients = append(out.Config.Clients, l.Clients)
	}
	return out, nil
}

// MismatchError says that a run measured something other than the first,
// and so cannot merge with it.
type MismatchError struct {
	Run int   // the run, from 1, in the order given to Merge
	Err error // what differs
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("run %d does not match run 1: %v", e.Run, e.Err)
}

func (e *MismatchError) Unwrap() error { return e.Err }

// sameConfig reports the first field in which a and b measured something
// different.
func sameConfig(a, b *ConfigSummary) error {
	for _, f := range []struct {
		name string
		a, b any // of a comparable type
	}{
		{"protocol", a.Proto, b.Proto},
		{"number of client levels", len(a.Clients), len(b.Clients)}, // each agent may drive its own share of clients
		{"warm-up", a.Warmup, b.Warmup},
		{"timeout", a.Timeout, b.Timeout},
		{"rate", a.Rate, b.Rate},
		{"size", a.Size, b.Size},
		{"pipeline", a.Pipeline, b.Pipeline},
		{"expected greeting", a.Expect, b.Expect},
		{"heavy share", a.Heavy, b.Heavy},
		{"heavy mark", a.HeavyMark, b.HeavyMark},
	} {
		if f.a != f.b {
			return fmt.Errorf("%s %v against %v", f.name, f.b, f.a)
		}
	}
	return nil
}

// mergeLevel merges the same level of several runs.
func mergeLevel(ls []*Level) (Level, error) {
	out := Level{Errors: map[string]int64{}, Histograms: map[string][]byte{}}
	var cpu CPUUse
	cpuSet := map[int]bool{} // the CPUs the runs may use, each once
	knownCPUs := true        // every run said which
	allUp := true            // every run got all its clients connected: Setup is the latest of theirs
	var setup float64
	for _, l := range ls {
		out.Partial = out.Partial || l.Partial
		out.Clients += l.Clients
		out.Held += l.Held
		if l.Setup == nil {
			allUp = false
		} else {
			setup = max(setup, *l.Setup)
		}
		out.Loops += l.Loops
		out.Seconds = max(out.Seconds, l.Seconds)
		out.Requests += l.Requests
		out.Throughput += l.Throughput
		for k, n := range l.Errors {
			out.Errors[k] += n
		}
		out.ErrorsTotal += l.ErrorsTotal
		out.Late += l.Late
		out.Unsent += l.Unsent
		out.Warmup.Seconds = max(out.Warmup.Seconds, l.Warmup.Seconds)
		out.Warmup.Requests += l.Warmup.Requests
		out.Warmup.Errors += l.Warmup.Errors
		out.Warmup.P50, out.Warmup.P99 = max(out.Warmup.P50, l.Warmup.P50), max(out.Warmup.P99, l.Warmup.P99) // bounds: warm-up histograms are not kept
		cpu.User += l.ClientCPU.User
		cpu.System += l.ClientCPU.System
		cpu.Allowed += l.ClientCPU.Allowed
		knownCPUs = knownCPUs && len(l.ClientCPU.CPUs) > 0
		for _, c := range l.ClientCPU.CPUs {
			cpuSet[c] = true
		}
		out.ClientBound = out.ClientBound || l.ClientBound
		for _, s := range l.Timeline {
			for len(out.Timeline) <= s.Second {
				out.Timeline = append(out.Timeline, Second{Second: len(out.Timeline)})
			}
			t := &out.Timeline[s.Second]
			t.Requests += s.Requests
			t.Errors += s.Errors
			t.P50, t.P99 = max(t.P50, s.P50), max(t.P99, s.P99) // bounds: per-second histograms are not kept
		}
	}
	if knownCPUs {
		// Agents pinned to the same CPUs compete for them: what they could
		// use together is those CPUs, not one share each.
		for c := range cpuSet {
			cpu.CPUs = append(cpu.CPUs, c)
		}
		slices.Sort(cpu.CPUs)
		cpu.Allowed = min(cpu.Allowed, len(cpu.CPUs))
	}
	if out.Seconds > 0 && cpu.Allowed > 0 {
		cpu.Percent = 100 * (cpu.User + cpu.System) / (out.Seconds * float64(cpu.Allowed))
		out.ClientBound = out.ClientBound || cpu.Percent >= clientBoundPercent
	}
	out.ClientCPU = cpu
	if allUp && ls[0].Setup != nil {
		out.Setup = &setup
	}
	for _, name := range []string{"latency", "uncorrected", "connect", "first_byte", "cheap", "heavy"} {
		h, ok, err := mergeHistograms(ls, name)
		if err != nil {
			return out, err
		}
		if !ok {
			continue
		}
		out.Histograms[name] = encode(h)
		s := summary(h)
		switch name {
		case "latency":
			out.Latency = s
		case "uncorrected":
			out.Uncorrected = &s
		case "connect":
			out.Connect = &s
		case "first_byte":
			out.FirstByte = &s
		case "cheap":
			out.Cheap = &s
		case "heavy":
			out.Heavy = &s
		}
	}
	if _, ok := out.Histograms["latency"]; !ok && out.Requests > 0 {
		return out, errors.New("a run has requests but no latency histogram (written by an iolab older than its -json histograms?)")
	}
	return out, nil
}

// mergeHistograms adds the histogram name of every level, if all have it.
func mergeHistograms(ls []*Level, name string) (*hdr.Histogram, bool, error) {
	var sum *hdr.Histogram
	for i, l := range ls {
		b, ok := l.Histograms[name]
		if !ok {
			if i > 0 && sum != nil {
				return nil, false, fmt.Errorf("histogram %q in some runs only", name)
			}
			return nil, false, nil
		}
		h, err := Decode(b)
		if err != nil {
			return nil, false, fmt.Errorf("histogram %q of run %d: %w", name, i+1, err)
		}
		if sum == nil {
			sum = newHist()
		}
		if dropped := sum.Merge(h); dropped > 0 {
			return nil, false, fmt.Errorf("histogram %q of run %d: %d values out of range", name, i+1, dropped)
		}
	}
	return sum, sum != nil, nil
}
