package models_test

import (
	"os"
	"runtime"
	"strings"
	"testing"

	"iolab/loadgen/check"
	"iolab/models/internal/leakcheck"
)

// TestReliability is iolab check, quick form, over every model: each
// scenario against a fresh server in a child process (this test binary
// run again, as TestHelperCheckServer), and after each one the same
// checks: the server still serves a fresh client, every connection it
// accepted is closed, and its threads, descriptors and resident memory
// are back near where they started. The scenarios are loadgen/check's;
// make reliability runs them at full size, without the race detector.
func TestReliability(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the models and the checks' clients need Linux")
	}
	if testing.Short() {
		t.Skip("starts a server process per scenario and model")
	}
	self := helperServer()
	var names []string
	for _, m := range check.Models() {
		names = append(names, m.Name)
	}
	grid := check.NewGrid(check.Quick.Name, check.Battery, names)
	// The models run side by side, each in its own processes: most of a
	// scenario is waiting for a timeout. The leak check and the table
	// wait for all of them, as cleanups do.
	before := leakcheck.Take(t)
	t.Cleanup(func() {
		before.Check(t)
		var b strings.Builder
		if err := grid.Write(&b); err != nil {
			t.Fatal(err)
		}
		t.Logf("\n%s", b.String())
	})
	for _, m := range check.Models() {
		t.Run(m.Name, func(t *testing.T) {
			skipUnusable(t, m)
			t.Parallel()
			tg := &check.Target{Model: m, Self: self}
			for _, sc := range check.Battery {
				t.Run(sc.Name, func(t *testing.T) {
					c := check.Play(tg, sc, check.Quick)
					grid.Record(m.Name, c)
					switch c.Status {
					case check.Fail:
						for _, f := range c.Failures {
							t.Error(f)
						}
					case check.NA:
						t.Skip(c.Text)
					case check.Limit:
						t.Log("documented limitation: " + c.Text)
					}
				})
			}
		})
	}
}

// TestHelperCheckServer is a model's server for TestReliability and the
// process tests; it does nothing in a normal test run.
func TestHelperCheckServer(t *testing.T) {
	if !check.IsChild() {
		t.Skip("a model's server for the checks")
	}
	if err := check.ServeChild(); err != nil {
		t.Fatal(err)
	}
}

// helperServer is the command line that runs this test binary as a
// model's server (check.StartModel).
func helperServer() []string { return []string{os.Args[0], "-test.run=^TestHelperCheckServer$"} }
