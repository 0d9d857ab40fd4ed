package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{
		{[]float64{2}, 2},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{0.9, 1.1}, 1},
	} {
		in := append([]float64(nil), tc.xs...)
		if got := median(tc.xs); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.xs, got, tc.want)
		}
		for i := range in {
			if in[i] != tc.xs[i] {
				t.Fatalf("median reordered its input: %v, was %v", tc.xs, in)
			}
		}
	}
}

// TestRatioStats checks the statistics of a level's ratios with fixed
// inputs: the median and range exactly, and the bootstrap interval by
// what must hold whatever the seed, plus its reproducibility.
func TestRatioStats(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ratios  []float64
		median  float64
		verdict string
	}{
		// Around 1 on both sides: the interval holds 1.
		{"noise", []float64{0.90, 1.04, 1.10, 0.97, 1.02}, 1.02, "no difference"},
		// Every pair above 1: A faster, by the median.
		{"A faster", []float64{1.30, 1.25, 1.35, 1.28, 1.32}, 1.30, "A faster by 1.30×"},
		// Every pair below 1: B faster, by the median's inverse.
		{"B faster", []float64{0.50, 0.52, 0.48, 0.51, 0.49}, 0.50, "B faster by 2.00×"},
		// Three pairs a little below 1, two well above: the median is
		// below 1, but resampled it falls on either side.
		{"split", []float64{0.95, 1.20, 0.97, 1.25, 0.99}, 0.99, "no difference"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := ratioStats(tc.ratios)
			if st.Median != tc.median {
				t.Errorf("median %v, want %v", st.Median, tc.median)
			}
			if lo, hi := slices.Min(tc.ratios), slices.Max(tc.ratios); st.Min != lo || st.Max != hi {
				t.Errorf("min–max %v–%v, want %v–%v", st.Min, st.Max, lo, hi)
			}
			if !(st.Min <= st.Low && st.Low <= st.Median && st.Median <= st.High && st.High <= st.Max) {
				t.Errorf("interval %v–%v does not lie within the range %v–%v around the median %v", st.Low, st.High, st.Min, st.Max, st.Median)
			}
			if again := ratioStats(tc.ratios); again != st {
				t.Errorf("the same ratios gave %+v, then %+v: the bootstrap must be seeded", st, again)
			}
			if got := st.verdict("A", "B", "faster"); got != tc.verdict {
				t.Errorf("verdict %q, want %q", got, tc.verdict)
			}
		})
	}
	// Two pairs: the resamples' medians are the two ratios and their
	// mean, so the interval is the range.
	if st := ratioStats([]float64{0.8, 1.3}); st.Low != 0.8 || st.High != 1.3 {
		t.Errorf("two pairs: interval %v–%v, want 0.8–1.3", st.Low, st.High)
	}
	// The same ratio every time: no spread, and no doubt.
	if st := ratioStats([]float64{1.2, 1.2, 1.2}); st.Low != 1.2 || st.High != 1.2 || st.verdict("A", "B", "cheaper") != "A cheaper by 1.20×" {
		t.Errorf("identical pairs: %+v, %q", st, st.verdict("A", "B", "cheaper"))
	}
}

// TestPairLevelTable checks a level's row and notes: the medians of each
// side, the ratio's figures, the client-bound runs, and a pair whose B
// answered nothing, which has no ratio.
func TestPairLevelTable(t *testing.T) {
	run := func(rate float64, bound bool) PairRun { return PairRun{Throughput: rate, ClientBound: bound} }
	lv := PairLevel{Clients: 10,
		A: []PairRun{run(100, false), run(120, true), run(90, false)},
		B: []PairRun{run(100, false), run(100, true), run(100, true)}}
	lv.summarize("a", "b")
	p := &PairResult{A: "a", B: "b", Pairs: 3, Levels: []PairLevel{lv}}
	tb, cols := p.table()
	if len(cols) != len(tb.Cells[0]) || tb.Models[0] != "10" {
		t.Fatalf("columns %v for a row of %d cells, row %q", cols, len(tb.Cells[0]), tb.Models[0])
	}
	want := []string{"100", "100", "1.00", "0.90–1.20", tb.Cells[0][4], "a 1/3, b 2/3", "no difference"}
	for i, w := range want {
		if tb.Cells[0][i] != w {
			t.Errorf("%s: %q, want %q", cols[i], tb.Cells[0][i], w)
		}
	}
	if notes := p.notes(); len(notes) != 1 || !strings.Contains(notes[0], "client-bound (a 1/3, b 2/3)") {
		t.Errorf("notes %q, want one on the client-bound runs", notes)
	}
	if ct, _ := p.cpuTable(); ct != nil || len(lv.CPURatios) != 0 {
		t.Errorf("no run had its server CPU: CPU ratios %v, table %v", lv.CPURatios, ct)
	}

	// Server CPU per request, known in two pairs of three: B's over A's.
	lv.A[0].ServerCPUPerRequest, lv.B[0].ServerCPUPerRequest = 10, 15
	lv.A[1].ServerCPUPerRequest, lv.B[1].ServerCPUPerRequest = 10, 13
	lv.B[2].ServerCPUPerRequest = 20
	lv.summarize("a", "b")
	if !slices.Equal(lv.CPURatios, []float64{1.5, 1.3}) || lv.CPURatio.Median != 1.4 || lv.CPUVerdict != "a cheaper by 1.40×" {
		t.Errorf("CPU ratios %v, median %v, verdict %q; want [1.5 1.3], 1.4, a cheaper by 1.40×", lv.CPURatios, lv.CPURatio.Median, lv.CPUVerdict)
	}
	p.Levels = []PairLevel{lv}
	ct, ccols := p.cpuTable()
	if ct == nil {
		t.Fatal("no CPU table")
	}
	want = []string{"10.00", "15.00", "1.40", "1.30–1.50", ct.Cells[0][4], "a cheaper by 1.40×"}
	for i, w := range want {
		if ct.Cells[0][i] != w {
			t.Errorf("%s: %q, want %q", ccols[i], ct.Cells[0][i], w)
		}
	}

	none := PairLevel{Clients: 1, A: []PairRun{run(5, false)}, B: []PairRun{run(0, false)}}
	none.summarize("a", "b")
	if len(none.Ratios) != 0 || none.Verdict != "no ratio: b answered nothing" {
		t.Errorf("B answered nothing: ratios %v, verdict %q", none.Ratios, none.Verdict)
	}
}

// TestPairRun compares two models at one level, two pairs, briefly: the
// structure of what it writes, never the speed.
func TestPairRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds iolab and runs servers")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the load generator needs Linux")
	}
	sc, _ := LookupScenario("throughput")
	out := t.TempDir()
	res, err := Run(context.Background(), Config{Binary: iolabBinary(t), Scenarios: []Scenario{sc}, Pair: []string{"epoll", "goroutine"},
		Pairs: 2, Clients: []int{2}, Duration: 200 * time.Millisecond, Warmup: 50 * time.Millisecond, Timeout: time.Second,
		NoPin: true, OutDir: out})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var back Results
	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil || json.Unmarshal(b, &back) != nil || back.Pair == nil {
		t.Fatalf("results.json: %v, pair %v", err, back.Pair)
	}
	p := back.Pair
	if p.A != "epoll" || p.B != "goroutine" || p.Pairs != 2 || len(p.Levels) != 1 || len(res.Scenarios) != 0 {
		t.Fatalf("pair %s,%s of %d pairs, %d levels, %d scenarios; want epoll,goroutine, 2 pairs, 1 level, no scenario",
			p.A, p.B, p.Pairs, len(p.Levels), len(res.Scenarios))
	}
	lv := p.Levels[0]
	if lv.Clients != 2 || len(lv.A) != 2 || len(lv.B) != 2 || len(lv.Ratios) != 2 || lv.Error != "" {
		t.Fatalf("level %d: %d runs of A, %d of B, %d ratios, error %q; want 2 clients, 2, 2, 2, none",
			lv.Clients, len(lv.A), len(lv.B), len(lv.Ratios), lv.Error)
	}
	for i := range lv.Ratios {
		if want := lv.A[i].Throughput / lv.B[i].Throughput; lv.Ratios[i] != want || want <= 0 {
			t.Errorf("pair %d: ratio %v, want %v, positive", i, lv.Ratios[i], want)
		}
	}
	if lv.Verdict == "" {
		t.Error("no verdict")
	}
	for i, r := range append(slices.Clone(lv.A), lv.B...) {
		if r.ServerCPUPerRequest < 0 {
			t.Errorf("run %d: server CPU per request %v, negative", i, r.ServerCPUPerRequest)
		}
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil || !strings.Contains(string(md), "## pair: epoll ÷ goroutine") || !strings.Contains(string(md), "| 2 |") {
		t.Errorf("report.md has no pair section with the level's row (%v):\n%s", err, md)
	}
	for _, log := range []string{"throughput-epoll-pair.jsonl", "throughput-goroutine-pair.jsonl"} {
		if _, err := os.Stat(filepath.Join(out, "logs", log)); err != nil {
			t.Errorf("one server per side, kept running: %v", err)
		}
	}
}

// TestCServer builds the C server and checks that it speaks iolab's echo:
// lines back in order, the error reply past the line limit, and a clean
// exit on SIGTERM. Without a C compiler it checks the one-line refusal.
func TestCServer(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the C server needs Linux")
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // a fresh cache: the build runs
	if _, err := exec.LookPath("cc"); err != nil {
		_, err := BuildCServer()
		if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "no cc on PATH") {
			t.Errorf("without cc: %v, want one line that says so", err)
		}
		t.Skip("no C compiler")
	}
	bin, err := BuildCServer()
	if err != nil {
		t.Fatal(err)
	}
	if again, err := BuildCServer(); err != nil || again != bin {
		t.Errorf("second build: %q, %v; want the cached %q", again, err, bin)
	}
	ext, err := cServer()
	if err != nil {
		t.Fatal(err)
	}
	sc, _ := LookupScenario("throughput")
	cfg := &Config{OutDir: t.TempDir(), NoPin: true}
	srv, err := startExternal(context.Background(), cfg, sc, ext, Native, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if srv != nil {
			_ = srv.halt()
		}
	}()

	c, err := net.DialTimeout("tcp", srv.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	// Two lines in one write, and one in two: answered in order.
	for _, w := range []string{"one\ntwo\n", "thr", "ee\n"} {
		if _, err := c.Write([]byte(w)); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"one\n", "two\n", "three\n"} {
		if got, err := r.ReadString('\n'); got != want {
			t.Errorf("got %q (%v), want %q", got, err, want)
		}
	}
	// 64 KiB without a newline: the line cannot end within the limit.
	if _, err := c.Write([]byte(strings.Repeat("x", 64<<10))); err != nil {
		t.Fatal(err)
	}
	if got, err := r.ReadString('\n'); got != "ERR line too long\n" {
		t.Errorf("past the limit: %q (%v), want the error reply", got, err)
	}
	if _, err := r.ReadByte(); err == nil {
		t.Error("the connection stayed open after the error reply")
	}

	s := srv
	srv = nil
	if err := s.halt(); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
	if st := s.cmd.ProcessState; st == nil || st.ExitCode() != 0 {
		t.Errorf("after SIGTERM: %v, want exit status 0", st)
	}
}
