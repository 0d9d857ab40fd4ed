package models

import (
	"errors"
	"runtime"
	"testing"
	"time"
)

func TestScanLine(t *testing.T) {
	for _, tc := range []struct {
		in      string
		max     int
		want    int
		wantErr error
	}{
		{"", 8, 0, nil},
		{"abc", 8, 0, nil},
		{"abc\n", 8, 4, nil},
		{"a\nb\n", 8, 2, nil},
		{"1234567\n", 8, 8, nil},           // exactly the limit, newline included
		{"12345678", 8, 0, ErrLineTooLong}, // the limit reached without a newline
		{"12345678\n", 8, 0, ErrLineTooLong},
		{"1234567\nmore than eight", 8, 8, nil},
	} {
		got, err := ScanLine([]byte(tc.in), tc.max)
		if got != tc.want || !errors.Is(err, tc.wantErr) {
			t.Errorf("ScanLine(%q, %d) = %d, %v; want %d, %v", tc.in, tc.max, got, err, tc.want, tc.wantErr)
		}
	}
}

// TestLineBuffer feeds input in every chunk size and checks that the same
// lines come out.
func TestLineBuffer(t *testing.T) {
	input := "alpha\nbe\n\ngamma gamma gamma gamma\nz\n"
	want := []string{"alpha\n", "be\n", "\n", "gamma gamma gamma gamma\n", "z\n"}
	for chunk := 1; chunk <= len(input); chunk++ {
		b := NewLineBuffer(32)
		var got []string
		for rest := input; rest != ""; {
			space := b.Space()
			n := copy(space, rest[:min(chunk, len(rest))])
			b.Commit(n)
			rest = rest[n:]
			for {
				line, err := b.Next()
				if err != nil {
					t.Fatalf("chunk %d: %v", chunk, err)
				}
				if line == nil {
					break
				}
				got = append(got, string(line))
			}
		}
		if len(got) != len(want) {
			t.Fatalf("chunk %d: got %q, want %q", chunk, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("chunk %d: line %d: got %q, want %q", chunk, i, got[i], want[i])
			}
		}
		if b.Buffered() != 0 {
			t.Errorf("chunk %d: %d bytes left", chunk, b.Buffered())
		}
	}
}

func TestLineBufferTooLong(t *testing.T) {
	b := NewLineBuffer(16)
	for i := 0; i < 16; i++ {
		b.Commit(copy(b.Space(), "x"))
	}
	if _, err := b.Next(); !errors.Is(err, ErrLineTooLong) {
		t.Errorf("Next after 16 bytes with no newline, limit 16: got %v, want ErrLineTooLong", err)
	}
}

func TestLineBufferDoesNotAllocate(t *testing.T) {
	b := NewLineBuffer(DefaultMaxLine)
	line := []byte("a line of a steady echo client\n")
	allocs := testing.AllocsPerRun(1000, func() {
		b.Commit(copy(b.Space(), line))
		if got, _ := b.Next(); len(got) != len(line) {
			t.Fatalf("got %q", got)
		}
	})
	if allocs != 0 {
		t.Errorf("LineBuffer allocates %v times per line", allocs)
	}
}

func TestParseWork(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Work
		ok   bool
	}{
		{"", Work{}, true},
		{"none", Work{}, true},
		{"sleep:10ms", Work{Kind: Sleep, D: 10 * time.Millisecond}, true},
		{"cpu:1ms", Work{Kind: CPU, D: time.Millisecond}, true},
		{"block:2ms", Work{Kind: Block, D: 2 * time.Millisecond}, true},
		{"disk:4KiB", Work{Kind: Disk, Size: 4096}, true},
		{"disk:64kib", Work{Kind: Disk, Size: 64 << 10}, true},
		{"disk:1MiB", Work{Kind: Disk, Size: 1 << 20}, true},
		{"disk:4k", Work{}, false},   // 4,000 bytes: not whole 4 KiB blocks
		{"disk:100", Work{}, false},  // less than a block
		{"disk:1GiB", Work{}, false}, // more than one read
		{"disk:lots", Work{}, false}, // not a size
		{"block:0s", Work{}, false},
		{"sleep", Work{}, false},
		{"sleep:", Work{}, false},
		{"sleep:-1s", Work{}, false},
		{"sleep:0s", Work{}, false},
		{"nap:1s", Work{}, false},
	} {
		got, err := ParseWork(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseWork(%q) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if tc.ok && tc.in != "" {
			if again, _ := ParseWork(got.String()); again != got {
				t.Errorf("ParseWork(%q).String() = %q does not parse back", tc.in, got.String())
			}
		}
	}
}

func TestParseProto(t *testing.T) {
	for _, p := range []Proto{Greeting, Echo} {
		if got, err := ParseProto(p.String()); got != p || err != nil {
			t.Errorf("ParseProto(%q) = %v, %v", p.String(), got, err)
		}
	}
	if _, err := ParseProto("http"); err == nil {
		t.Error("ParseProto(http) succeeded")
	}
}

func TestValidate(t *testing.T) {
	ok := DefaultConfig()
	if err := ok.Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	for name, tweak := range map[string]func(*Config){
		"empty addr":       func(c *Config) { c.Addr = "" },
		"no proto":         func(c *Config) { c.Proto = 0 },
		"empty greeting":   func(c *Config) { c.Greeting = nil },
		"negative backlog": func(c *Config) { c.Backlog = -1 },
		"tiny max line":    func(c *Config) { c.MaxLine = 1 },
		"zero idle":        func(c *Config) { c.IdleTimeout = 0 },
	} {
		c := DefaultConfig()
		tweak(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: Validate accepted it", name)
		}
	}
}

// TestSpinUsesCPUTime checks that Spin burns CPU time, not wall time: the
// thread's CPU clock advances by at least d.
func TestSpinUsesCPUTime(t *testing.T) {
	runtime.LockOSThread() // both readings from the same thread
	defer runtime.UnlockOSThread()
	before, ok := threadCPUOf(t)
	Spin(20 * time.Millisecond)
	after, _ := threadCPUOf(t)
	if ok && after-before < 20*time.Millisecond {
		t.Errorf("Spin(20ms) used %v of CPU", after-before)
	}
}

func threadCPUOf(t *testing.T) (time.Duration, bool) {
	t.Helper()
	d, ok := threadCPU()
	if !ok {
		t.Skip("no thread CPU clock")
	}
	return d, ok
}

// TestLineBufferLazy checks that a LineBuffer holds no memory until the
// first read, and can let it go when it holds no input.
func TestLineBufferLazy(t *testing.T) {
	b := NewLineBuffer(DefaultMaxLine)
	if b.buf != nil {
		t.Fatal("a new LineBuffer holds memory")
	}
	n := copy(b.Space(), "hel")
	b.Commit(n)
	b.Release() // holds "hel": kept
	if b.buf == nil || b.Buffered() != 3 {
		t.Fatalf("released with %d bytes buffered", b.Buffered())
	}
	b.Commit(copy(b.Space(), "lo\n"))
	if line, err := b.Next(); err != nil || string(line) != "hello\n" {
		t.Fatalf("Next = %q, %v", line, err)
	}
	b.Release()
	if b.buf != nil || b.Buffered() != 0 {
		t.Fatal("an empty LineBuffer kept its memory")
	}
	b.Commit(copy(b.Space(), "again\n"))
	if line, _ := b.Next(); string(line) != "again\n" {
		t.Fatalf("after Release: %q", line)
	}
}

// TestBufferPool checks that pooled LineBuffers lend their memory to each
// other: a buffer drained and released is the next one's to read into.
func TestBufferPool(t *testing.T) {
	var pool BufferPool
	a := NewPooledLineBuffer(DefaultMaxLine, &pool)
	b := NewPooledLineBuffer(DefaultMaxLine, &pool)
	a.Commit(copy(a.Space(), "hi\n"))
	first := &a.buf[0]
	if line, _ := a.Next(); string(line) != "hi\n" {
		t.Fatalf("Next = %q", line)
	}
	a.Release()
	if a.buf != nil || len(pool.free) != 1 {
		t.Fatalf("released: buf %v, pool holds %d", a.buf != nil, len(pool.free))
	}
	if space := b.Space(); &space[0] != first {
		t.Error("the next buffer did not come from the pool")
	}
	if len(pool.free) != 0 {
		t.Errorf("pool still holds %d after lending", len(pool.free))
	}
}
