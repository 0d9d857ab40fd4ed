package bench

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"iolab/loadgen"
)

// mixedFixture is the mixed scenario for three models at two levels, as
// a machine with a data file opened O_DIRECT might measure it: epoll's
// cheap requests wait behind its reads, workers' and uring's do not.
func mixedFixture() *ScenarioResult {
	mk := func(model string, clients int, cheapP50, cheapP99, heavyP50, heavyP99 int64, readUs int64) Measurement {
		m := Measurement{Model: model, Env: Native, Series: model, Clients: clients, DiskMode: "direct", DiskReadMicros: readUs}
		m.Load = loadgen.Level{Clients: clients, Seconds: 2, Requests: 10_000, Throughput: 5_000,
			Latency: loadgen.Summary{P50: cheapP50, P99: heavyP99}, Errors: map[string]int64{},
			Cheap: &loadgen.Summary{Count: 9_000, P50: cheapP50, P99: cheapP99},
			Heavy: &loadgen.Summary{Count: 1_000, P50: heavyP50, P99: heavyP99}}
		return m
	}
	sc, _ := LookupScenario("mixed")
	return &ScenarioResult{Name: sc.Name, About: sc.About, Proto: sc.Proto.String(), Work: sc.Work.String(),
		Clients: sc.Clients, Envs: []string{Native}, Models: []string{"epoll", "workers", "uring"},
		Spotlight: sc.Spotlight, Heavy: sc.Heavy, Mark: sc.Mark,
		Runs: []Measurement{
			mk("epoll", 10, 900_000, 4_000_000, 1_100_000, 4_100_000, 95),
			mk("epoll", 100, 9_000_000, 30_000_000, 9_500_000, 31_000_000, 90),
			mk("workers", 10, 40_000, 120_000, 500_000, 900_000, 80),
			mk("workers", 100, 300_000, 900_000, 2_000_000, 6_000_000, 85),
			mk("uring", 10, 35_000, 100_000, 450_000, 800_000, 88),
			{Model: "uring", Env: Native, Series: "uring", Clients: 100, Unavailable: "io_uring is not allowed here"},
		}}
}

// TestMixedScenario checks what the mixed scenario is and what it adds to
// the bench's output: the server's -work-mark, the tables that time cheap
// and heavy requests apart, with the spotlight on the models of Flash's
// lesson, the data file's conditions, the cheap requests' plot, and the
// columns of results.csv. (TestTinyBench checks that a scenario without
// heavy lines has no such plot.)
func TestMixedScenario(t *testing.T) {
	sc, err := LookupScenario("mixed")
	if err != nil {
		t.Fatal(err)
	}
	if sc.Work.String() != "disk:64KiB" || sc.Heavy != 0.1 || sc.Mark != "!" || !slices.Equal(sc.Clients, []int{10, 100}) || sc.Models != nil || sc.Explicit {
		t.Errorf("mixed: work %v, heavy %v, mark %q, clients %v, models %v, explicit %v", sc.Work, sc.Heavy, sc.Mark, sc.Clients, sc.Models, sc.Explicit)
	}
	if !slices.Contains(AllScenarios(), "mixed") {
		t.Errorf("all runs %v, without mixed", AllScenarios())
	}
	args := serveArgs(&Config{}, sc, entry{model: "epoll", env: Native})
	if !slices.Contains(args, "-work-mark=!") || !slices.Contains(args, "disk:64KiB") {
		t.Errorf("serve args %q: want -work disk:64KiB and -work-mark=!", args)
	}
	if seed, _ := LookupScenario("seed"); slices.ContainsFunc(serveArgs(&Config{}, seed, entry{model: "epoll"}), func(a string) bool { return strings.HasPrefix(a, "-work-mark") }) {
		t.Error("the seed scenario's server has a -work-mark")
	}

	s := mixedFixture()
	gs := s.Groups()
	if len(gs) < 2 || gs[1].Title != kindsGroup.Title {
		t.Fatalf("groups %v: want the cheap and heavy requests second", gs)
	}
	kinds := Tables(s)[1]
	if got := kinds[0].Cells; !slices.Equal(got[0], []string{"900.0µs", "9.0ms"}) || !slices.Equal(got[2], []string{"35.0µs", "n/a"}) {
		t.Errorf("cheap p50 cells %q", got)
	}
	// uring could not serve at 100 clients: the spotlight quotes the two
	// models that did.
	want := "At 100 clients: lowest workers (900.0µs), highest epoll (30.0ms); a factor of 33.3. Side by side: epoll 30.0ms, workers 900.0µs."
	if got := kinds[1].Verdict; got != want {
		t.Errorf("cheap p99 verdict %q, want %q", got, want)
	}

	var b bytes.Buffer
	if err := WriteText(&b, &Results{Scenarios: []ScenarioResult{*s}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"=== mixed: echo, work disk:64KiB on 10% of lines ===",
		"The data file's reads: direct (O_DIRECT: every read goes to the device); one read took 80.0µs to 95.0µs as each server opened the file",
		"-- " + kindsGroup.Title + " --",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the text lacks %q:\n%s", want, b.String())
		}
	}

	dir := t.TempDir()
	plots, err := WritePlots(&Results{Scenarios: []ScenarioResult{*s}}, dir)
	if err != nil || !slices.ContainsFunc(plots, func(p Plot) bool { return p.Key == kindsPlot.key && p.PNG == "mixed-cheap-p99.png" }) {
		t.Errorf("plots %v, %v: want the cheap requests' p99", plots, err)
	}
	if err := writeCSV(&Results{Scenarios: []ScenarioResult{*s}}, filepath.Join(dir, "results.csv")); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := func(name string) string { return rows[1][slices.Index(rows[0], name)] } // epoll at 10 clients
	if col("cheap_p50_us") != "900.0" || col("heavy_p99_us") != "4100.0" || col("disk_mode") != "direct" || col("disk_read_us") != "95" {
		t.Errorf("results.csv, epoll at 10: cheap p50 %q, heavy p99 %q, disk %q %q", col("cheap_p50_us"), col("heavy_p99_us"), col("disk_mode"), col("disk_read_us"))
	}
}
