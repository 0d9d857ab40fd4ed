package loadgen

import (
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

// TestArgs checks that a Config's flags say all it measures.
func TestArgs(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Addr, cfg.Proto, cfg.Clients = "127.0.0.1:9", models.Echo, []int{1, 5}
	cfg.Duration, cfg.Rate, cfg.Expect = 2*time.Second, 10, []byte("hi")
	cfg.Sources, _ = ParseSources("127.0.0.2-127.0.0.3")
	got := cfg.Args()
	for _, want := range [][]string{{"-addr", "127.0.0.1:9"}, {"-proto", "echo"}, {"-clients", "1,5"},
		{"-duration", "2s"}, {"-rate", "10"}, {"-expect", "hi"}, {"-source", "127.0.0.2,127.0.0.3"}} {
		i := slices.Index(got, want[0])
		if i < 0 || i+1 >= len(got) || got[i+1] != want[1] {
			t.Errorf("Args() = %v: want %s %s", got, want[0], want[1])
		}
	}
}
