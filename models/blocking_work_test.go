//go:build linux

package models_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"iolab/models"
)

// TestBlockingReadInFlight holds one request's disk read in flight, on a
// named pipe as the data file, and sends a cheap request on another
// connection meanwhile: the lesson of Flash's paper, asserted on the
// order of events, for every model. A model whose only serving thread
// makes the read (sequential, epoll's loop) answers nobody until it
// returns: the cheap request is answered after the heavy one. One that
// has another thread or process free (fork, prefork, threads, pool,
// goroutine, workers' helpers) or hands the read to the kernel (uring's
// IORING_OP_READ) answers the cheap request while the read waits. The
// models with a loop per CPU (reuseport, gnet) do either, as the kernel
// places the two connections. Either way nothing is lost: both are
// answered once the read returns.
//
// Only the "not yet" has a window (a short wait that must end without an
// answer); a wrong model would answer within it on any machine not
// stalled for that long, and a right one cannot answer in it at all, so a
// busy machine can hide a bug, never fail a correct model.
func TestBlockingReadInFlight(t *testing.T) {
	const (
		serves = iota // the cheap request is answered while the read waits
		stalls        // it is answered only after the read
		either        // it depends on which loop each connection lands on
	)
	want := map[string]int{"sequential": stalls, "fork": serves, "prefork": serves, "threads": serves,
		"pool": serves, "goroutine": serves, "epoll": stalls, "workers": serves, "reuseport": either,
		"uring": serves, "gnet": either}
	for _, m := range models.All() {
		t.Run(m.Name, func(t *testing.T) {
			s, pipe := slowDisk(t, m, func(c *models.Config) { c.WorkMark = "!" })
			heavy, cheap := s.dial(t), s.dial(t)
			heavy.send(t, "!heavy\n")
			s.awaitWork(t)
			cheap.send(t, "cheap\n")

			answered := make(chan error, 1)
			go func() { answered <- cheap.expectErr("cheap\n") }()
			switch want[m.Name] {
			case serves:
				if err := <-answered; err != nil {
					t.Fatalf("the cheap request while the read is in flight: %v", err)
				}
			case stalls:
				select {
				case err := <-answered:
					t.Fatalf("the cheap request was answered (%v) while the only serving thread was in the read", err)
				case <-time.After(300 * time.Millisecond):
				}
			}
			release(t, pipe)
			heavy.expect(t, "!heavy\n")
			heavy.close() // sequential serves the next connection only then
			if want[m.Name] != serves {
				if err := <-answered; err != nil {
					t.Fatalf("the cheap request after the read: %v", err)
				}
			}
		})
	}
}

// slowServer is a server whose disk work reads a named pipe: each read
// waits until the test writes into it (release).
type slowServer struct {
	*server
	reading chan struct{} // a request's work began
}

// slowDisk serves m, echo with disk work of 4 KiB on the named pipe it
// returns, adjusted by tweak; it skips a model that cannot serve here.
func slowDisk(t *testing.T, m models.Model, tweak func(*models.Config)) (*slowServer, string) {
	t.Helper()
	if err := m.Usable(); err != nil {
		t.Skipf("%s cannot serve here: %v", m.Name, err)
	}
	pipe := filepath.Join(t.TempDir(), "slow-disk")
	if err := unix.Mkfifo(pipe, 0o600); err != nil {
		t.Fatal(err)
	}
	reading := make(chan struct{}, 2)
	s := start(t, m, func(c *models.Config) {
		c.Proto = models.Echo
		c.Work = models.Work{Kind: models.Disk, Size: 4096}
		c.DataFile = pipe
		c.OnWork = func() { reading <- struct{}{} }
		tweak(c)
	})
	return &slowServer{server: s, reading: reading}, pipe
}

// awaitWork waits until a request's work has begun: its read is in flight.
func (s *slowServer) awaitWork(t *testing.T) {
	t.Helper()
	select {
	case <-s.reading:
	case <-time.After(patience):
		t.Fatal("the request's work never began")
	}
}

// release writes one read's worth of bytes into the pipe: the read in
// flight returns.
func release(t *testing.T, pipe string) {
	t.Helper()
	w, err := os.OpenFile(pipe, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Write(make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
}

// TestUringShutdownCancelsARead stops a uring server while a request's
// read waits on a pipe nobody writes: the loop cancels the read
// (IORING_OP_ASYNC_CANCEL) and Serve returns. The models that block a
// thread in that read cannot interrupt it: their shutdown waits for it,
// which is why TestBlockingReadInFlight always writes what it reads.
func TestUringShutdownCancelsARead(t *testing.T) {
	m, err := models.Lookup("uring")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := slowDisk(t, m, func(c *models.Config) { c.ShutdownTimeout = 100 * time.Millisecond })
	s.dial(t).send(t, "never answered\n")
	s.awaitWork(t)
	s.stop(t) // fails the test if Serve does not return within patience
}
