package models

import (
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dustin/go-humanize"
	"golang.org/x/sys/unix"

	"iolab/models/internal/disk"
)

// WorkKind says what a request costs the server.
type WorkKind int

const (
	// NoWork answers at once.
	NoWork WorkKind = iota
	// Sleep waits, as for a slow backend; it costs time but no CPU.
	Sleep
	// CPU computes on the serving thread for the duration.
	CPU
	// Block makes a blocking system call on the serving thread for the
	// duration (nanosleep(2) on the thread itself, not a Go timer): the
	// thread is stuck in the kernel, as in a read that misses the page
	// cache, and wherever no other thread serves, nobody is served.
	Block
	// Disk reads Size bytes of the data file at a random offset, missing
	// the page cache where it can (models/internal/disk): a real read
	// that blocks the thread that makes it until the device answers.
	Disk
)

// Work is the cost of one request, as given by -work.
type Work struct {
	Kind WorkKind
	D    time.Duration // sleep, cpu and block
	Size int           // disk: bytes per read
}

// String returns the -work spelling: none, sleep:D, cpu:D, block:D or
// disk:SIZE.
func (w Work) String() string {
	switch w.Kind {
	case Sleep:
		return "sleep:" + w.D.String()
	case CPU:
		return "cpu:" + w.D.String()
	case Block:
		return "block:" + w.D.String()
	case Disk:
		return "disk:" + sizeText(w.Size)
	}
	return "none"
}

// Validate reports what is wrong with w, as ParseWork does for its text.
func (w Work) Validate() error {
	switch w.Kind {
	case NoWork:
	case Sleep, CPU, Block:
		if w.D <= 0 {
			return fmt.Errorf("models: work %v: %v is not a positive duration", w, w.D)
		}
	case Disk:
		if err := disk.CheckSize(w.Size); err != nil {
			return fmt.Errorf("models: work %v: %v", w, err)
		}
	default:
		return fmt.Errorf("models: unknown work kind %d", w.Kind)
	}
	return nil
}

// sizeText spells n as -work takes it back: 64KiB, 1MiB, or bytes.
func sizeText(n int) string {
	switch {
	case n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprint(n)
}

// HoldsThread reports whether the work occupies the thread that does it
// (cpu, block, disk), so that a pool of threads can take it off an event
// loop; a sleep holds no thread, only a timer.
func (w Work) HoldsThread() bool {
	return w.Kind == CPU || w.Kind == Block || w.Kind == Disk
}

// workKinds is the list that usage and error messages show.
const workKinds = "none, sleep:DURATION, cpu:DURATION, block:DURATION or disk:SIZE"

// ParseWork parses a -work value: none, sleep:DURATION, cpu:DURATION,
// block:DURATION or disk:SIZE (4KiB, 64KiB, 1MiB: whole 4 KiB blocks).
func ParseWork(s string) (Work, error) {
	if s == "" || s == "none" {
		return Work{}, nil
	}
	kind, arg, ok := strings.Cut(s, ":")
	if !ok {
		return Work{}, fmt.Errorf("models: work %q: want %s", s, workKinds)
	}
	if kind == "disk" {
		n, err := humanize.ParseBytes(arg)
		if err != nil {
			return Work{}, fmt.Errorf("models: work %q: %q is not a size such as 4KiB or 1MiB", s, arg)
		}
		if err := disk.CheckSize(int(min(n, disk.MaxRead+1))); err != nil {
			return Work{}, fmt.Errorf("models: work %q: %v", s, err)
		}
		return Work{Kind: Disk, Size: int(n)}, nil
	}
	d, err := time.ParseDuration(arg)
	if err != nil || d <= 0 {
		return Work{}, fmt.Errorf("models: work %q: %q is not a positive duration", s, arg)
	}
	switch kind {
	case "sleep":
		return Work{Kind: Sleep, D: d}, nil
	case "cpu":
		return Work{Kind: CPU, D: d}, nil
	case "block":
		return Work{Kind: Block, D: d}, nil
	}
	return Work{}, fmt.Errorf("models: work %q: unknown kind %q (want sleep, cpu, block or disk)", s, kind)
}

// BeginWork begins the work of one request, greeting or echo line alike,
// on the thread that serves it, and returns the sleep still owed: how long
// to wait before the answer goes out, 0 when it may go out at once.
//
// It does the part of the work that is the same in every model: it calls
// cfg.OnWork, then spins through cpu work right here (an event loop's
// other connections wait meanwhile: that is the lesson). What it leaves,
// the sleep, is where the models differ, so the caller does it its own
// way: a blocking model calls time.Sleep, parking its thread or goroutine;
// the epoll loop arms a timer in its heap; the gnet model a Go timer.
//
// OnWork is called only when there is work to begin. A request with no
// work has nothing in flight for a test to wait on. (The blocking models
// used to call it for a greeting with no work too; the event loops and the
// blocking echo path never did, and now no model does.)
func BeginWork(cfg *Config, req []byte) (sleep time.Duration) {
	w := cfg.Work
	if w.Kind == NoWork || !cfg.Heavy(req) {
		return 0
	}
	WorkBegins(cfg)
	switch w.Kind {
	case Sleep:
		return w.D
	case CPU:
		Spin(w.D)
	case Block:
		BlockThread(w.D)
	case Disk:
		readData(cfg)
	}
	return 0
}

// Heavy reports whether the request req, an echo line, does cfg.Work:
// every request, unless WorkMark limits the work to the lines that begin
// with it. The greeting's one request always does the work.
func (c *Config) Heavy(req []byte) bool {
	m := c.WorkMark
	return m == "" || c.Proto == Greeting || len(req) >= len(m) && string(req[:len(m)]) == m
}

// WorkBegins calls cfg.OnWork, if set, as BeginWork does: for a model
// that does a request's work its own way (uring's disk reads).
func WorkBegins(cfg *Config) {
	if cfg.OnWork != nil {
		cfg.OnWork()
	}
}

// DataFile opens the data file of cfg's disk work, creating it if needed
// (disk.Open; a process opens it once). A model's New calls it, so that
// a server creates the file before it serves, not at its first request.
func DataFile(cfg *Config) (*disk.File, error) {
	return disk.Open(cfg.dataPath(), cfg.Work.Size)
}

// dataPath is Config.DataFile, or the default place.
func (c *Config) dataPath() string {
	if c.DataFile != "" {
		return c.DataFile
	}
	return disk.DefaultPath()
}

// readData does one request's disk work: a read of the data file that
// blocks this thread.
func readData(cfg *Config) {
	f, err := DataFile(cfg)
	if err == nil {
		err = f.Read(cfg.Work.Size)
	}
	if err != nil {
		WorkFailed(cfg, err)
	}
}

// workFailures counts failed reads of disk work, so that a failing device
// is logged now and then, not at every request.
var workFailures atomic.Int64

// WorkFailed logs that a request's work failed (a read of the data file):
// the first failure, then every thousandth. The request is answered all
// the same: the work failed, not the client, and a server must neither
// lose nor hold a request for it.
func WorkFailed(cfg *Config, err error) {
	if n := workFailures.Add(1); n == 1 || n%1000 == 0 {
		cfg.Log.Error().Err(err).Int64("failures", n).Msg("disk work: the read failed; the request is answered anyway")
	}
}

// spinSink keeps the compiler from removing Spin's arithmetic. It is atomic
// because many threads spin at once.
var spinSink atomic.Uint64

// Spin keeps the calling thread computing until it has used d of CPU time.
// CPU time, not wall time: a thread that the scheduler takes off the CPU
// in the middle (as with many threads on one core) must still do all its
// work when it runs again, or it would be credited with work it never did.
// The clock is the thread's own (CLOCK_THREAD_CPUTIME_ID), so the
// goroutine stays on its thread while it spins.
func Spin(d time.Duration) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start, ok := threadCPU()
	if !ok { // no thread clock here: fall back to wall time
		deadline := time.Now().Add(d)
		spinUntil(func() bool { return !time.Now().Before(deadline) })
		return
	}
	spinUntil(func() bool {
		now, _ := threadCPU()
		return now-start >= d
	})
}

// spinUntil computes until done says so, asking it every few thousand
// rounds, so that nearly all the time goes to computing.
func spinUntil(done func() bool) {
	x := spinSink.Load() | 1
	for {
		for range 4096 {
			// xorshift64: cheap, and the compiler cannot fold it away.
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
		}
		if done() {
			break
		}
	}
	spinSink.Store(x)
}

// threadCPU returns the CPU time the calling thread has used.
func threadCPU() (time.Duration, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
