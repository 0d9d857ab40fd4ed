package proc

import (
	"errors"
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
		file         string
		utime, stime int64
	}{
		{"server/stat", 250, 731},
		{"stat-cecho.txt", 178, 6186}, // a real one, from the reference server
		{"stat-odd-name.txt", 9, 4},   // parentheses and spaces in the name
	} {
		u, s, err := ParseStat(read(t, tc.file))
		if err != nil || u != tc.utime || s != tc.stime {
			t.Errorf("%s: utime %d stime %d, %v; want %d %d", tc.file, u, s, err, tc.utime, tc.stime)
		}
	}
	if _, _, err := ParseStat(read(t, "stat-short.txt")); !errors.Is(err, ErrFormat) {
		t.Errorf("stat-short.txt: %v, want ErrFormat", err)
	}
}

func TestReadDir(t *testing.T) {
	got, err := ReadDir(filepath.Join("testdata", "server"))
	want := Sample{Threads: 57, RSS: 11264 << 10, UserTicks: 250, SysTicks: 731, FDs: 7}
	if err != nil || got != want {
		t.Errorf("ReadDir: %+v, %v; want %+v", got, err, want)
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
