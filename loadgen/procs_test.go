package loadgen

import (
	"flag"
	"reflect"
	"slices"
	"testing"
	"time"

	"iolab/models"
)

// TestShare checks how a load is shared out among processes: every
// level's clients, the rate and the request budget, nothing lost.
func TestShare(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Clients, cfg.Rate, cfg.Requests = []int{10, 7}, 900, 10
	var clients [2]int
	for i := range 3 {
		s, err := cfg.Share(i, 3)
		if err != nil {
			t.Fatal(err)
		}
		clients[0] += s.Clients[0]
		clients[1] += s.Clients[1]
		if s.Rate != 300 || s.Requests != 4 {
			t.Errorf("share %d: rate %v, requests %d", i, s.Rate, s.Requests)
		}
	}
	if clients != [2]int{10, 7} {
		t.Errorf("shares add up to %v clients, want [10 7]", clients)
	}
	if _, err := cfg.Share(0, 8); err == nil {
		t.Error("8 processes for 7 clients: no error")
	}
}

// TestArgs checks that a Config's flags say all it measures: parsed by
// the flags of `iolab load`, they rebuild it from DefaultConfig.
func TestArgs(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Addr, cfg.Proto, cfg.Clients = "127.0.0.1:9", models.Echo, []int{1, 5}
	cfg.Duration, cfg.Warmup, cfg.Timeout = 2*time.Second, 0, 1500*time.Millisecond
	cfg.Rate, cfg.Requests, cfg.Size, cfg.Pipeline = 1000.0/3, 10, 100, 4
	cfg.Expect = []byte("olá, with spaces")
	cfg.Heavy, cfg.HeavyMark = 0.125, "#slow "
	cfg.Sources, _ = ParseSources("127.0.0.2-127.0.0.3")
	for name, c := range map[string]Config{"default": DefaultConfig(), "everything": cfg} {
		args := c.Args()
		got := DefaultConfig()
		fs := flag.NewFlagSet("load", flag.ContinueOnError)
		parse := got.Flags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatalf("%s: %q: %v", name, args, err)
		}
		if err := parse(); err != nil {
			t.Fatalf("%s: %q: %v", name, args, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("%s: %q parse to %+v, want %+v", name, args, got, c)
		}
	}
	def := DefaultConfig()
	if args := def.Args(); len(args) != 0 {
		t.Errorf("DefaultConfig().Args() = %q, want none", args)
	}
	if got, want := cfg.Args(), "-source=127.0.0.2,127.0.0.3"; !slices.Contains(got, want) {
		t.Errorf("Args() = %q, want %s among them", got, want)
	}
}
