package models

import (
	"context"
	"testing"
)

func TestSlots(t *testing.T) {
	s := NewSlots(2)
	if !s.TryAcquire() || !s.Acquire(context.Background()) {
		t.Fatal("two free slots, could not take them")
	}
	if s.TryAcquire() {
		t.Error("took a third of two slots")
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
