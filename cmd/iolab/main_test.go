package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"iolab/models"
)

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"nope"},
		{"help", "nope"},
		{"serve"},
		{"serve", "-bogus"},
		{"serve", "-model", "nope"},
		{"serve", "-model", "epoll", "-proto", "http"},
		{"serve", "-model", "epoll", "-work", "nap:1s"},
		{"serve", "-model", "epoll", "-log-level", "loud"},
		{"serve", "-model", "epoll", "-log-format", "xml"},
		{"serve", "-model", "epoll", "-max-line", "1"},
		{"serve", "-model", "epoll", "-workers", "-1"},
		{"serve", "-model", "epoll", "extra"},
		{"models", "extra"},
		{"load", "-clients", "x"},
		{"load", "-clients", "0"},
		{"load", "-cpus", "z"},
		{"load", "-proto", "http"},
		{"load", "-size", "0"},
		{"load", "-duration", "-1s"},
		{"load", "-warmup", "-1s"},
		{"load", "-timeout", "0s"},
		{"load", "-pipeline", "0"},
		{"load", "-rate", "-1"},
		{"load", "-bogus"},
		{"load", "extra"},
		{"bench", "-bogus"},
		{"bench", "-duration", "0"},
		{"bench", "-warmup", "-1s"},
		{"bench", "-timeout", "0s"},
		{"bench", "-scenario", "nope"},
		{"bench", "-models", "epoll,nope"},
		{"bench", "-env", "nowhere"},
		{"bench", "-env", "docker-host", "-image", ""},
		{"bench", "-clients", "x"},
		{"bench", "-clients", "1,0"},
		{"bench", "-work", "nap:1s"},
		{"bench", "-workers", "-1"},
		{"bench", "-workers", "x"},
		{"bench", "-server-cpus", "z"},
		{"bench", "-load-cpus", "3-1"},
		{"bench", "extra"},
		{"logs", "-interval", "0s"},
		{"logs", "-json"},
		{"merge", "a.json"},
		{"version", "extra"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 2 {
			t.Errorf("iolab %s: exit %d, want 2\n%s", strings.Join(args, " "), code, stderr.String())
		}
		checkUsageError(t, args, stderr.String())
		if stdout.Len() > 0 {
			t.Errorf("iolab %s: wrote to stdout:\n%s", strings.Join(args, " "), stdout.String())
		}
	}
}

// checkUsageError checks the shape of a usage error: one line that names
// the command, one that says where the usage is, and no usage dump.
func checkUsageError(t *testing.T, args []string, stderr string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "iolab") || !strings.HasPrefix(lines[1], "run 'iolab ") {
		t.Errorf("iolab %s: stderr is not one error and one pointer to the usage:\n%s", strings.Join(args, " "), stderr)
	}
	if strings.Contains(stderr, "Usage") {
		t.Errorf("iolab %s: usage dumped on stderr:\n%s", strings.Join(args, " "), stderr)
	}
}

// TestBenchUsageErrorRunsNothing checks that a bad value stops bench
// before it creates its results folder.
func TestBenchUsageErrorRunsNothing(t *testing.T) {
	out := filepath.Join(t.TempDir(), "results")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"bench", "-env", "nowhere", "-out", out}, &stdout, &stderr); code != 2 {
		t.Errorf("exit %d, want 2\n%s", code, stderr.String())
	}
	if want := `unknown environment "nowhere"`; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr does not say %s:\n%s", want, stderr.String())
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("bench created %s", out)
	}
}

// TestMeasure checks the tail load and bench share: what was measured is
// written even after Ctrl-C, nothing is written when nothing was
// measured, and a write error wins.
func TestMeasure(t *testing.T) {
	errWrite, errRun := errors.New("disk full"), errors.New("connection refused")
	for _, tc := range []struct {
		name     string
		res      []int
		runErr   error
		writeErr error
		wrote    bool
		want     string // the error; "" for nil
	}{
		{"complete", []int{1, 2}, nil, nil, true, ""},
		{"interrupted", []int{1}, context.Canceled, nil, true, "interrupted; kept here"},
		{"interrupted before anything", nil, context.Canceled, nil, false, "interrupted; kept here"},
		{"failed", nil, errRun, nil, false, errRun.Error()},
		{"failed after some", []int{1}, errRun, nil, true, errRun.Error()},
		{"write failed", []int{1}, context.Canceled, errWrite, true, errWrite.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			wrote := false
			err := measure(&stderr,
				func(ctx context.Context, live bool) ([]int, error) {
					if ctx.Err() != nil || live {
						t.Errorf("run: ctx.Err() %v, live %v; want nil and false", ctx.Err(), live)
					}
					return tc.res, tc.runErr
				},
				func(res []int) bool { return len(res) > 0 },
				func([]int) error { wrote = true; return tc.writeErr },
				"kept here")
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want || wrote != tc.wrote {
				t.Errorf("error %q, wrote %v; want %q, %v", got, wrote, tc.want, tc.wrote)
			}
			if stderr.Len() > 0 {
				t.Errorf("wrote to a stderr that is not a terminal: %q", stderr.String())
			}
		})
	}
}

func TestModels(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"models"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, name := range models.Names() {
		if !strings.Contains(stdout.String(), name+" ") {
			t.Errorf("iolab models does not list %s:\n%s", name, stdout.String())
		}
	}
}

func TestServeAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, m := range models.All() {
		if m.Usable() != nil {
			continue // it refuses to serve anywhere, with its own message
		}
		var stdout, stderr bytes.Buffer
		code := run([]string{"serve", "-model", m.Name, "-addr", ln.Addr().String()}, &stdout, &stderr)
		if code != 1 || !strings.Contains(stderr.String(), "address already in use") {
			t.Errorf("%s on a taken address: exit %d, stderr %q; want 1 and 'address already in use'", m.Name, code, stderr.String())
		}
	}
}

// TestServeLogsAndStops runs `iolab serve` for each model as a user would,
// at debug level, greets it once, sends SIGINT, and checks the JSON events.
func TestServeLogsAndStops(t *testing.T) {
	for _, m := range models.All() {
		t.Run(m.Name, func(t *testing.T) {
			if err := m.Usable(); err != nil {
				t.Skipf("%s: %v", m.Name, err)
			}
			logs, logw := io.Pipe()
			exit := make(chan int, 1)
			go func() {
				code := run([]string{"serve", "-model", m.Name, "-addr", "127.0.0.1:0", "-log-level", "debug"}, io.Discard, logw)
				logw.Close()
				exit <- code
			}()
			events := make(chan map[string]any, 16)
			go func() {
				defer close(events)
				sc := bufio.NewScanner(logs)
				for sc.Scan() {
					var ev map[string]any
					if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
						t.Errorf("log line is not JSON: %q", sc.Text())
						continue
					}
					if ev["event"] != nil {
						events <- ev
					}
				}
			}()
			next := func(want string) map[string]any {
				t.Helper()
				select {
				case ev := <-events:
					if ev["event"] != want {
						t.Fatalf("event %v, want %s: %v", ev["event"], want, ev)
					}
					return ev
				case <-time.After(10 * time.Second):
					t.Fatalf("no %s event", want)
				}
				return nil
			}

			start := next(models.EventStart)
			for _, field := range []string{"model", "addr", "proto", "work", "backlog", "pid", "gomaxprocs"} {
				if _, ok := start[field]; !ok {
					t.Errorf("start event has no %q: %v", field, start)
				}
			}
			c, err := net.Dial("tcp", start["addr"].(string))
			if err != nil {
				t.Fatal(err)
			}
			greeting, _ := io.ReadAll(c)
			c.Close()
			if string(greeting) != models.DefaultGreeting {
				t.Errorf("greeting %q", greeting)
			}
			next(models.EventConnOpen)
			closed := next(models.EventConnClose)
			for _, field := range []string{"conn", "remote", "tid", "bytes_in", "bytes_out", "requests", "duration_us", "reason"} {
				if _, ok := closed[field]; !ok {
					t.Errorf("%s event has no %q: %v", models.EventConnClose, field, closed)
				}
			}
			if closed["reason"] != "done" || closed["requests"] != 1.0 || closed["tid"] == 0.0 {
				t.Errorf("%s: %v", models.EventConnClose, closed)
			}

			// The start event was logged from inside Serve, after the
			// signal handler was installed, so SIGINT reaches the handler.
			if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			stop := next(models.EventStop)
			if stop["conns"] != 1.0 || stop["requests"] != 1.0 {
				t.Errorf("stop event: %v", stop)
			}
			// The whole life, for iolab bench: the server's own usage,
			// and its reaped children's (none here).
			usage := next(models.EventUsage)
			for _, field := range []string{"user_s", "sys_s", "nvcsw", "nivcsw", "children_user_s", "children_sys_s", "children_nvcsw", "children_nivcsw"} {
				if _, ok := usage[field]; !ok {
					t.Errorf("%s event has no %q: %v", models.EventUsage, field, usage)
				}
			}
			if usage["why"] != models.UsageAtExit {
				t.Errorf("%s event: why %v, want %s", models.EventUsage, usage["why"], models.UsageAtExit)
			}
			if code := <-exit; code != 0 {
				t.Errorf("exit %d after SIGINT, want 0", code)
			}
		})
	}
}

func TestLoadNoServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var stdout, stderr bytes.Buffer
	code := run([]string{"load", "-addr", addr, "-clients", "1", "-duration", "100ms", "-warmup", "0s"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "connection refused at "+addr) {
		t.Errorf("load against nothing: exit %d, stderr %q; want 1 and 'connection refused at %s'", code, stderr.String(), addr)
	}
}

func TestParseCPUs(t *testing.T) {
	for in, want := range map[string]string{"": "[]", "0": "[0]", "0,2": "[0 2]", "1-3": "[1 2 3]", "0,2-3": "[0 2 3]"} {
		got, err := parseCPUs(in)
		if err != nil || fmt.Sprint(got) != want && !(want == "[]" && got == nil) {
			t.Errorf("parseCPUs(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"a", "-1", "3-1", "1-"} {
		if _, err := parseCPUs(bad); err == nil {
			t.Errorf("parseCPUs(%q) accepted it", bad)
		}
	}
}
