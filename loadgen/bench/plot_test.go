package bench

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"iolab/loadgen"
	"iolab/models"
)

// plotFixture is a bench of every model over io-bound, as a plot sees
// one: requests per second and threads at each level, one model's last
// level client-bound and another's with failed requests. The numbers are
// made up for the test, shaped like a run's (the sleep's ceiling, the
// blocking models' pools).
func plotFixture() *Results {
	sc, _ := LookupScenario("io-bound")
	s := ScenarioResult{Name: sc.Name, Proto: sc.Proto.String(), Work: sc.Work.String(), Clients: sc.Clients, Envs: []string{Native}}
	caps := map[string]float64{"sequential": 95, "fork": 5000, "prefork": 1500, "threads": 21000, "pool": 5400, "goroutine": 48000,
		"epoll": 66000, "workers": 70000, "reuseport": 68000, "uring": 77000, "gnet": 47000}
	for _, model := range models.Names() {
		s.Models = append(s.Models, model)
		for _, n := range s.Clients {
			rps := min(97*float64(n), caps[model])
			m := Measurement{Model: model, Env: Native, Series: model, Clients: n,
				Load:   loadgen.Level{Clients: n, Seconds: 5, Requests: int64(rps * 5), Throughput: rps, Latency: loadgen.Summary{P99: int64(10e6 + 1e4*float64(n))}},
				Server: ServerStats{ProcsPeak: 1, ThreadsPeak: 6}}
			if model == "threads" {
				m.Server.ThreadsPeak = n + 10
			}
			if model == "epoll" && n == 1000 {
				m.Load.ClientBound, m.Load.ClientCPU.Percent = true, 97
			}
			if model == "pool" && n == 1000 {
				m.Load.ErrorsTotal, m.Load.Errors = 120, map[string]int64{"read_timeout": 120}
			}
			s.Runs = append(s.Runs, m)
		}
	}
	return &Results{Duration: "5s", Warmup: "1s", Timeout: "1s", Scenarios: []ScenarioResult{s, backlogFixture()}}
}

// backlogFixture is the backlog scenario as a plot sees it: sequential at
// three backlogs and a server that is not a model, beside it, each with
// its connect times at 10 clients, some of them SYNs sent again after
// 1 s.
func backlogFixture() ScenarioResult {
	sc, _ := LookupScenario("backlog")
	s := ScenarioResult{Name: sc.Name, Proto: sc.Proto.String(), Work: sc.Work.String(), Clients: sc.Clients, Envs: []string{Native},
		Backlogs: sc.Backlogs, Externals: []External{{Name: "tutorial", Command: "python3 server.py"}}}
	row := func(series, model string, backlog int, external bool, retried int) {
		s.Models = append(s.Models, series)
		for _, n := range s.Clients {
			h := hdr.New(1, 60e9, 3)
			for i := range 500 {
				_ = h.RecordValue(int64(50e3 + 1e3*i))
			}
			if n == s.Clients[len(s.Clients)-1] {
				for range retried {
					_ = h.RecordValue(1_003e6)
				}
			}
			b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
			if err != nil {
				panic(err)
			}
			s.Runs = append(s.Runs, Measurement{Model: model, Env: Native, Series: series, Clients: n, Backlog: backlog, External: external,
				Load: loadgen.Level{Clients: n, Seconds: 5, Requests: 500, Throughput: 100, Histograms: map[string][]byte{"connect": b}}})
		}
	}
	row("sequential backlog=1", "sequential", 1, false, 40)
	row("sequential backlog=5", "sequential", 5, false, 10)
	row("sequential backlog=default", "sequential", 0, false, 0)
	row("tutorial", "tutorial", 0, true, 3)
	return s
}

// TestStyleEveryModel checks that every model has a style of its own,
// fixed by its name: no two share a colour and a marker, and a model
// keeps its style whichever others ran beside it.
func TestStyleEveryModel(t *testing.T) {
	type pair struct {
		color color.RGBA
		shape markShape
	}
	seen := map[pair]string{}
	for _, name := range models.Names() {
		st, ok := modelStyles[name]
		if !ok {
			t.Errorf("model %s has no style", name)
			continue
		}
		p := pair{st.color, st.shape}
		if other, dup := seen[p]; dup {
			t.Errorf("%s and %s have the same colour and marker", other, name)
		}
		seen[p] = name
	}
	all := &plotFixture().Scenarios[0]
	two := &ScenarioResult{Models: []string{"uring", "epoll"}, Envs: []string{Native}, Runs: []Measurement{
		{Model: "uring", Env: Native, Series: "uring"}, {Model: "epoll", Env: Native, Series: "epoll"}}}
	for _, name := range []string{"epoll", "uring"} {
		if got, want := two.seriesStyle(name), all.seriesStyle(name); got.color != want.color || got.shape != want.shape || len(got.dashes) != len(want.dashes) {
			t.Errorf("%s: style %v beside one model, %v beside all", name, got, want)
		}
	}
	// A server that is not a model, even one named like a model, takes
	// the others' styles in order.
	ext := &ScenarioResult{Models: []string{"epoll", "tutorial", "threads"}, Envs: []string{Native}, Runs: []Measurement{
		{Model: "epoll", Series: "epoll"}, {Model: "tutorial", Series: "tutorial", External: true}, {Model: "threads", Series: "threads", External: true}}}
	if got := ext.seriesStyle("tutorial"); got.color != otherStyles[0].color {
		t.Errorf("first external: colour %v, want %v", got.color, otherStyles[0].color)
	}
	if got := ext.seriesStyle("threads"); got.color != otherStyles[1].color {
		t.Errorf("second external, named threads: colour %v, want %v", got.color, otherStyles[1].color)
	}
}

// TestPlotCeiling checks the io-bound ceiling: 1 s over the sleep of each
// request, per client; none for work that computes or a mixed load.
func TestPlotCeiling(t *testing.T) {
	for _, c := range []struct {
		work  string
		heavy float64
		want  float64
		ok    bool
	}{
		{"sleep:10ms", 0, 100, true},
		{"sleep:4ms", 0, 250, true},
		{"block:20ms", 0, 50, true},
		{"cpu:1ms", 0, 0, false},
		{"none", 0, 0, false},
		{"sleep:10ms", 0.1, 0, false},
	} {
		s := &ScenarioResult{Work: c.work, Heavy: c.heavy}
		if got, ok := s.ceilingPerClient(); got != c.want || ok != c.ok {
			t.Errorf("%s, heavy %v: ceiling %v, %v; want %v, %v", c.work, c.heavy, got, ok, c.want, c.ok)
		}
	}
	// Drawn as SVG only, which is quick: its words are text in the file.
	s := &plotFixture().Scenarios[0]
	dir := t.TempDir()
	for _, c := range []struct {
		key  string
		t    *plotText
		want string
	}{
		{"throughput", &english, "ceiling: clients × 100 req/s"},
		{"throughput", &portuguese, "teto: clientes × 100 req/s"},
		{"threads", &english, ""},
	} {
		f, ok, err := s.figure(c.key, c.t)
		if err != nil || !ok {
			t.Fatalf("%s: %v, %v", c.key, ok, err)
		}
		path := filepath.Join(dir, c.key+c.t.suffix+".svg")
		if err := f.save(path); err != nil {
			t.Fatal(err)
		}
		svg := readFile(t, path)
		if c.want == "" && (strings.Contains(svg, "ceiling") || strings.Contains(svg, "teto")) {
			t.Errorf("the %s plot has a ceiling", c.key)
		}
		if c.want != "" && !strings.Contains(svg, c.want) {
			t.Errorf("the %s plot does not say %q", c.key, c.want)
		}
	}
}

// TestPlotLanguages checks that every plot is drawn in both languages,
// each in its own words, with the marks of the levels to read with care
// explained under it; and that a PNG is the size of the figure.
func TestPlotLanguages(t *testing.T) {
	dir := t.TempDir()
	r := plotFixture()
	r.Scenarios = r.Scenarios[:1] // io-bound only; TestReplot draws backlog's
	plots, err := WritePlots(r, dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range plots {
		names = append(names, p.PNG)
	}
	for _, want := range []string{"io-bound-throughput.png", "io-bound-p99.png", "io-bound-threads.png"} {
		if !slices.Contains(names, want) {
			t.Errorf("plots %q, without %s", names, want)
		}
	}
	for _, p := range plots {
		for _, t2 := range plotLangs {
			for _, ext := range []string{".png", ".svg"} {
				name := strings.TrimSuffix(p.PNG, ".png") + t2.suffix + ext
				if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Size() < 1000 {
					t.Errorf("%s: %v", name, err)
				}
			}
		}
	}
	en := readFile(t, filepath.Join(dir, "io-bound-throughput.svg"))
	pt := readFile(t, filepath.Join(dir, "io-bound-throughput.pt.svg"))
	for _, c := range []struct {
		svg  string
		want []string
	}{
		{en, []string{"io-bound (echo, work sleep:10ms)", "requests per second (higher is better; log scale)", "simultaneous clients",
			english.boundMark, english.failedMark, "Hollow marker:", "50,000"}},
		{pt, []string{"io-bound (echo, trabalho sleep:10ms)", "requisições por segundo (maior é melhor; escala log)", "clientes simultâneos",
			portuguese.boundMark, portuguese.failedMark, "Marcador vazado:", "50.000"}},
	} {
		for _, w := range c.want {
			if !strings.Contains(c.svg, xmlText(w)) {
				t.Errorf("plot lacks %q", w)
			}
		}
	}
	if strings.Contains(pt, "requests per second") || strings.Contains(en, "requisições") {
		t.Error("a plot mixes its languages")
	}
	// On a latency plot, the failed requests' caption says that no
	// latency includes them.
	if svg := readFile(t, filepath.Join(dir, "io-bound-p99.svg")); !strings.Contains(svg, xmlText(english.failedLatency)) {
		t.Errorf("the p99 plot does not say that no latency includes the failed requests")
	}
	f, err := os.Open(filepath.Join(dir, "io-bound-throughput.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.DecodeConfig(f)
	if err != nil || img.Width != 1134 || img.Height != 643 {
		t.Errorf("PNG %dx%d, %v; want 1134x643", img.Width, img.Height, err)
	}
}

// TestReplot checks that a bench's plots can be drawn again from its
// results.json alone, and that a folder without one is refused.
func TestReplot(t *testing.T) {
	dir := t.TempDir()
	r := plotFixture()
	r.Scenarios = r.Scenarios[1:] // backlog only: few plots to draw
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	plots, err := Replot(dir)
	if err != nil || len(plots) == 0 {
		t.Fatalf("Replot: %d plots, %v", len(plots), err)
	}
	for _, name := range []string{"backlog-throughput.png", "backlog-throughput.pt.png", "backlog-connect.svg", "backlog-connect.pt.svg"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	if _, err := Replot(t.TempDir()); err == nil {
		t.Error("Replot of a folder without results.json: no error")
	}
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "results.json"), []byte(`{"levels": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Replot(bad); err == nil || !strings.Contains(err.Error(), "not the results.json of iolab bench") {
		t.Errorf("Replot of another program's JSON: %v", err)
	}
}

// readFile returns a file's text.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// xmlText is s as an SVG file holds it, its markup characters escaped.
func xmlText(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
