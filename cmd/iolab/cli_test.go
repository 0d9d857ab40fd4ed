package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"iolab/loadgen"
	"iolab/models"
	"iolab/models/servetest"
)

// replyServer serves on an ephemeral port of 127.0.0.1 until the test
// ends: it writes reply to each client and closes. "Olá" is a greeting
// that iolab load takes as right; to an echo client any reply is garbage.
func replyServer(t *testing.T, reply string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed by Cleanup
			}
			c.Write([]byte(reply))
			c.Close()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}

// serveEcho serves the echo protocol with the model called name in this
// process, on an ephemeral port of 127.0.0.1, until the test ends, and
// returns its address. tweak, if set, adjusts the configuration.
func serveEcho(t *testing.T, name string, tweak func(*models.Config)) string {
	t.Helper()
	addr, _ := servetest.Start(t, name, func(c *models.Config) {
		c.Proto = models.Echo
		if tweak != nil {
			tweak(c)
		}
	})
	return addr
}

// readResult reads the results of iolab load -json from path.
func readResult(t *testing.T, path string) *loadgen.Result {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r loadgen.Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &r
}

// closedPort returns an address of 127.0.0.1 where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// quick are the flags of a short load run: one client, 200 ms, no warm-up.
var quick = []string{"-clients", "1", "-duration", "200ms", "-warmup", "0s", "-timeout", "500ms"}

// loadRun measures addr with iolab load and writes its JSON to dir/name.
func loadRun(t *testing.T, dir, name, addr string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	var stdout, stderr bytes.Buffer
	args := append([]string{"load", "-addr", addr, "-json", path}, quick...)
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("iolab %s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
	}
	return path
}

// TestBadInputs runs every kind of bad input through the command, and
// checks its exit status and the first line of what it says on stderr.
func TestCheckWords(t *testing.T) {
	for list, want := range map[string][]string{
		"10,000":              {"10,000"},
		"storm,10,000, idle":  {"storm", "10,000", "idle"},
		"fd,,slowloris":       {"fd", "slowloris"},
		"100,200":             {"100,200"},
		"protocol,1000 lines": {"protocol", "1000 lines"},
	} {
		if got := words(list); !slices.Equal(got, want) {
			t.Errorf("words(%q) = %q, want %q", list, got, want)
		}
	}
}

func TestBadInputs(t *testing.T) {
	dir := t.TempDir()
	good := replyServer(t, "Olá")
	other := replyServer(t, "Olá")
	garbage := replyServer(t, "garbage\n")
	a := loadRun(t, dir, "a.json", good)
	b := loadRun(t, dir, "b.json", good)
	elsewhere := loadRun(t, dir, "elsewhere.json", other)
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	copyOfA, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	sameAsA := write("same-as-a.json", string(copyOfA))
	var old map[string]any // as an iolab older than run ids wrote it
	if err := json.Unmarshal(copyOfA, &old); err != nil {
		t.Fatal(err)
	}
	delete(old, "run_id")
	delete(old, "version")
	delete(old, "started")
	oldJSON, _ := json.Marshal(old)
	older := write("older.json", string(oldJSON))
	old["run_id"] = "0123456789abcdef"
	old["config"].(map[string]any)["timeout"] = "9s"
	otherJSON, _ := json.Marshal(old)
	otherTimeout := write("other-timeout.json", string(otherJSON))
	corrupt := write("corrupt.json", `{"config": {"addr": "127.0.0.1:1"`)
	consoleLog := write("console.log", "12:00:00.000 INF serving addr=127.0.0.1:8000 event=start model=epoll\nnot JSON at all\n")
	infoLog := write("info.jsonl",
		`{"level":"info","event":"start","model":"epoll","addr":"127.0.0.1:8000","proto":"greeting","work":"none","pid":7,"time":"2026-12-07T12:00:00Z","message":"serving"}`+"\n"+
			`{"level":"info","event":"stop","model":"epoll","conns":42,"requests":42,"time":"2026-12-07T12:00:05Z","message":"stopped"}`+"\n")

	notBench := filepath.Join(dir, "not-bench") // a folder whose results.json is iolab load's
	if err := os.Mkdir(notBench, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(notBench, "results.json"), copyOfA, 0o644); err != nil {
		t.Fatal(err)
	}

	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()

	for _, tc := range []struct {
		name   string
		args   []string
		status int
		first  string // what the first line of stderr says
	}{
		{"unknown command", []string{"nope"}, 2, `unknown command "nope"`},
		{"unknown model", []string{"serve", "-model", "nope"}, 2, `unknown model "nope"`},
		{"bad work spec", []string{"serve", "-model", "epoll", "-work", "nap:1s"}, 2, `work "nap:1s"`},
		{"port in use", []string{"serve", "-model", "epoll", "-addr", taken.Addr().String()}, 1,
			"listen on " + taken.Addr().String() + ": address already in use (another server is running there? pick another -addr)"},
		{"bad flag value", []string{"load", "-clients", "-1"}, 2, "-1 clients is not within 1 and"},
		{"not a number", []string{"load", "-duration", "soon"}, 2, `invalid value "soon" for flag -duration`},
		{"unknown flag", []string{"load", "-bogus"}, 2, "flag provided but not defined: -bogus"},
		{"unexpected argument", []string{"load", "extra"}, 2, `unexpected argument "extra"`},
		{"heavy greeting", []string{"load", "-heavy", "0.1"}, 2, "a heavy share needs the echo protocol"},
		{"unknown engine", []string{"load", "-proto", "echo", "-engine", "poll"}, 2, `unknown engine "poll": want epoll or uring`},
		{"uring greeting", []string{"load", "-engine", "uring"}, 2, "the uring engine drives echo connections only"},
		{"bench engine", []string{"bench", "-engine", "poll"}, 2, `unknown engine "poll"`},
		{"heavy share", []string{"load", "-proto", "echo", "-heavy", "2"}, 2, "heavy share 2 is not within 0 and 1"},
		{"heavy not a number", []string{"load", "-proto", "echo", "-heavy", "lots"}, 2, `invalid value "lots" for flag -heavy`},
		{"heavy mark", []string{"load", "-proto", "echo", "-heavy", "0.1", "-heavy-mark", "x"}, 2, `heavy mark "x" begins with 'x', as a plain line can`},
		{"heavy mark too long", []string{"load", "-proto", "echo", "-heavy", "0.1", "-heavy-mark", "!!!!", "-size", "4"}, 2, `heavy mark "!!!!" does not fit in a line of 4 bytes`},
		{"closed port", append([]string{"load", "-addr", closedPort(t)}, quick...), 1, "connection refused at"},
		{"garbage replies", append([]string{"load", "-addr", garbage, "-proto", "echo"}, quick...), 1, "no request succeeded at " + garbage},
		{"threshold breached", append([]string{"load", "-addr", good, "-fail-if", "errors>=0,p50>0s"}, quick...), 3, "-fail-if errors>=0 at 1 clients: errors was 0"},
		{"threshold malformed", append([]string{"load", "-addr", good, "-fail-if", "p99>>10ms"}, quick...), 2, `-fail-if "p99>>10ms"`},
		{"threshold unknown", append([]string{"load", "-addr", good, "-fail-if", "latency>10ms"}, quick...), 2, `unknown metric "latency"`},
		{"pair of one", []string{"bench", "-pair", "epoll"}, 2, "-pair wants two servers, A,B; got 1"},
		{"pair of an unknown", []string{"bench", "-pair", "epoll,nope"}, 2, `-pair: "nope" is not a model`},
		{"pair with models", []string{"bench", "-pair", "epoll,c-epoll", "-models", "threads"}, 2, "-models does not go with it"},
		{"logs of garbage", []string{"logs", consoleLog}, 1, "no JSON log lines of iolab serve (2 lines read): run iolab serve with -log-format json"},
		{"logs at info level", []string{"logs", infoLog}, 1, "the log has no per-connection events (its stop event counts 42 connections"},
		{"logs of no file", []string{"logs", filepath.Join(dir, "missing.jsonl")}, 1, "no such file"},
		{"merge a run twice", []string{"merge", a, sameAsA}, 1, a + " and " + sameAsA + " are the same run"},
		{"merge corrupt", []string{"merge", a, corrupt}, 1, corrupt + " is not the JSON of iolab load -json"},
		{"merge different runs", []string{"merge", a, otherTimeout}, 1, otherTimeout + " does not match " + a + ": timeout 9s against 500ms"},
		{"merge two targets", []string{"merge", a, elsewhere}, 0, "warning: the runs measured different targets"},
		{"merge an older run", []string{"merge", a, older}, 0, "warning: " + older + " has no run_id"},
		{"merge two runs", []string{"merge", a, b}, 0, ""},
		{"check which server", []string{"check"}, 2, "which server? give -model NAME, -server 'COMMAND' or -addr HOST:PORT"},
		{"check two servers", []string{"check", "-model", "epoll", "-addr", good}, 2, "give one of -model, -server and -addr"},
		{"check unknown model", []string{"check", "-model", "nope"}, 2, `unknown model "nope"`},
		{"check not loopback", []string{"check", "-addr", "192.0.2.1:80"}, 2, "loopback only"},
		{"check unknown check", []string{"check", "-addr", good, "-only", "nothing-like-it"}, 2, `no check is named like "nothing-like-it"`},
		{"check bad proto", []string{"check", "-addr", good, "-proto", "http"}, 2, `-proto "http": want greeting, echo or auto`},
		{"check closed port", []string{"check", "-addr", closedPort(t), "-quick"}, 1, "connection refused"},
		{"replot and measure", []string{"bench", "-replot", dir, "-models", "epoll"}, 2, "-replot measures nothing: it takes no other flag (-models given)"},
		{"replot without results", []string{"bench", "-replot", dir}, 1, filepath.Join(dir, "results.json") + ": no such file"},
		{"replot of a load run", []string{"bench", "-replot", notBench}, 1, filepath.Join(notBench, "results.json") + " is not the results.json of iolab bench"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.status {
				t.Errorf("iolab %s: exit %d, want %d\nstderr:\n%s", strings.Join(tc.args, " "), code, tc.status, stderr.String())
			}
			first, _, _ := strings.Cut(stderr.String(), "\n")
			if !strings.Contains(first, tc.first) || (tc.first == "" && stderr.Len() > 0) {
				t.Errorf("iolab %s: stderr begins %q, want it to say %q", strings.Join(tc.args, " "), first, tc.first)
			}
			if strings.Contains(first, "loadgen:") || strings.Contains(first, "models:") || strings.Contains(first, "sock:") {
				t.Errorf("iolab %s: a package name in the message: %q", strings.Join(tc.args, " "), first)
			}
			if tc.status == 2 {
				checkUsageError(t, tc.args, stderr.String())
			}
			if tc.name == "port in use" && strings.Count(stderr.String(), "\n") != 1 {
				t.Errorf("a server that cannot start wrote more than its error:\n%s", stderr.String())
			}
		})
	}
}

// TestHelp checks that every way of asking for help prints to stdout,
// exits 0, and ends with examples; and that iolab alone is a usage error.
func TestHelp(t *testing.T) {
	var all [][]string
	all = append(all, []string{"-h"}, []string{"--help"}, []string{"help"})
	for name := range commands {
		all = append(all, []string{name, "-h"}, []string{name, "--help"}, []string{"help", name})
	}
	for _, args := range all {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 0 {
			t.Errorf("iolab %s: exit %d, want 0", strings.Join(args, " "), code)
		}
		if stderr.Len() > 0 {
			t.Errorf("iolab %s: wrote to stderr:\n%s", strings.Join(args, " "), stderr.String())
		}
		if !strings.Contains(stdout.String(), "Usage") || !strings.Contains(stdout.String(), "\nExamples:\n") {
			t.Errorf("iolab %s: no usage with examples on stdout:\n%s", strings.Join(args, " "), stdout.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(nil, &stdout, &stderr); code != 2 || stdout.Len() > 0 || !strings.Contains(stderr.String(), "Usage") {
		t.Errorf("iolab alone: exit %d, stdout %q; want 2, and the usage on stderr", code, stdout.String())
	}
}

// TestVersionAndRunIDs checks iolab version, and that the JSON of load
// and merge carries the version, a run id and the start time, the merged
// run a fresh id and the ids it merged.
func TestVersionAndRunIDs(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"-version"}} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 0 || !strings.HasPrefix(stdout.String(), "iolab ") || !strings.Contains(stdout.String(), "go1.") {
			t.Errorf("iolab %s: exit %d:\n%s%s", args[0], code, stdout.String(), stderr.String())
		}
	}
	dir := t.TempDir()
	addr := replyServer(t, "Olá")
	a, b := loadRun(t, dir, "a.json", addr), loadRun(t, dir, "b.json", addr)
	merged := filepath.Join(dir, "merged.json")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"merge", "-json", merged, a, b}, &stdout, &stderr); code != 0 {
		t.Fatalf("merge: exit %d: %s", code, stderr.String())
	}
	type stamped struct {
		Version string   `json:"version"`
		RunID   string   `json:"run_id"`
		Started string   `json:"started"`
		Merged  []string `json:"merged"`
	}
	read := func(path string) stamped {
		var s stamped
		b, err := os.ReadFile(path)
		if err == nil {
			err = json.Unmarshal(b, &s)
		}
		if err != nil {
			t.Fatal(err)
		}
		if s.Version == "" || len(s.RunID) != 16 || !strings.HasSuffix(s.Started, "Z") {
			t.Errorf("%s: version %q, run_id %q, started %q", filepath.Base(path), s.Version, s.RunID, s.Started)
		}
		return s
	}
	ra, rb, rm := read(a), read(b), read(merged)
	if ra.RunID == rb.RunID || rm.RunID == ra.RunID || rm.RunID == rb.RunID {
		t.Errorf("run ids not distinct: %s %s %s", ra.RunID, rb.RunID, rm.RunID)
	}
	if strings.Join(rm.Merged, ",") != ra.RunID+","+rb.RunID {
		t.Errorf("merged lists %v, want [%s %s]", rm.Merged, ra.RunID, rb.RunID)
	}
}

// TestMixedLoad runs iolab load -heavy 0.5, as a user would, against an
// epoll server in this process whose marked lines sleep before their
// answer: the heavy requests' p50 is the sleep at least, and the cheap
// ones' below it, since epoll waits for the sleep in a timer, not in its
// loop. A cheap request that did the work could not be answered sooner
// than the sleep, so the bounds tell a split that works from one that
// does not (the kinds swapped, or every line doing the work), however
// slow the machine.
func TestMixedLoad(t *testing.T) {
	const sleep = 50 * time.Millisecond
	addr := serveEcho(t, "epoll", func(c *models.Config) {
		c.Work, c.WorkMark = models.Work{Kind: models.Sleep, D: sleep}, "!"
	})

	path := filepath.Join(t.TempDir(), "mixed.json")
	args := []string{"load", "-addr", addr, "-proto", "echo", "-heavy", "0.5", "-clients", "4",
		"-duration", "500ms", "-warmup", "100ms", "-json", path}
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("iolab %s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "cheap and heavy requests apart") {
		t.Errorf("the table does not time the kinds apart:\n%s", stdout.String())
	}
	res := readResult(t, path)
	l := res.Levels[0]
	if l.Cheap == nil || l.Heavy == nil || l.Cheap.Count == 0 || l.Heavy.Count == 0 || l.Cheap.Count+l.Heavy.Count != l.Requests {
		t.Fatalf("cheap %+v, heavy %+v, %d requests: want both kinds, adding up", l.Cheap, l.Heavy, l.Requests)
	}
	t.Logf("cheap p50 %v p99 %v, heavy p50 %v p99 %v", time.Duration(l.Cheap.P50), time.Duration(l.Cheap.P99),
		time.Duration(l.Heavy.P50), time.Duration(l.Heavy.P99))
	if l.Heavy.P50 < int64(sleep) {
		t.Errorf("heavy p50 %v, below the %v each heavy line sleeps", time.Duration(l.Heavy.P50), sleep)
	}
	if l.Cheap.P50 >= int64(sleep) {
		t.Errorf("cheap p50 %v, at least the %v only heavy lines sleep: the cheap ones did the work", time.Duration(l.Cheap.P50), sleep)
	}
	if res.Config.Heavy != 0.5 || res.Config.HeavyMark != "!" {
		t.Errorf("results say heavy %v, mark %q", res.Config.Heavy, res.Config.HeavyMark)
	}
}
