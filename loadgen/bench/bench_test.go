package bench

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"iolab/loadgen"
	"iolab/models"
	_ "iolab/models/all"
	"iolab/models/golden"
	"iolab/models/proc"
)

// fixture is a small, fixed bench: the seed scenario for three models at
// two levels, one run failed and one client-bound.
func fixture() *Results {
	mk := func(model string, clients int, rps float64, p50, p99 int64, errs int64, threads int, rssMiB float64, cpuUs, sw float64) Measurement {
		m := Measurement{Model: model, Env: Native, Series: model, Clients: clients}
		m.Load = loadgen.Level{Clients: clients, Seconds: 2, Requests: int64(rps * 2), Throughput: rps,
			Latency:     loadgen.Summary{P50: p50, P99: p99},
			Errors:      map[string]int64{"read_timeout": errs},
			ErrorsTotal: errs}
		m.Server = ServerStats{ProcsPeak: 1, ThreadsPeak: threads, RSSPeak: int64(rssMiB * (1 << 20)), CPUPerRequestUs: cpuUs, SwitchesPerRequest: sw,
			Life: Lifetime{Requests: int64(rps * 2.5)}}
		if clients > 0 { // the greeting's phases, for the accept queue's tables
			m.Load.Connect = &loadgen.Summary{Count: m.Load.Requests, P50: p50 / 5, P99: p99 / 5, Max: p99}
			m.Load.FirstByte = &loadgen.Summary{Count: m.Load.Requests, P50: p50 / 2, P99: p99 / 2, Max: p99}
		}
		m.Server.UserSeconds = cpuUs * float64(m.Load.Requests) / 1e6 * 0.25
		m.Server.SysSeconds = cpuUs * float64(m.Load.Requests) / 1e6 * 0.75
		m.Server.CPUPercent = 100 * (m.Server.UserSeconds + m.Server.SysSeconds) / m.Load.Seconds
		// What the kernel saw: a wait of sw/4 µs per request, the switches
		// split three to one, 16 KiB of socket buffers per client, and
		// some system calls by name.
		m.Server.RunQueueWaitNs = int64(sw * 250 * float64(m.Load.Requests))
		m.Server.Life.Voluntary = int64(sw * 0.75 * float64(m.Server.Life.Requests))
		m.Server.Life.Involuntary = int64(sw * 0.25 * float64(m.Server.Life.Requests))
		m.Sockets = &SocketMemory{Sockets: clients + 1, Listeners: 1, Bytes: int64(clients) * 16 << 10}
		m.Syscalls = &Syscalls{Total: int64(sw*10) * m.Load.Requests,
			ByName: map[string]int64{"accept4": m.Load.Requests, "write": m.Load.Requests, "futex": int64(sw * float64(m.Load.Requests))}}
		return m
	}
	loops := func(m Measurement, counts ...int64) Measurement {
		m.Loops = counts
		return m
	}
	bound := mk("epoll", 10, 58064, 152_200, 383_500, 0, 7, 16.8, 11.5, 0.41)
	bound.Load.ClientBound, bound.Load.ClientCPU.Percent = true, 97
	seq10 := mk("sequential", 10, 59136, 153_200, 363_800, 3, 8, 16.5, 10.9, 0.42)
	seq10.Kernel = proc.TCPCounters{ListenOverflows: 3, ListenDrops: 3}
	seq10.Load.Connect.Max = 1_003_100_000 // a SYN retransmitted
	return &Results{
		Started:  time.Date(2026, 11, 25, 23, 0, 0, 0, time.UTC),
		Machine:  Machine{CPU: "Test CPU @ 2.0GHz", Cores: 2, Kernel: "Linux 6.18", Go: "go1.26", OS: "linux/amd64"},
		Pinning:  Pinning{Pinned: true, ServerCPUs: []int{1}, LoadCPUs: []int{0}},
		Duration: "2s", Warmup: "500ms", Timeout: "1s",
		Scenarios: []ScenarioResult{{
			Name: "seed", About: "The tutorial as written.", Proto: "greeting", Work: "none",
			Clients: []int{1, 10}, Envs: []string{Native}, Models: []string{"sequential", "threads", "epoll"},
			Runs: []Measurement{
				mk("sequential", 1, 13220, 67_100, 186_400, 0, 7, 15.4, 31.4, 2.10),
				seq10,
				mk("threads", 1, 5195, 188_300, 303_600, 0, 7, 17.0, 82.3, 7.27),
				{Model: "threads", Env: Native, Series: "threads", Clients: 10, Error: "server exited with status 1"},
				mk("epoll", 1, 14705, 61_800, 143_100, 0, 7, 16.7, 30.3, 1.99),
				bound,
			},
			Spotlight: []string{"sequential", "epoll"},
		}, {
			Name: "cores", About: "The server on every CPU.", Proto: "echo", Work: "none",
			Clients: []int{10, 100}, Envs: []string{Native}, Models: []string{"epoll", "reuseport"}, ServerCPUs: []int{0, 1},
			Runs: []Measurement{
				loops(mk("epoll", 10, 90210, 98_000, 512_000, 0, 6, 9.1, 10.2, 0.05), 11),
				loops(mk("epoll", 100, 98020, 990_000, 3_100_000, 0, 6, 10.3, 9.8, 0.01), 101),
				loops(mk("reuseport", 10, 131500, 61_000, 690_000, 0, 7, 9.5, 12.9, 0.21), 7, 4),
				loops(mk("reuseport", 100, 160300, 540_000, 4_800_000, 0, 7, 11.0, 11.6, 0.08), 52, 49),
			},
		}},
	}
}

func TestWriteTextGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, fixture()); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "tables.golden", b.Bytes())
}

func TestWriteReportGolden(t *testing.T) {
	r := fixture()
	var b bytes.Buffer
	WriteReport(&b, r, []Plot{{Scenario: "seed", Key: "throughput", Title: "requests per second", PNG: "seed-throughput.png"}})
	golden.Check(t, "report.golden.md", b.Bytes())
}

// TestVerdicts checks that the plain-language lines say only what the
// numbers show. threads failed at 10 clients, so only sequential and epoll
// compare there.
func TestVerdicts(t *testing.T) {
	tables := Tables(&fixture().Scenarios[0])
	for _, tc := range []struct {
		group, index int
		want         string
	}{
		// 59,136 against 58,064: within the noise band, so no winner is
		// named; epoll's run was client-bound.
		{0, 0, "At 10 clients no model stands out beyond the 16% noise band: 58,064 to 59,136; client-bound: epoll."},
		// 363.8µs against 383.5µs: within the band too; sequential failed
		// requests that its p99 leaves out.
		{0, 2, "At 10 clients no model stands out beyond the 16% noise band: 363.8µs to 383.5µs; client-bound: epoll. sequential also failed 3 requests, which no latency includes. Side by side: sequential 363.8µs, epoll 383.5µs."},
		// From zero, any count of failures stands out.
		{0, 3, "At 10 clients: lowest epoll (0), highest sequential (3)."},
		{1, 0, "Every model is one process at every level."},
		// 7 threads against 8: 14% apart, within the band.
		{1, 1, "At 10 clients no model stands out beyond the 16% noise band: 7 to 8."},
	} {
		if got := tables[tc.group][tc.index].Verdict; got != tc.want {
			t.Errorf("%s: verdict %q, want %q", tables[tc.group][tc.index].Title, got, tc.want)
		}
	}
}

// TestVerdictNoiseBand checks that a verdict names the highest or the
// lowest only where it stands beyond the noise band from the next value,
// at either end or both.
func TestVerdictNoiseBand(t *testing.T) {
	throughput := groups[0].metrics[0]
	for _, tc := range []struct {
		name  string
		rates []float64 // of a, b and c
		bound bool      // every run client-bound
		want  string
	}{
		{"both ends", []float64{100, 80, 60}, false, "At 10 clients: highest a (100), lowest c (60); a factor of 1.67."},
		{"the top only", []float64{100, 80, 78}, false, "At 10 clients: highest a (100), beyond the 16% noise band from the next (80); no lowest value stands out."},
		{"the bottom only", []float64{100, 98, 60}, false, "At 10 clients: lowest c (60), beyond the 16% noise band from the next (98); no highest value stands out."},
		{"neither", []float64{100, 95, 90}, true, "At 10 clients no model stands out beyond the 16% noise band: 90 to 100, all client-bound."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &ScenarioResult{Clients: []int{10}, Models: []string{"a", "b", "c"}}
			for i, rate := range tc.rates {
				s.Runs = append(s.Runs, Measurement{Model: s.Models[i], Series: s.Models[i], Env: Native, Clients: 10,
					Load: loadgen.Level{Clients: 10, Seconds: 1, Throughput: rate, ClientBound: tc.bound}})
			}
			if got := s.verdict(throughput); got != tc.want {
				t.Errorf("verdict %q, want %q", got, tc.want)
			}
		})
	}
}

// TestCoresScenario checks what a scenario on every CPU adds: the line
// that says where its servers ran, the efficiency verdict, and the table
// of connections per event loop.
func TestCoresScenario(t *testing.T) {
	r := fixture()
	s := &r.Scenarios[1]
	if got, want := s.headerLines(r)[0], "The servers ran on every CPU (0,1), the load generator's (0) among them: they compete for CPU 0."; got != want {
		t.Errorf("headerLines = %q, want %q", got, want)
	}
	lt, ok := s.LoopsTable()
	if !ok {
		t.Fatal("no loops table with reuseport in the scenario")
	}
	if got, want := lt.Models, []string{"reuseport"}; !slices.Equal(got, want) {
		t.Errorf("loops table rows %v, want %v (epoll has one loop)", got, want)
	}
	if got, want := lt.Cells[0], []string{"7 / 4", "52 / 49"}; !slices.Equal(got, want) {
		t.Errorf("loops table cells %v, want %v", got, want)
	}
	if want := "Most uneven: reuseport at 10 clients, whose busiest loop accepted 64% of the connections, against 50% for an even spread."; lt.Verdict != want {
		t.Errorf("loops verdict %q, want %q", lt.Verdict, want)
	}
	if _, ok := r.Scenarios[0].LoopsTable(); ok {
		t.Error("a loops table for a scenario without loops")
	}
	var eff Table
	for _, tb := range Tables(s)[1] {
		if tb.Key == "efficiency" {
			eff = tb
		}
	}
	// 1e6 / 10.2 µs against 1e6 / 12.9 µs per request.
	if want := "At 100 clients: highest epoll (102,041), lowest reuseport (86,207); a factor of 1.18."; eff.Verdict != want {
		t.Errorf("efficiency verdict %q, want %q", eff.Verdict, want)
	}
}

// TestWorkersAndProcesses checks the -workers line of the header, and the
// processes table with a model of several processes in it.
func TestWorkersAndProcesses(t *testing.T) {
	r := fixture()
	r.Workers = 4
	s := &r.Scenarios[0]
	s.Models = append(s.Models, "prefork")
	for _, n := range s.Clients {
		m := Measurement{Model: "prefork", Env: Native, Series: "prefork", Clients: n, Workers: 4}
		m.Load = loadgen.Level{Clients: n, Seconds: 2, Requests: 100, Throughput: 50}
		m.Server = ServerStats{ProcsPeak: 5, ThreadsPeak: 40}
		s.Runs = append(s.Runs, m)
	}
	var text, md bytes.Buffer
	if err := WriteText(&text, r); err != nil {
		t.Fatal(err)
	}
	if want := "\nWorkers: -workers 4 passed to every server; pool sizes as the servers reported them: prefork 4\n"; !strings.Contains(text.String(), want) {
		t.Errorf("text output has no %q:\n%s", want, text.String())
	}
	WriteReport(&md, r, nil)
	if want := "- **Workers:** `-workers 4` passed to every server; pool sizes as the servers reported them: prefork 4\n"; !strings.Contains(md.String(), want) {
		t.Errorf("report has no %q:\n%s", want, md.String())
	}
	procs := Tables(s)[1][0]
	if got, want := procs.Cells[3], []string{"5", "5"}; !slices.Equal(got, want) {
		t.Errorf("prefork's processes: %q, want %q", got, want)
	}
	if got, want := procs.Verdict, "At 10 clients: lowest sequential, epoll (1), highest prefork (5); a factor of 5."; got != want {
		t.Errorf("processes verdict %q, want %q", got, want)
	}
}

// TestOverhead checks the container tables: each container run divided
// by the same model's native run.
func TestOverhead(t *testing.T) {
	r := fixture()
	s := &r.Scenarios[0]
	s.Envs = []string{Native, DockerBridge}
	var runs []Measurement
	s.Models = nil
	for _, m := range []string{"sequential", "epoll"} {
		for _, env := range s.Envs {
			s.Models = append(s.Models, seriesName(m, env, s.Envs))
		}
	}
	for _, m := range s.Runs {
		if m.Model == "threads" {
			continue
		}
		m.Series = seriesName(m.Model, Native, s.Envs)
		runs = append(runs, m)
		d := m // in a container: 20% slower, p99 50% higher
		d.Env, d.Series = DockerBridge, seriesName(m.Model, DockerBridge, s.Envs)
		d.Load.Throughput *= 0.8
		d.Load.Latency.P99 = d.Load.Latency.P99 * 3 / 2
		runs = append(runs, d)
	}
	s.Runs = runs
	tables, gs := Tables(s), s.Groups()
	if len(tables) != 5 || gs[4].Title != overhead.Title {
		t.Fatalf("%d table groups, want 5: the clients, the server, the kernel, the accept queue and the overhead", len(tables))
	}
	over := tables[4]
	if got := over[0].Models; len(got) != 2 || got[0] != "sequential (docker-bridge)" {
		t.Errorf("overhead rows %v, want the container runs only", got)
	}
	if got := over[0].Cells[0][1]; got != "0.80" {
		t.Errorf("req/s relative to native: %q, want 0.80", got)
	}
	if got := over[1].Cells[1][1]; got != "1.50" {
		t.Errorf("p99 relative to native: %q, want 1.50", got)
	}
	if got, want := over[0].Verdict, "At 10 clients no model stands out beyond the 16% noise band: 0.80 to 0.80."; got != want {
		t.Errorf("verdict %q, want %q", got, want)
	}
}

func TestScenarios(t *testing.T) {
	for _, name := range append([]string{"throughput", "churn"}, QuickScenarios...) {
		if _, err := LookupScenario(name); err != nil {
			t.Error(err)
		}
	}
	if _, err := LookupScenario("nope"); err == nil {
		t.Error("LookupScenario(nope) succeeded")
	}
}

// TestTinyBench runs a real bench: two models, one level, one second,
// with iolab built for the test. It checks every output file and that the
// numbers are sane.
func TestTinyBench(t *testing.T) {
	if testing.Short() {
		t.Skip("builds iolab and runs servers")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the load generator needs Linux")
	}
	dir := t.TempDir()
	bin := iolabBinary(t)
	sc, _ := LookupScenario("io-bound")
	const clients = 20
	out := filepath.Join(dir, "results")
	res, err := Run(context.Background(), Config{
		Binary: bin, Scenarios: []Scenario{sc}, Models: []string{"sequential", "threads"}, Clients: []int{clients},
		Duration: time.Second, Warmup: 300 * time.Millisecond, Timeout: time.Second,
		NoPin:   true, // pinning would pin this test process too
		OutDir:  out,
		Workers: 3, // passed on; models without a pool ignore it
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}

	// Every file exists and parses.
	var back Results
	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil || json.Unmarshal(b, &back) != nil || len(back.Scenarios) != 1 || len(back.Scenarios[0].Runs) != 2 {
		t.Fatalf("results.json: %v, %d scenarios", err, len(back.Scenarios))
	}
	if back.Workers != 3 {
		t.Errorf("results.json: workers %d, want the 3 passed", back.Workers)
	}
	f, err := os.Open(filepath.Join(out, "results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 3 || len(rows[0]) != len(csvHeader) {
		t.Fatalf("results.csv: %v, %d rows", err, len(rows))
	}
	report, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil || !bytes.Contains(report, []byte("## io-bound")) || !bytes.Contains(report, []byte("io-bound-threads.png")) {
		t.Fatalf("report.md: %v\n%s", err, report)
	}
	// report.html inlines the plots WritePlots drew, the real SVG.
	if page, err := os.ReadFile(filepath.Join(out, "report.html")); err != nil || bytes.Count(page, []byte("<svg")) != len(plotSpecs) {
		t.Errorf("report.html: %v, %d inline plots, want %d", err, bytes.Count(page, []byte("<svg")), len(plotSpecs))
	}
	for _, spec := range plotSpecs {
		for _, ext := range []string{"png", "svg"} {
			st, err := os.Stat(filepath.Join(out, "io-bound-"+spec.key+"."+ext))
			if err != nil || st.Size() < 1000 {
				t.Errorf("plot %s.%s: %v", spec.key, ext, err)
			}
		}
	}
	for _, m := range []string{"sequential", "threads"} {
		// Each server's log is complete: it ends with the stop event.
		log, err := os.ReadFile(filepath.Join(out, "logs", "io-bound-"+m+"-20.jsonl"))
		if err != nil || !bytes.Contains(log, []byte(`"event":"`+models.EventStop+`"`)) {
			t.Errorf("server log of %s: %v, no stop event:\n%s", m, err, log)
		}
		// The run records the workers its server's start event reported.
		var start models.Event
		first, _, _ := bytes.Cut(log, []byte("\n"))
		if err := json.Unmarshal(first, &start); err != nil || start.Event != models.EventStart {
			t.Errorf("server log of %s: first line %s, %v; want the start event", m, first, err)
		}
		if r := res.Scenarios[0].run(m, clients); r.Workers != start.Workers {
			t.Errorf("%s: run records %d workers, its start event %d", m, r.Workers, start.Workers)
		}
	}

	// The numbers are sane.
	s := &res.Scenarios[0]
	seq, thr := s.run("sequential", clients), s.run("threads", clients)
	for _, r := range []*Measurement{seq, thr} {
		if r.Error != "" || r.Load.Throughput <= 0 || r.Server.Life.User+r.Server.Life.System <= 0 || r.Server.Life.Requests < r.Load.Requests || r.Server.RSSPeak <= 0 ||
			r.Server.ProcsPeak != 1 {
			t.Errorf("%s: error %q, %.0f req/s, server %+v", r.Model, r.Error, r.Load.Throughput, r.Server)
		}
	}
	// sequential serves one client at a time: its threads do not grow
	// with the clients, and a 10 ms sleep caps it near 100 requests/s.
	if seq.Server.ThreadsPeak >= clients || seq.Load.Throughput > 110 {
		t.Errorf("sequential: %d threads, %.0f req/s; want fewer threads than clients and at most ~100 req/s",
			seq.Server.ThreadsPeak, seq.Load.Throughput)
	}
	// threads holds an OS thread per client, plus the acceptor.
	if thr.Server.ThreadsPeak <= clients {
		t.Errorf("threads: peak %d OS threads for %d clients; want more than one per client", thr.Server.ThreadsPeak, clients)
	}
	if thr.Load.Throughput < 5*seq.Load.Throughput {
		t.Errorf("threads %.0f req/s against sequential %.0f: 20 sleeping clients should overlap", thr.Load.Throughput, seq.Load.Throughput)
	}
}

// TestCancelInLastRun cancels the bench during its only run: Run must say
// it was interrupted, not return as if the bench had finished.
func TestCancelInLastRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds iolab and runs a server")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the load generator needs Linux")
	}
	bin := iolabBinary(t)
	sc, _ := LookupScenario("throughput")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := Run(ctx, Config{
		Binary: bin, Scenarios: []Scenario{sc}, Models: []string{"epoll"}, Clients: []int{1},
		Duration: time.Minute, Warmup: 0, Timeout: time.Second, NoPin: true, OutDir: t.TempDir(),
		// The first report of the measured interval cancels: the run is
		// under way, and it is the last.
		Progress: func(p Progress) {
			if !p.Warmup {
				cancel()
			}
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run cancelled in its last run: got %v, want context.Canceled", err)
	}
}

// iolab is built once for the tests that start servers, into a folder
// that TestMain removes.
var (
	iolabOnce sync.Once
	iolabDir  string
	iolabPath string
	iolabErr  error
)

// iolabBinary returns the path of iolab built for the tests.
func iolabBinary(t *testing.T) string {
	t.Helper()
	iolabOnce.Do(func() {
		if iolabDir, iolabErr = os.MkdirTemp("", "iolab-bench-test"); iolabErr != nil {
			return
		}
		iolabPath = filepath.Join(iolabDir, "iolab")
		if out, err := exec.Command("go", "build", "-o", iolabPath, "iolab/cmd/iolab").CombinedOutput(); err != nil {
			iolabErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if iolabErr != nil {
		t.Fatal(iolabErr)
	}
	return iolabPath
}

// TestUnavailableModel runs a "server" that does what iolab serve does
// with a model the system refuses (uring under Docker's default seccomp
// profile): it logs the unavailable event and exits 1. The bench must show
// the row as unavailable, with the reason, not as failed, and go on.
func TestUnavailableModel(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "iolab")
	script := "#!/bin/sh\necho '{\"level\":\"error\",\"event\":\"" + models.EventUnavailable +
		"\",\"model\":\"uring\",\"error\":\"io_uring_setup: operation not permitted: a seccomp filter refused the call\"}' >&2\nexit 1\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	sc, _ := LookupScenario("seed")
	res, err := Run(context.Background(), Config{Binary: fake, Scenarios: []Scenario{sc}, Models: []string{"uring"}, Clients: []int{1, 2},
		Duration: 100 * time.Millisecond, Timeout: time.Second, NoPin: true, OutDir: filepath.Join(dir, "out")})
	if err != nil {
		t.Fatal(err)
	}
	s := &res.Scenarios[0]
	for _, n := range []int{1, 2} {
		r := s.run("uring", n)
		if r == nil || r.Error != "" || !strings.Contains(r.Unavailable, "seccomp") {
			t.Fatalf("run at %d clients: %+v; want unavailable with the reason", n, r)
		}
	}
	if got := s.table(groups[0].metrics[0]).Cells[0]; !slices.Equal(got, []string{"n/a", "n/a"}) {
		t.Errorf("throughput cells %v, want n/a", got)
	}
	notes := s.notes()
	if len(notes) != 1 || !strings.Contains(notes[0], "uring is unavailable here") || !strings.Contains(notes[0], "seccomp") {
		t.Errorf("notes %q, want one that uring is unavailable, with the reason", notes)
	}
}

// TestExternalServers measures servers given by their command lines
// (-server) beside a model: one that works (iolab serve itself, told its
// port by {port}), one on a fixed port, one that never listens, and one
// that exits at once. The last two
// must give a clear line, not a hang, and leave the others measured.
func TestExternalServers(t *testing.T) {
	bin := iolabBinary(t)
	fixed, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	serve := bin + " serve -model sequential -log-level warn"
	specs := []string{
		"works=" + serve + " -addr 127.0.0.1:{port}",
		fmt.Sprintf("fixed:%d=%s -addr 127.0.0.1:%d", fixed, serve, fixed),
		"silent=sleep 30",
		"dies=echo 'no such port' >&2; exit 3",
	}
	var exts []External
	for _, spec := range specs {
		e, err := ParseExternal(spec)
		if err != nil {
			t.Fatal(err)
		}
		exts = append(exts, e)
	}
	sc, _ := LookupScenario("seed")
	out := t.TempDir()
	res, err := Run(context.Background(), Config{Binary: bin, Scenarios: []Scenario{sc}, Models: []string{"sequential"}, Clients: []int{1, 2},
		// Long enough for a Go server to start on a busy machine; the
		// silent one waits it out at each level.
		Externals: exts, ExternalStart: 3 * time.Second,
		Duration: 200 * time.Millisecond, Timeout: time.Second, NoPin: true, OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	s := &res.Scenarios[0]
	if want := []string{"sequential", "works", "fixed", "silent", "dies"}; !slices.Equal(s.Models, want) {
		t.Errorf("rows %v, want %v", s.Models, want)
	}
	for _, n := range []int{1, 2} {
		for _, name := range []string{"works", "fixed"} {
			r := s.run(name, n)
			if r == nil || r.Error != "" || r.Load.Requests == 0 || r.Load.ErrorsTotal != 0 || !r.External || r.Server.RSSPeak == 0 {
				t.Errorf("%s at %d clients: %+v", name, n, r)
				continue
			}
			if _, ok := s.value(groups[1].metrics[3], name, n); !ok {
				t.Errorf("%s at %d clients: no CPU per request", name, n)
			}
		}
		if r := s.run("silent", n); r == nil || !strings.Contains(r.Error, "did not listen on port") {
			t.Errorf("silent at %d clients: %+v; want that it did not listen", n, r)
		}
		if r := s.run("dies", n); r == nil || !strings.Contains(r.Error, "exited before it listened") || !strings.Contains(r.Error, "no such port") {
			t.Errorf("dies at %d clients: %+v; want that it exited, with its last line", n, r)
		}
	}
	// A fresh server each level, on its fixed port too: iolab load resets
	// its connections, which leaves no TIME_WAIT to keep it from binding.
	if _, err := os.Stat(filepath.Join(out, "logs", "seed-fixed-2.log")); err != nil {
		t.Error(err)
	}
	notes := strings.Join(s.notes(), "\n")
	for _, want := range []string{"works is not a model: `" + serve, "fixed is not a model", "silent at 1 clients failed"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes have no %q:\n%s", want, notes)
		}
	}
	if proc.ListeningIn(hostNet, fixed) {
		t.Errorf("port %d still listens after the bench", fixed)
	}
}

// TestBacklogRows checks the rows of a scenario with backlogs of its own,
// and that -backlog applies elsewhere.
func TestBacklogRows(t *testing.T) {
	sc, err := LookupScenario("backlog")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Envs: []string{Native}, Backlog: 7}
	var rows []string
	for _, e := range cfg.entries(sc) {
		rows = append(rows, fmt.Sprintf("%s/%d", e.series, e.backlog))
	}
	if want := []string{"sequential backlog=1/1", "sequential backlog=5/5", "sequential backlog=default/0"}; !slices.Equal(rows, want) {
		t.Errorf("backlog rows %v, want %v", rows, want)
	}
	if got := cfg.timeout(sc); got != 5*time.Second {
		t.Errorf("backlog timeout %v, want 5s", got)
	}
	seed, _ := LookupScenario("seed")
	cfg.Models = []string{"epoll"}
	if es := cfg.entries(seed); len(es) != 1 || es[0].series != "epoll" || es[0].backlog != 7 {
		t.Errorf("seed with -backlog 7: %+v", es)
	}
}

// TestSyscallsCounted runs one level with -syscalls: where perf may count
// system calls, the run has them, reads and writes among them; where it
// may not, the results say why, and the bench runs on without them.
func TestSyscallsCounted(t *testing.T) {
	bin := iolabBinary(t)
	sc, _ := LookupScenario("throughput")
	res, err := Run(context.Background(), Config{Binary: bin, Scenarios: []Scenario{sc}, Models: []string{"epoll"}, Clients: []int{2},
		Duration: 300 * time.Millisecond, Timeout: time.Second, NoPin: true, OutDir: t.TempDir(), Syscalls: true})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Scenarios[0].run("epoll", 2)
	if usable := SyscallsUsable(); usable != nil {
		t.Logf("perf cannot count here: %v", usable)
		if res.SyscallsSkipped == "" || r.Syscalls != nil || r.Error != "" {
			t.Errorf("skipped %q, run %+v: want the reason, and a run without counts", res.SyscallsSkipped, r)
		}
		return
	}
	if r.Error != "" || r.Syscalls == nil || r.Syscalls.Total < r.Load.Requests {
		t.Fatalf("run %+v: want at least one system call per request", r)
	}
	// The epoll model reads and writes each echo line with read(2) and
	// write(2), one of each per request at the least.
	if rd, wr := r.Syscalls.ByName["read"], r.Syscalls.ByName["write"]; rd < r.Load.Requests/2 || wr < r.Load.Requests/2 {
		t.Errorf("%d requests, %d reads, %d writes", r.Load.Requests, rd, wr)
	}
	if _, calls, ok := res.Scenarios[0].SyscallsTable(); !ok || !slices.Contains(calls, "read") {
		t.Errorf("syscalls table: %v, %v", calls, ok)
	}
	if r.Sockets == nil || r.Sockets.Sockets < 2 {
		t.Errorf("socket memory %+v: want the listener and the clients' connections", r.Sockets)
	}
}

// TestHeldBench runs c100k in miniature: 20 echo clients in two load
// processes (loadgen.RunProcs), from two source addresses, against
// reuseport as two processes. It checks that every connection is held,
// that the memory per connection is measured, and that the held group
// comes out in the tables; "all" does not run c100k.
func TestHeldBench(t *testing.T) {
	if testing.Short() {
		t.Skip("builds iolab and runs servers")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the load generator needs Linux")
	}
	if slices.Contains(AllScenarios(), "c100k") {
		t.Error(`"all" runs c100k, which runs only when named`)
	}
	sc, err := LookupScenario("c100k")
	if err != nil {
		t.Fatal(err)
	}
	sc.Warmup, sc.Every, sc.PerLoadProcess, sc.Sources = 0, 100*time.Millisecond, 10, "127.0.0.2-127.0.0.3"
	sc.ConnectIn = 200 * time.Millisecond // within the warm-up, as the scenario's 10 s are within its 15 s
	sc.Serve = map[string][]string{"reuseport": {"-procs", "-workers", "2"}}
	res, err := Run(context.Background(), Config{
		Binary: iolabBinary(t), Scenarios: []Scenario{sc}, Models: []string{"reuseport"}, Clients: []int{20},
		Duration: time.Second, Warmup: 500 * time.Millisecond, Timeout: time.Second,
		NoPin: true, OutDir: filepath.Join(t.TempDir(), "results"),
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	s := &res.Scenarios[0]
	run := s.Runs[0]
	if run.Load.Held != 20 || run.Load.Setup == nil || run.Load.ErrorsTotal != 0 || run.Load.Requests == 0 {
		t.Errorf("%s: held %d of 20, setup %v, errors %v, requests %d", run.Error, run.Load.Held, run.Load.Setup, run.Load.Errors, run.Load.Requests)
	}
	if run.Server.ProcsPeak != 3 {
		t.Errorf("reuseport -procs -workers 2: %d processes, want 3 (the parent and two loops)", run.Server.ProcsPeak)
	}
	if run.Memory == nil || run.Memory.RSSBefore <= 0 || run.Memory.RSSHeld <= 0 {
		t.Fatalf("memory not measured: %+v", run.Memory)
	}
	if !s.held() || Tables(s)[1][0].Key != "held" {
		t.Error("no held group after the clients'")
	}
}
