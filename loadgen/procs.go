package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"iolab/models/proc"
)

// Share returns process i's share of cfg when n load processes run it at
// once: its part of every level's clients, of the rate and of the request
// budget. It fails if a level has fewer clients than processes.
func (c *Config) Share(i, n int) (Config, error) {
	share := *c
	share.Clients = make([]int, len(c.Clients))
	for j, total := range c.Clients {
		if total < n {
			return share, fmt.Errorf("%d load processes for a level of %d clients: want at most one process per client", n, total)
		}
		share.Clients[j] = total/n + btoi(i < total%n)
	}
	share.Rate = c.Rate / float64(n)
	share.ConnectRate = c.ConnectRate / float64(n)
	if c.Requests > 0 {
		share.Requests = (c.Requests + int64(n) - 1) / int64(n)
	}
	share.Progress, share.Mark = nil, nil
	return share, nil
}

// RunProcs runs cfg in n load processes at once, each the program exe
// started as `exe load FLAGS -json -` with its Share of the load, each
// with its own limit of open files: together they hold more connections
// than one process may. cpus, if set, are shared out among them, each
// process pinned to its part (or to one of them, if they are fewer than
// the processes). Their results are merged exactly (Merge). On cancel,
// each is asked to stop as a user would (SIGINT), and what it measured
// comes back all the same; a process outlives neither its parent nor its
// run.
func RunProcs(ctx context.Context, exe string, cfg Config, n int, cpus []int) (*Result, error) {
	argvs := make([][]string, n)
	for i := range n {
		share, err := cfg.Share(i, n)
		if err != nil {
			return nil, err
		}
		argv := append([]string{"load"}, share.Args()...)
		if len(cpus) > 0 {
			var mine []string
			for j, c := range cpus {
				if j%n == i {
					mine = append(mine, strconv.Itoa(c))
				}
			}
			if len(mine) == 0 {
				mine = []string{strconv.Itoa(cpus[i%len(cpus)])}
			}
			argv = append(argv, "-cpus", strings.Join(mine, ","))
		}
		argvs[i] = append(argv, "-json", "-")
	}
	results := make([]*Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i], errs[i] = runProcess(ctx, exe, argvs[i]) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("load process %d of %d: %w", i+1, n, err)
		}
	}
	return Merge(results...)
}

// runProcess runs one `iolab load -json -` and reads its results.
func runProcess(ctx context.Context, exe string, argv []string) (*Result, error) {
	// Cancelled, it is asked to stop as Ctrl-C would, and still writes
	// what it measured; killed if it has not exited 10 s later.
	cmd := proc.Command(ctx, syscall.SIGINT, 10*time.Second, exe, argv...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var r Result
	if jerr := json.Unmarshal(out.Bytes(), &r); jerr != nil || len(r.Levels) == 0 {
		if err == nil {
			err = jerr
		}
		return nil, fmt.Errorf("%v: %s", err, strings.TrimSpace(errOut.String()))
	}
	return &r, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
