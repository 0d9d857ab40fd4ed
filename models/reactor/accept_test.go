package reactor_test

import (
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"iolab/models"
)

// TestNewcomersWhileLoopsAreBusy: clients that connect while every loop
// is busy with other clients must all be answered soon, counted in the
// busy clients' requests rather than in seconds (the machine may be
// loaded). gnet alone accepts one connection per pass over the ready
// connections (accept.go): with busy clients on every pass, newcomers
// would each wait a pass, and the last of them about newcomers/loops
// passes, the answers to busy × newcomers/loops busy requests; OnOpen's
// accepting ahead takes up to acceptAhead (64) per pass.
func TestNewcomersWhileLoopsAreBusy(t *testing.T) {
	const (
		busy      = 32  // clients that always have a line waiting
		newcomers = 160 // clients that connect at once, with one line each
	)
	var work atomic.Int64       // requests begun, busy or not
	warm := make(chan struct{}) // closed once the busy clients were answered a few times over
	s := start(t, func(cfg *models.Config) {
		// A millisecond of cpu per request makes a pass over the busy
		// clients last about busy/loops ms.
		cfg.Work = models.Work{Kind: models.CPU, D: time.Millisecond}
		cfg.OnWork = func() {
			if work.Add(1) == 4*busy {
				close(warm)
			}
		}
	})

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range busy {
		c := s.dial(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			line := fmt.Sprintf("busy %d\n", i)
			got := make([]byte, len(line))
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.Write([]byte(line)); err != nil {
					t.Errorf("busy %d: %v", i, err)
					return
				}
				if _, err := io.ReadFull(c, got); err != nil || string(got) != line {
					t.Errorf("busy %d: got %q, %v", i, got, err)
					return
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	select { // every loop is busy
	case <-warm:
	case <-time.After(patience):
		t.Fatal("the busy clients are not answered")
	}

	before := work.Load()
	var late sync.WaitGroup
	for i := range newcomers {
		late.Add(1)
		go func() {
			defer late.Done()
			c, err := net.DialTimeout("tcp", s.addr, patience)
			if err != nil {
				t.Errorf("newcomer %d: %v", i, err)
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(patience))
			line := fmt.Sprintf("newcomer %d\n", i)
			got := make([]byte, len(line))
			if _, err := c.Write([]byte(line)); err == nil {
				_, err = io.ReadFull(c, got)
			}
			if string(got) != line {
				t.Errorf("newcomer %d: got %q, %v", i, got, err)
			}
		}()
	}
	late.Wait()
	busyWork := work.Load() - before - newcomers
	// Without accepting ahead: about busy × newcomers / loops (2,560 with
	// two loops, measured 2,355 to 2,750; 5,120 with one). With it, a few
	// passes, plus the time the newcomers' own dials take: measured 238 to
	// 443 with two loops, under -race.
	limit := int64(busy * newcomers / 4)
	t.Logf("%d busy requests while %d newcomers were answered (limit %d)", busyWork, newcomers, limit)
	if busyWork > limit {
		t.Errorf("the busy clients made %d requests while %d newcomers waited for their answers; want at most %d: newcomers wait in the accept queue",
			busyWork, newcomers, limit)
	}
}
