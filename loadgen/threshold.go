package loadgen

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Threshold is a condition on a level's results that fails a run, as k6's
// thresholds do: "p99>10ms" fails every level whose p99 latency is over
// 10 ms. iolab load -fail-if takes a comma-separated list of them.
type Threshold struct {
	// Expr is the threshold as written, for messages.
	Expr string
	// Metric is one of Metrics.
	Metric string
	// Op is <, >, <= or >=.
	Op string
	// Value is the bound, in the metric's unit: a count for errors, a
	// fraction for error_rate, nanoseconds for latencies, requests per
	// second for rps.
	Value float64
}

// Metrics lists what a threshold may test, each with its unit.
var Metrics = []string{"errors", "error_rate", "p50", "p90", "p99", "p999", "max", "rps"}

// ParseThresholds parses "errors>0,p99>10ms,error_rate>=1%,rps<5000".
// Latencies take a Go duration (10ms, 1.5s); error_rate a fraction (0.01)
// or a percentage (1%); errors and rps a number.
func ParseThresholds(s string) ([]Threshold, error) {
	var out []Threshold
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for _, expr := range strings.Split(s, ",") {
		expr = strings.TrimSpace(expr)
		t, err := parseThreshold(expr)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func parseThreshold(expr string) (Threshold, error) {
	i := strings.IndexAny(expr, "<>")
	if i < 0 {
		return Threshold{}, fmt.Errorf("%q: want METRIC<VALUE or METRIC>VALUE (or <=, >=), e.g. p99>10ms", expr)
	}
	t := Threshold{Expr: expr, Metric: strings.TrimSpace(expr[:i]), Op: expr[i : i+1]}
	rest := expr[i+1:]
	if strings.HasPrefix(rest, "=") {
		t.Op += "="
		rest = rest[1:]
	}
	rest = strings.TrimSpace(rest)
	var err error
	switch t.Metric {
	case "errors", "rps":
		t.Value, err = strconv.ParseFloat(rest, 64)
		if err != nil || t.Value < 0 {
			return t, fmt.Errorf("%q: %q is not a number of %s", expr, rest, t.Metric)
		}
	case "error_rate":
		pct := strings.HasSuffix(rest, "%")
		t.Value, err = strconv.ParseFloat(strings.TrimSuffix(rest, "%"), 64)
		if pct {
			t.Value /= 100
		}
		if err != nil || t.Value < 0 || t.Value > 1 {
			return t, fmt.Errorf("%q: %q is not a fraction (0.01) or a percentage (1%%)", expr, rest)
		}
	case "p50", "p90", "p99", "p999", "max":
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			return t, fmt.Errorf("%q: %q is not a duration such as 10ms", expr, rest)
		}
		t.Value = float64(d)
	default:
		return t, fmt.Errorf("%q: unknown metric %q (want one of %s)", expr, t.Metric, strings.Join(Metrics, ", "))
	}
	return t, nil
}

// Breached reports whether l breaches t, and the value it measured,
// formatted in the metric's unit.
func (t Threshold) Breached(l *Level) (bool, string) {
	var v float64
	var shown string
	switch t.Metric {
	case "errors":
		v, shown = float64(l.ErrorsTotal), Count(l.ErrorsTotal)
	case "error_rate":
		if n := l.Requests + l.ErrorsTotal; n > 0 {
			v = float64(l.ErrorsTotal) / float64(n)
		}
		shown = strconv.FormatFloat(100*v, 'f', -1, 64) + "%"
		if len(shown) > 8 {
			shown = fmt.Sprintf("%.3g%%", 100*v)
		}
	case "rps":
		v, shown = l.Throughput, Rate(l.Throughput)+" req/s"
	default:
		ns := map[string]int64{"p50": l.Latency.P50, "p90": l.Latency.P90, "p99": l.Latency.P99,
			"p999": l.Latency.P999, "max": l.Latency.Max}[t.Metric]
		v, shown = float64(ns), Dur(ns)
		if ns == 0 {
			shown = "0 (no request answered)"
		}
	}
	switch t.Op {
	case "<":
		return v < t.Value, shown
	case "<=":
		return v <= t.Value, shown
	case ">":
		return v > t.Value, shown
	}
	return v >= t.Value, shown
}

// Breaches checks every threshold against every level of r and returns
// one line per breach, such as "p99>10ms at 10 clients: p99 was 12.3ms".
func Breaches(r *Result, ts []Threshold) []string {
	var out []string
	for i := range r.Levels {
		l := &r.Levels[i]
		for _, t := range ts {
			if bad, shown := t.Breached(l); bad {
				out = append(out, fmt.Sprintf("-fail-if %s at %d clients: %s was %s", t.Expr, l.Clients, t.Metric, shown))
			}
		}
	}
	return out
}
