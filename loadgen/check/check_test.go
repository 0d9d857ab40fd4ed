package check

import (
	"bufio"
	"bytes"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"iolab/models"
)

// hostile is a server that misbehaves in one way, for the checks to
// grade: it must end with a graded table, every check failed or not
// applicable, in bounded time.
type hostile struct {
	name  string
	serve func(c net.Conn, n int) // n counts the connections, from 0
	// dieAfter, if not zero, closes the listener and every connection
	// once that many connections have come: a server that dies mid-check.
	dieAfter int
}

var hostiles = []hostile{
	{name: "never answers", serve: func(c net.Conn, _ int) {
		_, _ = bufio.NewReader(c).ReadString(0) // until the client goes
	}},
	{name: "closes at once", serve: func(net.Conn, int) {}},
	{name: "answers garbage", serve: func(c net.Conn, _ int) {
		sc := bufio.NewScanner(c)
		for sc.Scan() {
			if _, err := c.Write([]byte("garbage\n")); err != nil {
				return
			}
		}
	}},
	{name: "dies mid-check", dieAfter: 40, serve: func(c net.Conn, _ int) {
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadBytes('\n')
			if err != nil {
				return
			}
			if _, err := c.Write(line); err != nil {
				return
			}
		}
	}},
}

// listen serves h on an ephemeral port of 127.0.0.1 until the test ends
// (or, for dieAfter, until then), and returns its address.
func (h hostile) listen(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	closeAll := sync.OnceFunc(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	wg.Go(func() {
		for n := 0; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			if h.dieAfter > 0 && n+1 >= h.dieAfter {
				closeAll()
				return
			}
			wg.Go(func() {
				defer c.Close()
				h.serve(c, n)
			})
		}
	})
	t.Cleanup(func() {
		closeAll()
		wg.Wait()
	})
	return ln.Addr().String()
}

// TestHostileServers checks each hostile server at an address, in the
// quick form: a table with every check, none passed but those that do
// not apply, and an end. The bound on the whole run catches a hang, not
// a slow machine: the run itself takes seconds.
func TestHostileServers(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the checks' clients need Linux")
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, h := range hostiles {
		t.Run(h.name, func(t *testing.T) {
			t.Parallel()
			tg := &Target{Addr: h.listen(t), Timeout: time.Second, Grace: time.Second}
			done := make(chan *Report, 1)
			go func() {
				if err := Detect(tg); err != nil {
					t.Errorf("Detect: %v", err)
					done <- nil
					return
				}
				done <- Run(tg, Quick, Battery, nil)
			}()
			var rep *Report
			select {
			case rep = <-done:
			case <-time.After(10 * time.Minute):
				t.Fatal("no end to the checks in 10 minutes: a hang")
			}
			if rep == nil {
				return
			}
			if len(rep.Cells) != len(Battery) {
				t.Fatalf("%d cells for %d checks", len(rep.Cells), len(Battery))
			}
			var b bytes.Buffer
			if err := rep.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			t.Logf("\n%s", b.String())
			for _, c := range rep.Cells {
				if c.Status == OK && h.dieAfter == 0 { // the checks before its death may pass
					t.Errorf("%s passed against a server that %s: %s", c.Scenario, h.name, c.Text)
				}
			}
			if !rep.Failed() || !strings.Contains(b.String(), "FAIL") {
				t.Errorf("nothing failed against a server that %s", h.name)
			}
			if tg.proto() != models.Echo {
				t.Errorf("detected as %v, want echo: the checks a client hopes for", tg.proto())
			}
		})
	}
}
