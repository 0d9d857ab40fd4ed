package loadgen

import (
	"strings"
	"testing"
	"time"
)

func TestThresholds(t *testing.T) {
	l := &Level{Clients: 10, Requests: 990, ErrorsTotal: 10, Throughput: 4999.6,
		Latency: Summary{P50: int64(2 * time.Millisecond), P90: int64(5 * time.Millisecond),
			P99: int64(12 * time.Millisecond), P999: int64(20 * time.Millisecond), Max: int64(time.Second)}}
	for expr, want := range map[string]bool{
		"errors>0": true, "errors>10": false, "errors>=10": true, "errors<1": false,
		"error_rate>0.5%": true, "error_rate>=1%": true, "error_rate>0.011": false, "error_rate<=0.01": true,
		"p50>1ms": true, "p90<5ms": false, "p90<=5ms": true, "p99>10ms": true, "p999>1s": false, "max>=1s": true,
		"rps<5000": true, "rps<4000": false, "rps > 4999": true, " p99 > 10ms ": true,
	} {
		ts, err := ParseThresholds(expr)
		if err != nil || len(ts) != 1 {
			t.Errorf("ParseThresholds(%q): %v, %v", expr, ts, err)
			continue
		}
		if got, shown := ts[0].Breached(l); got != want {
			t.Errorf("%q on %+v: breached %v (value %s), want %v", expr, l, got, shown, want)
		}
	}
	for _, bad := range []string{"p99", "p99>", "p99>>1ms", "p99>10", "latency>1ms", "errors>x", "error_rate>2", "rps<-1", "p99=1ms", ","} {
		if ts, err := ParseThresholds(bad); err == nil {
			t.Errorf("ParseThresholds(%q) = %v, want an error", bad, ts)
		}
	}
	ts, err := ParseThresholds("errors>0,p99>10ms,rps>1e9")
	if err != nil {
		t.Fatal(err)
	}
	got := Breaches(&Result{Levels: []Level{*l}}, ts)
	want := []string{"-fail-if errors>0 at 10 clients: errors was 10", "-fail-if p99>10ms at 10 clients: p99 was 12.0ms"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Breaches:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 4_999_965_933: "4,999,965,933", -1234: "-1,234"} {
		if got := Count(n); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestRowMarks checks that a row says it was cut short, or missed its
// open-loop rate, in the row itself.
func TestRowMarks(t *testing.T) {
	r := &Result{Config: ConfigSummary{Proto: "echo", Rate: 10000}, Levels: []Level{
		{Clients: 10, Throughput: 9995, Errors: map[string]int64{}},
		{Clients: 20, Throughput: 7000, Errors: map[string]int64{}},
		{Clients: 50, Throughput: 9999, Partial: true, Errors: map[string]int64{}},
	}}
	var b strings.Builder
	if err := WriteTable(&b, r); err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(b.String(), "\n")
	for i, want := range []string{"no", "no missed -rate 10,000", "no partial: cut short"} {
		if !strings.HasSuffix(rows[i+1], want) {
			t.Errorf("row %d: %q, want it to end %q", i+1, rows[i+1], want)
		}
	}
}
