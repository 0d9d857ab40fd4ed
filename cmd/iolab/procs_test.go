package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"iolab/loadgen"
)

// asIolab makes this test binary behave as iolab when a test starts it
// again as a child (iolab load -agents does: os.Executable is this binary).
const asIolab = "IOLAB_TEST_AS_IOLAB"

func TestMain(m *testing.M) {
	if os.Getenv(asIolab) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestLoadProcs runs iolab load -agents 2: two load processes, each with
// half the clients, whose results come back merged into one level.
func TestLoadProcs(t *testing.T) {
	t.Setenv(asIolab, "1") // for the children
	addr := serveEcho(t, "goroutine", nil)
	out := filepath.Join(t.TempDir(), "merged.json")
	var stdout, stderr bytes.Buffer
	code := run([]string{"load", "-addr", addr, "-proto", "echo", "-clients", "5", "-duration", "300ms", "-warmup", "100ms",
		"-agents", "2", "-json", out}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	r := readResult(t, out)
	if len(r.Levels) != 1 || r.Levels[0].Clients != 5 || r.Levels[0].Requests == 0 || r.Levels[0].ErrorsTotal != 0 {
		t.Fatalf("merged results: %+v", r.Levels)
	}
	if _, err := loadgen.Decode(r.Levels[0].Histograms["latency"]); err != nil {
		t.Errorf("merged histogram: %v", err)
	}
	// More processes than clients is a usage error.
	if code := run([]string{"load", "-addr", addr, "-proto", "echo", "-clients", "1", "-agents", "2"}, &stdout, &stderr); code != 2 {
		t.Errorf("-procs 2 with 1 client: exit %d, want 2", code)
	}
}

func TestParseSources(t *testing.T) {
	got, err := loadgen.ParseSources("127.0.0.2-127.0.0.4, ::1")
	if err != nil || len(got) != 4 || got[0].String() != "127.0.0.2" || got[2].String() != "127.0.0.4" || got[3].String() != "::1" {
		t.Errorf("ParseSources: %v, %v", got, err)
	}
	for _, bad := range []string{"127.0.0.4-127.0.0.2", "127.0.0.1-::1", "localhost", "10.0.0.0-10.1.0.1"} {
		if _, err := loadgen.ParseSources(bad); err == nil {
			t.Errorf("loadgen.ParseSources(%q) succeeded", bad)
		}
	}
}
