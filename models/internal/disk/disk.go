// Package disk is the data file that disk: work reads: one file that iolab
// creates once, read at random aligned offsets, so that each read of a
// request goes to the device and blocks the thread that makes it, as a
// read that misses the page cache does in a real server.
//
// To miss the cache it opens the file with O_DIRECT, which bypasses the
// page cache. Where the file system refuses O_DIRECT it drops the file's
// cached pages instead (posix_fadvise POSIX_FADV_DONTNEED) once, when it
// opens it: the first reads then go to the device, and later ones hit
// the cache more and more as the run fills it. Where the file lives in
// memory (tmpfs), nothing can miss the cache: the mode says so, and
// block:DURATION is the lesson that holds there.
//
// The data file may also be a named pipe (mkfifo): each read then waits
// until someone writes as many bytes into it, a disk as slow as you like,
// held by hand (head -c 4096 /dev/zero > PIPE answers one read). The
// tests hold a read in flight that way.
package disk

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// FileSize is the data file's size: far more than any read, so that
// random offsets rarely repeat, and small enough to create in a second or
// two on a laptop's disk.
const FileSize = 256 << 20

// fileSize is FileSize, which the tests make smaller.
var fileSize = FileSize

// Align is the alignment of every read's offset, length and buffer: what
// O_DIRECT asks of them on the usual 4 KiB-sector devices (512 bytes on
// others, which 4 KiB satisfies too).
const Align = 4096

// MaxRead bounds one read.
const MaxRead = 16 << 20

// Mode says how a file's reads miss the page cache.
type Mode string

const (
	// Direct: opened with O_DIRECT; every read goes to the device.
	Direct Mode = "direct"
	// Dropped: O_DIRECT refused; the cached pages were dropped at open,
	// and reads go to the device until the run fills the cache again.
	Dropped Mode = "dropped"
	// Cached: the file is in memory (tmpfs); no read reaches a device.
	Cached Mode = "cached"
	// Pipe: a named pipe; each read waits for a writer's bytes.
	Pipe Mode = "pipe"
)

// File is an open data file.
type File struct {
	// Path is where it is.
	Path string
	// Mode says how its reads miss the cache.
	Mode Mode
	// Latency is the median time of a few reads made as it opened: the
	// device's read latency, as this process sees it.
	Latency time.Duration

	fd      int
	buffers sync.Pool // *[]byte of an aligned buffer, for Read
}

// DefaultPath is where the data file goes unless -data-file says
// otherwise: the user's cache directory, which is on a disk, unlike /tmp
// on many systems (tmpfs).
func DefaultPath() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "iolab", "disk.dat")
}

// CheckSize reports what is wrong with n as the size of one read.
func CheckSize(n int) error {
	switch {
	case n < Align || n%Align != 0:
		return fmt.Errorf("%d bytes is not a whole number of 4 KiB blocks (O_DIRECT reads whole blocks): try 4KiB, 64KiB or 1MiB", n)
	case n > MaxRead:
		return fmt.Errorf("%d bytes is more than one read of at most 16 MiB", n)
	}
	return nil
}

var (
	openMu sync.Mutex
	opened = map[string]*File{}
)

// Open returns the data file at path, creating it first if it is missing
// or short, for reads of size bytes. A process opens each path once and
// keeps it open for its life, as it does its log: every server of the
// process (a test runs many) shares it.
func Open(path string, size int) (*File, error) {
	if err := CheckSize(size); err != nil {
		return nil, err
	}
	openMu.Lock()
	defer openMu.Unlock()
	if f, ok := opened[path]; ok {
		return f, nil
	}
	var f *File
	var err error
	if st, serr := os.Stat(path); serr == nil && st.Mode()&os.ModeNamedPipe != 0 {
		f, err = openPipe(path)
	} else if err = create(path); err == nil {
		if f, err = open(path); err == nil {
			f.Latency = f.probe(size)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("data file %s: %w", path, err)
	}
	opened[path] = f
	return f, nil
}

// openPipe opens the named pipe at path for reading and writing: a
// reader with no writer would read the end of the stream at once, so the
// process holds the writing end itself, and a read waits for bytes.
func openPipe(path string) (*File, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return &File{Path: path, Mode: Pipe, fd: fd}, nil
}

// create writes a data file of FileSize at path unless one is there.
// The bytes are random, so that no layer below can skip them as zeros.
// It writes to a temporary name and renames, so that a half-written file
// is never taken for a whole one.
func create(path string) error {
	if st, err := os.Stat(path); err == nil && st.Size() >= int64(fileSize) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	block := make([]byte, 1<<20)
	rng := rand.NewChaCha8([32]byte{'i', 'o', 'l', 'a', 'b'})
	for written := 0; written < fileSize; written += len(block) {
		_, _ = rng.Read(block)
		if _, err := tmp.Write(block); err != nil {
			tmp.Close()
			return err
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// probe times a few reads of size bytes and returns the median.
func (f *File) probe(size int) time.Duration {
	times := make([]time.Duration, 9)
	for i := range times {
		start := time.Now()
		_ = f.Read(size)
		times[i] = time.Since(start)
	}
	slices.Sort(times)
	return times[len(times)/2]
}

// Fd returns the file's descriptor, for a model that reads it its own way
// (uring submits the read to the kernel).
func (f *File) Fd() int { return f.fd }

// Offset returns a random offset for a read of size bytes, aligned as
// O_DIRECT asks; -1, the stream's own position, for a pipe.
func (f *File) Offset(size int) int64 {
	if f.Mode == Pipe {
		return -1
	}
	return rand.Int64N(int64((fileSize-size)/Align)+1) * Align
}

// Read reads size bytes at a random offset into a buffer of its own,
// blocking the calling thread in pread(2) until the device answers.
func (f *File) Read(size int) error {
	p, _ := f.buffers.Get().(*[]byte)
	if p == nil || len(*p) < size {
		b := Buffer(size)
		p = &b
	}
	defer f.buffers.Put(p)
	buf := (*p)[:size]
	for {
		var n int
		var err error
		if f.Mode == Pipe {
			n, err = unix.Read(f.fd, buf)
		} else {
			n, err = unix.Pread(f.fd, buf, f.Offset(size))
		}
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return os.NewSyscallError("pread", err)
		case n < size:
			return fmt.Errorf("pread: %d of %d bytes", n, size)
		}
		return nil
	}
}

// Buffer returns a buffer of n bytes aligned as O_DIRECT asks: a slice of
// a larger one, started at an aligned address (Go's heap does not move
// what it has allocated).
func Buffer(n int) []byte {
	b := make([]byte, n+Align)
	off := Align - int(uintptr(unsafe.Pointer(unsafe.SliceData(b)))%Align)
	if off == Align {
		off = 0
	}
	return b[off : off+n : off+n]
}
