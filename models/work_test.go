package models

import (
	"runtime"
	"testing"
	"time"
)

// TestBeginWork pins the work step every model shares: what it returns,
// when it calls OnWork, and whether it spins. The greeting and an echo
// line are the same request to it. CPU is measured on the thread's own
// clock, never against a wall-clock bound, so a busy machine cannot make
// the test flaky.
func TestBeginWork(t *testing.T) {
	const (
		cpu   = 20 * time.Millisecond
		sleep = time.Second // a spin through it would use all of it
	)
	for _, proto := range []Proto{Greeting, Echo} {
		for _, tc := range []struct {
			work      Work
			wantSleep time.Duration
			wantCalls int
			spins     bool // uses at least work.D of thread CPU
		}{
			{Work{}, 0, 0, false},
			{Work{Kind: Sleep, D: sleep}, sleep, 1, false},
			{Work{Kind: CPU, D: cpu}, 0, 1, true},
			{Work{Kind: Block, D: cpu}, 0, 1, false},
		} {
			t.Run(proto.String()+"/"+tc.work.String(), func(t *testing.T) {
				cfg := DefaultConfig()
				cfg.Proto, cfg.Work = proto, tc.work
				calls := 0
				cfg.OnWork = func() { calls++ }

				runtime.LockOSThread() // both clock readings from this thread
				defer runtime.UnlockOSThread()
				before, _ := threadCPUOf(t)
				began := time.Now()
				got := BeginWork(&cfg, nil)
				took := time.Since(began)
				after, _ := threadCPUOf(t)
				used := after - before

				if got != tc.wantSleep {
					t.Errorf("BeginWork returned a sleep of %v, want %v", got, tc.wantSleep)
				}
				if calls != tc.wantCalls {
					t.Errorf("OnWork called %d times, want %d", calls, tc.wantCalls)
				}
				switch {
				case tc.spins && used < tc.work.D:
					t.Errorf("used %v of thread CPU, want at least %v", used, tc.work.D)
				case tc.work.Kind == Sleep && used >= tc.work.D:
					t.Errorf("used %v of thread CPU for %v: it spun instead of leaving the sleep to the caller", used, tc.work)
				case tc.work.Kind == Block && (took < tc.work.D || used >= tc.work.D):
					// Blocked in the kernel: the whole time passed on
					// this thread, and none of it computing.
					t.Errorf("%v returned after %v having used %v of thread CPU; want a block of at least %v that uses less", tc.work, took, used, tc.work.D)
				}
			})
		}
	}
}
