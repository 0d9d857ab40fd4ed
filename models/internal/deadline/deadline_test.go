package deadline

import (
	"testing"
	"time"

	"iolab/models"
)

func TestHeapPopsInOrder(t *testing.T) {
	var h Heap[int]
	t0 := time.Now()
	for _, d := range []int{5, 1, 4, 2, 3} {
		h.Schedule(t0.Add(time.Duration(d)*time.Second), d)
	}
	if next, ok := h.Next(); !ok || !next.Equal(t0.Add(time.Second)) {
		t.Errorf("Next: got %v %v, want t0+1s", next, ok)
	}
	if _, ok := h.PopDue(t0); ok {
		t.Error("PopDue at t0: got a timer, want none due")
	}
	var got []int
	for {
		v, ok := h.PopDue(t0.Add(4 * time.Second))
		if !ok {
			break
		}
		got = append(got, v)
	}
	if len(got) != 4 || got[0] != 1 || got[3] != 4 || h.Len() != 1 {
		t.Errorf("due by t0+4s: got %v with %d left, want [1 2 3 4] and 1", got, h.Len())
	}
}

func TestLate(t *testing.T) {
	cfg := models.DefaultConfig()
	cfg.IdleTimeout, cfg.RequestTimeout = 10*time.Second, 2*time.Second
	now := time.Now()
	long, short := At(now.Add(-11*time.Second)), At(now.Add(-time.Second))
	var zero Clock
	cases := []struct {
		name                     string
		active, writing, reading Clock
		asleep                   bool
		want                     models.Reason
		late                     bool
	}{
		{"idle", long, zero, zero, false, models.ReasonIdle, true},
		{"active", short, zero, zero, false, models.ReasonIdle, false},
		{"answers unsent too long, however active", short, long, zero, false, models.ReasonWriteTimeout, true},
		{"asleep", long, zero, zero, true, 0, false},
		{"part of a line too long", short, zero, At(now.Add(-3 * time.Second)), false, models.ReasonRequestTimeout, true},
	}
	for _, tc := range cases {
		r, late := Late(&cfg, now, tc.active, tc.writing, tc.reading, tc.asleep)
		if late != tc.late || late && r != tc.want {
			t.Errorf("%s: got %v %v, want %v %v", tc.name, r, late, tc.want, tc.late)
		}
	}
	if got := SweepEvery(&cfg); got != 200*time.Millisecond {
		t.Errorf("SweepEvery: got %v, want 200ms", got)
	}
}
