package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"iolab/loadgen"
)

// runProcs runs f.procs load generators, this same program started again
// with `iolab load -json -`, each with its share of every level's clients
// (and of -rate, -requests and -cpus), all at once, and merges their
// results exactly (loadgen.Merge). Each process has its own limit of open
// files, so together they can hold more connections than one may.
func (f *loadFlags) runProcs(ctx context.Context, cfg loadgen.Config) (*loadgen.Result, error) {
	cpus, err := parseCPUs(f.cpus)
	if err != nil {
		return nil, badUsage("-cpus: %v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	n := f.procs
	results := make([]*loadgen.Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		var shares []string
		for _, c := range cfg.Clients {
			share := c/n + btoi(i < c%n)
			if share == 0 {
				return nil, badUsage("-procs %d: more processes than the %d clients of a level", n, c)
			}
			shares = append(shares, strconv.Itoa(share))
		}
		argv := []string{"load", "-addr", f.addr, "-proto", f.proto, "-clients", strings.Join(shares, ","),
			"-duration", f.duration.String(), "-warmup", f.warmup.String(), "-timeout", f.timeout.String(),
			"-size", strconv.Itoa(f.size), "-pipeline", strconv.Itoa(f.pipeline), "-json", "-"}
		if f.rate > 0 {
			argv = append(argv, "-rate", strconv.FormatFloat(f.rate/float64(n), 'f', -1, 64))
		}
		if f.requests > 0 {
			argv = append(argv, "-requests", strconv.FormatInt((f.requests+int64(n)-1)/int64(n), 10))
		}
		if f.expect != "" {
			argv = append(argv, "-expect", f.expect)
		}
		if f.sources != "" {
			argv = append(argv, "-source", f.sources)
		}
		if len(cpus) > 0 { // its share of the CPUs, or one of them if they are fewer
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
		wg.Go(func() { results[i], errs[i] = runLoadProcess(ctx, exe, argv) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("load process %d of %d: %w", i+1, n, err)
		}
	}
	return loadgen.Merge(results...)
}

// runLoadProcess runs one `iolab load -json -` and reads its results. On
// Ctrl-C it is asked to stop as the user would (SIGINT), and what it
// measured comes back all the same.
func runLoadProcess(ctx context.Context, exe string, argv []string) (*loadgen.Result, error) {
	cmd := exec.CommandContext(ctx, exe, argv...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = 10 * time.Second
	cmd.SysProcAttr = orphanSignal() // a load process does not outlive this one
	err := cmd.Run()
	var r loadgen.Result
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
