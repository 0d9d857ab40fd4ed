package child

import (
	"context"
	"os"
	"sync"
	"syscall"
	"time"

	"iolab/models"
	"iolab/models/proc"
)

// Pool is a parent's set of children that serve on descriptors it hands
// them: the prefork model's workers, all on the one listening socket, and
// reuseport -procs's loop processes, each on its own. The parent serves
// nothing itself. It starts the children (Start) and waits until they are
// up (AwaitReady); while it serves, it starts a new child on the same
// files when one exits (Supervise); at shutdown it stops them all (Stop).
//
// Each child tells the pool on its stdout when it is up (Ready), and a
// prefork worker also when it takes a client and when it lets one go
// (Busy, Idle), so that the parent knows how many are busy, as Apache's
// scoreboard lets its parent know.
//
// Start, AwaitReady, Supervise and Stop are for the parent's goroutine
// alone.
type Pool struct {
	role    string
	cfg     *models.Config
	spec    Spec
	spawner *Spawner
	onBusy  func(n int, more bool) // nil: nobody counts
	exited  chan *member           // a child has exited, not asked to
	quit    chan struct{}          // closed when Stop begins: exits are expected

	mu      sync.Mutex
	members map[*member]bool // running; guarded by mu
	busy    int              // members serving a client, as they tell; guarded by mu
}

// member is one child of a pool, as the parent sees it.
type member struct {
	child *Child
	files []*os.File // what it serves on, and its replacement will
	busy  bool       // guarded by Pool.mu
}

// NewPool returns an empty pool of children in role, each to serve spec,
// for a parent that serves cfg and keeps its totals in stats
// (NewSpawner). busy, if not nil, hears how many children are busy each
// time a child's Busy or Idle changes the count, and whether it rose
// (more); the calls come one at a time, in order.
func NewPool(role string, cfg *models.Config, stats *models.Stats, spec Spec, busy func(n int, more bool)) *Pool {
	return &Pool{role: role, cfg: cfg, spec: spec, spawner: NewSpawner(cfg, stats), onBusy: busy,
		exited: make(chan *member), quit: make(chan struct{}), members: make(map[*member]bool)}
}

// Start starts one child on files. They stay the caller's to close, once
// the pool is stopped: a child that replaces this one is started on them.
func (p *Pool) Start(files ...*os.File) error {
	m := &member{files: files}
	c, err := p.spawner.Start(p.role, p.spec, files, &Hooks{State: func(busy bool) { p.state(m, busy) }})
	if err != nil {
		return err
	}
	m.child = c
	p.mu.Lock()
	p.members[m] = true
	p.mu.Unlock()
	go p.watch(m)
	return nil
}

// Len returns how many children are running.
func (p *Pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.members)
}

// AwaitReady waits until every child started so far is up (or has
// exited), or ctx is done. A parent calls it before it says that it
// serves: until then a child is still starting its Go runtime, and the
// clients would wait in the accept queue for it.
func (p *Pool) AwaitReady(ctx context.Context) {
	for _, c := range p.children() {
		select {
		case <-c.Ready():
		case <-ctx.Done():
			return
		}
	}
}

// Supervise replaces each child that exits, until ctx is done: it logs
// the exit (child_exit) and starts a new child on the files the dead one
// served; the clients the kernel has queued on them wait for it. A
// replacement that cannot start goes to failed, and the pool serves with
// one child fewer.
func (p *Pool) Supervise(ctx context.Context, failed func(error)) {
	for {
		select {
		case m := <-p.exited:
			p.forget(m)
			models.LogChildExit(p.cfg.Log, p.role, m.child.Pid, m.child.Err())
			if err := p.Start(m.files...); err != nil {
				failed(err)
			}
		case <-ctx.Done():
			return
		}
	}
}

// Stop asks every child to stop (SIGTERM: each stops accepting and
// finishes what it has in flight within its shutdown timeout), waits
// until all have exited, killing those still running a second after that
// timeout, and then ends the spawning thread.
func (p *Pool) Stop() {
	close(p.quit)
	cs := p.children()
	exited := make(chan struct{})
	go func() {
		for _, c := range cs {
			<-c.Done()
		}
		close(exited)
	}()
	signal := func(sig syscall.Signal) {
		for _, c := range cs {
			c.Signal(sig)
		}
	}
	proc.Stop(signal, syscall.SIGTERM, p.cfg.ShutdownTimeout+time.Second, exited)
	p.spawner.Close() // after every child has exited: see Spawner
}

// state counts a child busy or idle, as it tells.
func (p *Pool) state(m *member, busy bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if busy == m.busy {
		return
	}
	m.busy = busy
	if busy {
		p.busy++
	} else {
		p.busy--
	}
	if p.onBusy != nil {
		p.onBusy(p.busy, busy)
	}
}

// watch waits for a child's exit and reports it, unless the parent is
// stopping them all.
func (p *Pool) watch(m *member) {
	<-m.child.Done()
	select {
	case p.exited <- m:
	case <-p.quit:
	}
}

// forget drops a child that has exited.
func (p *Pool) forget(m *member) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.members, m)
	if m.busy {
		p.busy--
	}
}

// children returns the running children.
func (p *Pool) children() []*Child {
	p.mu.Lock()
	defer p.mu.Unlock()
	cs := make([]*Child, 0, len(p.members))
	for m := range p.members {
		cs = append(cs, m.child)
	}
	return cs
}
