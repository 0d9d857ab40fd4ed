package proc

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseStatus(t *testing.T) {
	for _, tc := range []struct {
		file    string
		threads int
		rss     int64
	}{
		{"server/status", 57, 11264 << 10},
		{"status-cp.txt", 1, 2144 << 10},   // a real one, from cp
		{"status-kernel-thread.txt", 1, 0}, // no VmRSS line
	} {
		threads, rss, err := ParseStatus(read(t, tc.file))
		if err != nil || threads != tc.threads || rss != tc.rss {
			t.Errorf("%s: %d threads, %d bytes, %v; want %d, %d", tc.file, threads, rss, err, tc.threads, tc.rss)
		}
	}
	if _, _, err := ParseStatus(read(t, "status-bad.txt")); !errors.Is(err, ErrFormat) {
		t.Errorf("status-bad.txt: %v, want ErrFormat", err)
	}
}

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		file string
		want Stat
	}{
		{"server/stat", Stat{PPID: 4200, UTime: 250, STime: 731}},
		{"stat-cecho.txt", Stat{PPID: 1, UTime: 178, STime: 6186}}, // a real one, from the reference server
		{"stat-odd-name.txt", Stat{PPID: 1, UTime: 9, STime: 4}},   // parentheses and spaces in the name
		{"tree/10/stat", Stat{PPID: 1, UTime: 100, STime: 50, CUTime: 7, CSTime: 3}},
	} {
		got, err := ParseStat(read(t, tc.file))
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", tc.file, got, err, tc.want)
		}
	}
	if _, err := ParseStat(read(t, "stat-short.txt")); !errors.Is(err, ErrFormat) {
		t.Errorf("stat-short.txt: %v, want ErrFormat", err)
	}
}

func TestReadDir(t *testing.T) {
	got, err := ReadDir(filepath.Join("testdata", "server"))
	want := Sample{Procs: 1, Threads: 57, RSS: 11264 << 10, RSSAnon: 5120 << 10, UserTicks: 250, SysTicks: 731, FDs: 7}
	if err != nil || got != want {
		t.Errorf("ReadDir: %+v, %v; want %+v", got, err, want)
	}
}

// TestReadTreeFixture walks a fixture /proc: 10 is the server, 11 its
// child, 12 a grandchild, 13 a zombie child, 14 a child that exited
// between the scan and the read (a stat, no status), 20 a process of
// someone else.
func TestReadTreeFixture(t *testing.T) {
	// A zombie's fd/ is an empty folder, which git cannot hold.
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS(filepath.Join("testdata", "tree"))); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "13", "fd"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pid  int
		want Sample
	}{
		// 10's ticks include 7 and 3 of children it has reaped.
		{10, Sample{Procs: 4, Threads: 6 + 4 + 2 + 1, RSS: (12000 + 8000 + 6000) << 10,
			UserTicks: 100 + 7 + 20 + 5 + 1, SysTicks: 50 + 3 + 10 + 5 + 1, FDs: 5 + 4 + 3}},
		{11, Sample{Procs: 2, Threads: 4 + 2, RSS: (8000 + 6000) << 10, UserTicks: 25, SysTicks: 15, FDs: 7}},
		{20, Sample{Procs: 1, Threads: 9, RSS: 99999 << 10, UserTicks: 500, SysTicks: 500, FDs: 2}},
	} {
		got, err := readTree(root, tc.pid)
		if err != nil || got != tc.want {
			t.Errorf("tree of %d: %+v, %v; want %+v", tc.pid, got, err, tc.want)
		}
	}
	if _, err := readTree(root, 99); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("tree of a process that does not exist: %v, want fs.ErrNotExist", err)
	}
	if _, err := readTree(root, 14); err == nil {
		t.Error("tree of a process that exited during the walk: no error")
	}
}

func TestReadSelf(t *testing.T) {
	s, err := Read(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if s.Threads < 1 || s.RSS <= 0 || s.FDs < 3 {
		t.Errorf("this process: %+v", s)
	}
}

func TestParseKernelMemory(t *testing.T) {
	meminfo := []byte("MemTotal:       24000000 kB\nSlab:             123456 kB\nSReclaimable:      1000 kB\n")
	if got := parseMeminfo(meminfo, "Slab"); got != 123456<<10 {
		t.Errorf("Slab = %d, want %d", got, 123456<<10)
	}
	sockstat := []byte("sockets: used 300\nTCP: inuse 5 orphan 0 tw 2 alloc 7 mem 9\nUDP: inuse 1 mem 2\n")
	if inuse, pages := parseSockstat(sockstat); inuse != 5 || pages != 9 {
		t.Errorf("sockstat = %d, %d; want 5, 9", inuse, pages)
	}
}
