package models

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
)

func TestSlots(t *testing.T) {
	var log bytes.Buffer
	cfg := DefaultConfig()
	cfg.Log = zerolog.New(&log)
	s := NewSlots(2, NewStats(&cfg))
	if !s.TryAcquire() || !s.Acquire(context.Background()) {
		t.Fatal("two free slots, could not take them")
	}
	if s.TryAcquire() || !s.Full() {
		t.Error("took a third of two slots, or not Full")
	}
	if got := s.Open(); got != 2 {
		t.Errorf("Open = %d, want 2", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if s.Acquire(ctx) {
		t.Error("Acquire with no free slot and a done context returned true")
	}
	s.Release()
	if !s.TryAcquire() {
		t.Error("a released slot could not be taken again")
	}
	// Acquire logged the limit reached as it began to wait; the loops'
	// Note, from many threads at once, logs each change once.
	s.Release()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(s.Note)
	}
	wg.Wait()
	s.TryAcquire()
	s.Note()
	s.Note()
	var events []string
	for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		var e Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		events = append(events, fmt.Sprintf("%s %d/%d", e.Event, e.Open, e.MaxConns))
	}
	want := []string{EventLimitReached + " 2/2", EventLimitLeft + " 1/2", EventLimitReached + " 2/2"}
	if !slices.Equal(events, want) {
		t.Errorf("events %q, want %q", events, want)
	}
}

func TestDefaultMaxConns(t *testing.T) {
	if n := DefaultMaxConns(); n < 1 {
		t.Errorf("DefaultMaxConns = %d, want at least 1", n)
	}
	cfg := DefaultConfig()
	if got, want := cfg.Limit(), DefaultMaxConns(); got != want {
		t.Errorf("Limit with MaxConns 0 = %d, want DefaultMaxConns %d", got, want)
	}
	cfg.MaxConns = 7
	if got := cfg.Limit(); got != 7 {
		t.Errorf("Limit = %d, want 7", got)
	}
	if got, want := cfg.OutputCap(), 4*cfg.MaxLine; got != want {
		t.Errorf("OutputCap with MaxOutput 0 = %d, want %d", got, want)
	}
}
