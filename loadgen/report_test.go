package loadgen

import (
	"bytes"
	"testing"

	"iolab/models/golden"
)

// sample is a fixed result: a closed-loop greeting sweep over the
// tutorial's levels, where 10 clients overflow a listen(1) server, and an
// open-loop level that fell behind.
func sample() *Result {
	lat := func(p50, p99, max int64) Summary {
		return Summary{Count: 1000, Mean: float64(p50) * 1.2, P50: p50, P90: p50 * 2, P99: p99, P999: p99 * 2, Max: max}
	}
	errs := func(kv ...any) map[string]int64 {
		m := map[string]int64{}
		for _, k := range ErrKinds() {
			m[k.String()] = 0
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = int64(kv[i+1].(int))
		}
		return m
	}
	connect := lat(40_000, 1_020_000_000, 3_010_000_000)
	first := lat(30_000, 90_000, 400_000)
	return &Result{
		Config: ConfigSummary{Addr: "localhost:8000", Proto: "greeting", Clients: []int{1, 2, 5, 10}},
		Levels: []Level{
			{Clients: 1, Seconds: 5, Requests: 61722, Throughput: 12344.4, Latency: lat(75_100, 160_000, 2_100_000), Errors: errs(),
				Connect: &connect, FirstByte: &first},
			{Clients: 2, Seconds: 5, Requests: 100000, Throughput: 20000, Latency: lat(90_000, 200_000, 3_500_000), Errors: errs()},
			{Clients: 5, Seconds: 5, Requests: 110000, Throughput: 22000.2, Latency: lat(210_000, 900_000, 12_000_000), Errors: errs()},
			{Clients: 10, Seconds: 5, Requests: 9000, Throughput: 1800, Latency: lat(450_000, 1_030_000_000, 3_050_000_000),
				Errors: errs("connect_timeout", 12, "read_timeout", 3), ErrorsTotal: 15,
				ClientCPU: CPUUse{User: 4.1, System: 0.6, Allowed: 1, Percent: 94}, ClientBound: true},
		},
	}
}

func TestWriteTableGolden(t *testing.T) {
	r := sample()
	unc := Summary{P50: 50_000, P99: 400_000}
	r.Levels = append(r.Levels, Level{Clients: 20, Seconds: 5, Requests: 5000, Throughput: 1000,
		Latency:     Summary{P50: 600_000, P90: 80_000_000, P99: 480_000_000, P999: 499_000_000, Max: 500_000_000},
		Uncorrected: &unc, Late: 480, Unsent: 2, Errors: map[string]int64{}})
	var b bytes.Buffer
	if err := WriteTable(&b, r); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "table.golden", b.Bytes())
}

func TestWriteCSVGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, sample()); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "levels.csv.golden", b.Bytes())
}

// TestMixedGolden checks the outputs of a mixed load: the table's second
// part, which times cheap and heavy requests apart, and the CSV's extra
// columns. A load without heavy lines has neither (the golden files
// above).
func TestMixedGolden(t *testing.T) {
	r := sample()
	r.Config.Proto, r.Config.Heavy, r.Config.HeavyMark = "echo", 0.1, "!"
	r.Levels = r.Levels[:3]
	for i := range r.Levels {
		l := &r.Levels[i]
		l.Connect, l.FirstByte = nil, nil
		cheap := Summary{Count: l.Requests * 9 / 10, P50: l.Latency.P50 / 2, P99: l.Latency.P99 / 2}
		heavy := Summary{Count: l.Requests - cheap.Count, P50: 2_000_000 * int64(i+1), P99: 9_000_000 * int64(i+1)}
		l.Cheap, l.Heavy = &cheap, &heavy
	}
	var b bytes.Buffer
	if err := WriteTable(&b, r); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "table-mixed.golden", b.Bytes())
	b.Reset()
	if err := WriteCSV(&b, r); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "levels-mixed.csv.golden", b.Bytes())
}

func TestDurAndRate(t *testing.T) {
	for ns, want := range map[int64]string{0: "-", 850: "850ns", 75_100: "75.1µs", 12_300_000: "12.3ms", 1_234_000_000: "1.23s"} {
		if got := Dur(ns); got != want {
			t.Errorf("Dur(%d) = %q, want %q", ns, got, want)
		}
	}
	for r, want := range map[float64]string{0: "0", 999.6: "1,000", 12344.4: "12,344", 1234567: "1,234,567"} {
		if got := Rate(r); got != want {
			t.Errorf("Rate(%v) = %q, want %q", r, got, want)
		}
	}
}
