package disk

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	fileSize = 4 << 20 // a small data file: the tests read it, they do not time it
	os.Exit(m.Run())
}

func TestCheckSize(t *testing.T) {
	for n, ok := range map[int]bool{4096: true, 64 << 10: true, MaxRead: true, 0: false, 512: false, 4000: false, MaxRead + Align: false} {
		if err := CheckSize(n); (err == nil) != ok {
			t.Errorf("CheckSize(%d) = %v, want ok=%v", n, err, ok)
		}
	}
}

// TestOpen creates the data file, reads it as disk work does, and opens
// it again as another server of the process would: the same File.
func TestOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "disk.dat")
	f, err := Open(path, 4096)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Size() != int64(fileSize) {
		t.Fatalf("data file: %v, %v; want %d bytes", st, err, fileSize)
	}
	switch f.Mode {
	case Direct, Dropped, Cached:
	default:
		t.Errorf("mode %q", f.Mode)
	}
	t.Logf("mode %s, read latency %v", f.Mode, f.Latency)
	for range 10 {
		if err := f.Read(4096); err != nil {
			t.Fatal(err)
		}
	}
	if off := f.Offset(4096); off%Align != 0 || off < 0 || off > int64(fileSize-4096) {
		t.Errorf("offset %d: not aligned, or out of the file", off)
	}
	again, err := Open(path, 8192)
	if err != nil || again != f {
		t.Errorf("second Open: %p, %v; want the same File %p", again, err, f)
	}
}

// TestOpenFails names the file that cannot be created.
func TestOpenFails(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(file, "disk.dat") // under a file: no directory can be made
	_, err := Open(path, 4096)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Open under a regular file: %v; want an error naming %s", err, path)
	}
}

// TestPipe reads a named pipe: the read waits until 4 KiB are written.
func TestPipe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slow")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path, 4096)
	if err != nil {
		t.Fatal(err)
	}
	if f.Mode != Pipe || f.Offset(4096) != -1 {
		t.Fatalf("mode %q offset %d; want pipe, -1", f.Mode, f.Offset(4096))
	}
	done := make(chan error, 1)
	go func() { done <- f.Read(4096) }()
	w, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Write(make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second): // a guard against a hang, not a speed bound
		t.Fatal("the read did not return after 4 KiB were written")
	}
}

func TestBuffer(t *testing.T) {
	for _, n := range []int{4096, 12288, 1 << 20} {
		b := Buffer(n)
		if len(b) != n || cap(b) != n || uintptr(unsafe.Pointer(&b[0]))%Align != 0 {
			t.Errorf("Buffer(%d): len %d cap %d at %p; want %d, aligned to %d", n, len(b), cap(b), &b[0], n, Align)
		}
	}
}

// TestTmpfsIsCached opens a data file in memory (/dev/shm, where it is a
// tmpfs): even where tmpfs accepts O_DIRECT, no read reaches a device,
// and the mode must say so.
func TestTmpfsIsCached(t *testing.T) {
	var fs unix.Statfs_t
	if err := unix.Statfs("/dev/shm", &fs); err != nil || fs.Type != unix.TMPFS_MAGIC {
		t.Skip("no tmpfs at /dev/shm")
	}
	dir, err := os.MkdirTemp("/dev/shm", "iolab-disk-test-")
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	f, err := Open(filepath.Join(dir, "disk.dat"), 4096)
	if err != nil {
		t.Fatal(err)
	}
	if f.Mode != Cached {
		t.Errorf("a data file on tmpfs: mode %q, want %q", f.Mode, Cached)
	}
}
