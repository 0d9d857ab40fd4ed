package loadgen

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Merge combines the results of load generators that ran at the same time
// against one server (several processes, or several machines): level by
// level, their clients, requests and errors add up, and their latency
// histograms are added bucket by bucket, so that every percentile of the
// merged level is the one of all their requests recorded together, not an
// average of percentiles (which means nothing). Each run's throughput is
// its own requests over its own interval; the merged throughput is their
// sum.
//
// Runs merge only if they measured the same thing: the same protocol,
// number of client levels (their clients may differ: each agent drives
// its share), interval, warm-up, timeout, rate, line size, pipeline and
// expected greeting. Merge says which field differs otherwise.
func Merge(runs ...*Result) (*Result, error) {
	if len(runs) == 0 {
		return nil, errors.New("loadgen: nothing to merge")
	}
	first := runs[0]
	for i, r := range runs[1:] {
		if err := sameConfig(&first.Config, &r.Config); err != nil {
			return nil, fmt.Errorf("loadgen: run %d does not match run 1: %w", i+2, err)
		}
		if len(r.Levels) != len(first.Levels) {
			return nil, fmt.Errorf("loadgen: run %d has %d levels, run 1 has %d", i+2, len(r.Levels), len(first.Levels))
		}
	}
	out := &Result{Config: first.Config}
	var addrs []string
	for _, r := range runs {
		if !slices.Contains(addrs, r.Config.Addr) {
			addrs = append(addrs, r.Config.Addr)
		}
	}
	out.Config.Addr = strings.Join(addrs, ",")
	out.Config.Clients = nil
	out.Config.CPUs, out.Config.Procs = nil, 0
	for li := range first.Levels {
		levels := make([]*Level, len(runs))
		for ri, r := range runs {
			levels[ri] = &r.Levels[li]
		}
		l, err := mergeLevel(levels)
		if err != nil {
			return nil, fmt.Errorf("loadgen: level %d: %w", li+1, err)
		}
		out.Levels = append(out.Levels, l)
		out.Config.Clients = append(out.Config.Clients, l.Clients)
	}
	return out, nil
}

// sameConfig reports the first field in which a and b measured something
// different.
func sameConfig(a, b *ConfigSummary) error {
	diff := func(name string, x, y any) error {
		return fmt.Errorf("%s %v against %v", name, y, x)
	}
	switch {
	case a.Proto != b.Proto:
		return diff("protocol", a.Proto, b.Proto)
	case len(a.Clients) != len(b.Clients):
		return diff("client levels", a.Clients, b.Clients)
	case a.Duration != b.Duration:
		return diff("duration", a.Duration, b.Duration)
	case a.Requests != b.Requests:
		return diff("requests", a.Requests, b.Requests)
	case a.Warmup != b.Warmup:
		return diff("warm-up", a.Warmup, b.Warmup)
	case a.Timeout != b.Timeout:
		return diff("timeout", a.Timeout, b.Timeout)
	case a.Rate != b.Rate:
		return diff("rate", a.Rate, b.Rate)
	case a.Size != b.Size:
		return diff("size", a.Size, b.Size)
	case a.Pipeline != b.Pipeline:
		return diff("pipeline", a.Pipeline, b.Pipeline)
	case a.Expect != b.Expect:
		return diff("expected greeting", a.Expect, b.Expect)
	}
	return nil
}

// mergeLevel merges the same level of several runs.
func mergeLevel(ls []*Level) (Level, error) {
	out := Level{Errors: map[string]int64{}, Histograms: map[string][]byte{}}
	var cpu CPUUse
	allUp := true // every run got all its clients connected: Setup is the latest of theirs
	var setup float64
	for _, l := range ls {
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
	if out.Seconds > 0 && cpu.Allowed > 0 {
		cpu.Percent = 100 * (cpu.User + cpu.System) / (out.Seconds * float64(cpu.Allowed))
	}
	out.ClientCPU = cpu
	if allUp && ls[0].Setup != nil {
		out.Setup = &setup
	}
	for _, name := range []string{"latency", "uncorrected", "connect", "first_byte"} {
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
