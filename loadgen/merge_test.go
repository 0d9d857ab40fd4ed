package loadgen

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestMergeIsExact records the same requests twice: split between two runs,
// and all together in one histogram. Merging the two runs must give the
// one histogram, percentile for percentile.
func TestMergeIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	a, b, all := newHist(), newHist(), newHist()
	for i := range 200_000 {
		// Two different distributions: fast requests, and a slow tail.
		v := int64(20_000 + rng.ExpFloat64()*80_000)
		if i%97 == 0 {
			v = int64(1e6 + rng.Float64()*1e9)
		}
		h := a
		if i%3 == 0 {
			h = b
		}
		_ = h.RecordValue(v)
		_ = all.RecordValue(v)
	}
	run := func(clients int, h interface{ TotalCount() int64 }, enc []byte) *Result {
		n := h.TotalCount()
		return &Result{Config: ConfigSummary{Addr: "127.0.0.1:8000", Proto: "echo", Clients: []int{clients}, Duration: "5s", Warmup: "1s", Timeout: "2s", Size: 64},
			Levels: []Level{{Clients: clients, Seconds: 5, Requests: n, Throughput: float64(n) / 5,
				Errors: map[string]int64{"read_timeout": 1}, ErrorsTotal: 1,
				Histograms: map[string][]byte{"latency": enc}}}}
	}
	merged, err := Merge(run(10, a, encode(a)), run(10, b, encode(b)))
	if err != nil {
		t.Fatal(err)
	}
	l := merged.Levels[0]
	if l.Clients != 20 || l.Requests != all.TotalCount() || l.ErrorsTotal != 2 || l.Errors["read_timeout"] != 2 {
		t.Errorf("merged level: %d clients, %d requests, %d errors; want 20, %d, 2", l.Clients, l.Requests, l.ErrorsTotal, all.TotalCount())
	}
	h, err := Decode(l.Histograms["latency"])
	if err != nil {
		t.Fatal(err)
	}
	for q := 0.0; q <= 100; q += 0.1 {
		if got, want := h.ValueAtQuantile(q), all.ValueAtQuantile(q); got != want {
			t.Fatalf("p%.1f: merged %d, recorded together %d", q, got, want)
		}
	}
	if got, want := l.Latency, summary(all); got != want {
		t.Errorf("summary %+v, want %+v", got, want)
	}
	if got, want := l.Throughput, float64(a.TotalCount()+b.TotalCount())/5; got != want {
		t.Errorf("throughput %v, want %v", got, want)
	}

	// Runs that measured different things do not merge.
	other := run(10, b, encode(b))
	other.Config.Size = 128
	if _, err := Merge(run(10, a, encode(a)), other); err == nil || !strings.Contains(err.Error(), "size 128 against 64") {
		t.Errorf("merging different line sizes: %v", err)
	}
}

// TestMergeRatesOverOwnIntervals merges two runs that measured for
// different lengths (one stopped by -requests): the merged rate is the
// sum of each run's own rate, not all the requests over the longest
// interval, and their stop conditions do not stop the merge.
func TestMergeRatesOverOwnIntervals(t *testing.T) {
	run := func(seconds float64, requests int64, stop ConfigSummary) *Result {
		stop.Addr, stop.Proto, stop.Clients, stop.Warmup, stop.Timeout = "127.0.0.1:8000", "greeting", []int{5}, "1s", "2s"
		h := newHist()
		for range requests {
			_ = h.RecordValue(100_000)
		}
		return &Result{RunID: NewRunID(), Config: stop, Levels: []Level{{Clients: 5, Seconds: seconds, Requests: requests,
			Throughput: float64(requests) / seconds, Errors: map[string]int64{}, Histograms: map[string][]byte{"latency": encode(h)}}}}
	}
	a := run(10, 2000, ConfigSummary{Duration: "10s"})
	b := run(2, 1000, ConfigSummary{Duration: "5s", Requests: 1000})
	b.Levels[0].Partial = true
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	l := m.Levels[0]
	if l.Throughput != 200+500 {
		t.Errorf("merged rate %v, want 700 (200 + 500), not %v", l.Throughput, 3000.0/10)
	}
	if !l.Partial || l.Requests != 3000 || l.Clients != 10 {
		t.Errorf("merged level: partial %v, %d requests, %d clients; want true, 3000, 10", l.Partial, l.Requests, l.Clients)
	}
	if m.RunID == "" || m.RunID == a.RunID || strings.Join(m.Merged, ",") != a.RunID+","+b.RunID {
		t.Errorf("merged run_id %q, merged %v; want a fresh id and [%s %s]", m.RunID, m.Merged, a.RunID, b.RunID)
	}
	if m.Config.Duration != "10s,5s" || m.Config.Requests != 1000 {
		t.Errorf("merged stop condition: duration %q, requests %d", m.Config.Duration, m.Config.Requests)
	}
}

// TestMergeSharedCPUs merges agents pinned to one CPU: each used 60% of
// its share, and together they used the CPU they shared 120% (more than
// it has, as a sum of samples may): the merged run is client-bound,
// though no agent alone was.
func TestMergeSharedCPUs(t *testing.T) {
	agent := func(cpus []int) *Result {
		cfg := ConfigSummary{Addr: "127.0.0.1:8000", Proto: "echo", Clients: []int{5}, Warmup: "1s", Timeout: "2s", Duration: "10s"}
		h := newHist()
		_ = h.RecordValue(100_000)
		return &Result{RunID: NewRunID(), Config: cfg, Levels: []Level{{Clients: 5, Seconds: 10, Requests: 1, Throughput: 0.1,
			Errors: map[string]int64{}, Histograms: map[string][]byte{"latency": encode(h)},
			ClientCPU: CPUUse{User: 4, System: 2, Allowed: 1, Percent: 60, CPUs: cpus}}}}
	}
	for _, tc := range []struct {
		name    string
		cpus    [2][]int
		allowed int
		bound   bool
	}{
		{"one CPU shared", [2][]int{{0}, {0}}, 1, true},
		{"a CPU each", [2][]int{{0}, {1}}, 2, false},
		{"not known", [2][]int{nil, nil}, 2, false},
	} {
		m, err := Merge(agent(tc.cpus[0]), agent(tc.cpus[1]))
		if err != nil {
			t.Fatal(err)
		}
		cpu := m.Levels[0].ClientCPU
		if cpu.Allowed != tc.allowed || m.Levels[0].ClientBound != tc.bound {
			t.Errorf("%s: allowed %d, client-bound %v (%.0f%%); want %d, %v", tc.name, cpu.Allowed, m.Levels[0].ClientBound, cpu.Percent, tc.allowed, tc.bound)
		}
	}
}
