package bench

import (
	"context"
	"net"
	"time"

	"iolab/loadgen"
	"iolab/models"
	"iolab/models/proc"
)

// One measurement: runOne drives the load at one level against a server
// already started, reads the server's footprint and the kernel's counters
// at the two edges of the measured interval (the load generator's Mark),
// and stops the server. loadProcs marks that interval by the clock when
// the load runs in separate processes.

// runOne measures the server srv, started for run, at one level, and
// stops it.
func (cfg *Config) runOne(ctx context.Context, sc Scenario, srv *server, run Measurement, progress func(loadgen.Progress)) (Measurement, error) {
	run.Workers = srv.workers
	run.DiskMode, run.DiskReadMicros = srv.diskMode, srv.diskReadUs
	sampler := startSampler(srv.pid)
	var start, end proc.Sample
	var kernelBefore, kernelAfter proc.TCPCounters
	lcfg := cfg.loadConfig(sc, srv.addr, run.Clients)
	lcfg.Progress = progress
	var memBefore proc.KernelMemory
	var rssBefore int64
	if sc.Held { // before the first client
		memBefore = proc.ReadKernelMemory()
		if ps, err := proc.ReadTree(srv.pid); err == nil {
			rssBefore = ps.RSSAnon
		}
	}
	var waitBefore map[int]int64
	var counter *syscallCounter
	var kernelErr error
	lcfg.Mark = func(measuring bool) {
		sampler.measuring(measuring)
		ps, _ := proc.ReadTree(srv.pid)
		tree := func() []int {
			kids, _ := proc.Descendants(srv.pid)
			return append([]int{srv.pid}, kids...)
		}
		if measuring {
			start, kernelBefore = ps, proc.ReadTCPCounters()
			waitBefore = runQueueWait(tree())
			switch {
			case srv.perf != nil:
				kernelErr = srv.perf.command("enable")
			case cfg.Syscalls: // in a container: attach to it
				counter, kernelErr = startSyscalls(tree)
			}
			return
		}
		end, kernelAfter = ps, proc.ReadTCPCounters()
		if sc.Held {
			run.Memory = &ConnMemory{RSSBefore: rssBefore, RSSHeld: ps.RSSAnon,
				KernelBefore: memBefore, KernelHeld: proc.ReadKernelMemory()}
		}
		run.Server.RunQueueWaitNs = waitDelta(waitBefore, runQueueWait(tree()))
		switch {
		case srv.perf != nil:
			if err := srv.perf.command("disable"); err != nil && kernelErr == nil {
				kernelErr = err
			}
		case counter != nil:
			run.Syscalls, kernelErr = counter.stop()
		}
		if run.Env == Native || run.Env == DockerHost { // ss sees this network namespace only
			if _, port, err := net.SplitHostPort(srv.addr); err == nil {
				run.Sockets, _ = readSocketMemory(port)
			}
		}
	}
	var res *loadgen.Result
	var loadErr error
	switch {
	case run.Env == DockerInside:
		res, loadErr = loadInside(ctx, cfg, srv, lcfg)
	case sc.PerLoadProcess > 0:
		res, loadErr = cfg.loadProcs(ctx, lcfg, (run.Clients+sc.PerLoadProcess-1)/sc.PerLoadProcess)
	default:
		res, loadErr = loadgen.Run(ctx, lcfg)
	}
	samples := sampler.stop()
	var life Lifetime
	var stopErr error
	if srv.external {
		life, stopErr = srv.stopExternal()
		life.Requests = externalRequests(res) // it logs no stop event
	} else {
		life, stopErr = srv.stop()
		run.Loops = srv.loops // from the stop event, once the server has stopped
		run.LimitAt = srv.limitAt
		if srv.perf != nil { // perf wrote its counts as it exited, after the server
			var err error
			if run.Syscalls, err = srv.perf.counts(); err != nil && kernelErr == nil {
				kernelErr = err
			}
			srv.perf.close()
		}
	}
	if loadErr != nil {
		return run, loadErr
	}
	run.Load = res.Levels[0]
	run.Kernel = kernelAfter.Sub(kernelBefore)
	wait := run.Server.RunQueueWaitNs
	run.Server = summarizeServer(samples, start, end, run.Load.Seconds, life)
	run.Server.RunQueueWaitNs = wait
	if stopErr == nil && kernelErr != nil {
		stopErr = kernelErr
	}
	return run, stopErr
}

// loadConfig returns the load generator's configuration for one level of
// sc: n clients against addr.
func (cfg *Config) loadConfig(sc Scenario, addr string, n int) loadgen.Config {
	lcfg := loadgen.DefaultConfig()
	lcfg.Addr, lcfg.Proto, lcfg.Clients = addr, sc.Proto, []int{n}
	lcfg.Duration, lcfg.Warmup, lcfg.Timeout = cfg.Duration, max(cfg.Warmup, sc.Warmup), cfg.timeout(sc)
	if sc.Heavy > 0 {
		lcfg.Heavy, lcfg.HeavyMark = sc.Heavy, sc.Mark
	}
	if sc.Proto == models.Echo && cfg.Engine != "" {
		lcfg.Engine = cfg.Engine
	}
	if sc.Every > 0 {
		lcfg.Rate = float64(n) / sc.Every.Seconds()
	}
	if sc.ConnectIn > 0 {
		lcfg.ConnectRate = float64(n) / sc.ConnectIn.Seconds()
	}
	lcfg.Sources, _ = loadgen.ParseSources(sc.Sources) // Validate has parsed them
	return lcfg
}

// loadProcs runs the load of lcfg in n `iolab load` processes
// (loadgen.RunProcs), pinned to the load generator's CPUs. They have no
// Mark to call, so the measured interval is marked by the clock: it
// begins one warm-up after they start, and ends one duration later, or
// when they are done.
func (cfg *Config) loadProcs(ctx context.Context, lcfg loadgen.Config, n int) (*loadgen.Result, error) {
	mark := lcfg.Mark
	lcfg.Mark, lcfg.Progress = nil, nil
	done, marked := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(marked)
		select {
		case <-time.After(lcfg.Warmup):
		case <-done:
			return
		}
		mark(true)
		select {
		case <-time.After(lcfg.Duration):
		case <-done:
		}
		mark(false)
	}()
	res, err := loadgen.RunProcs(ctx, cfg.Binary, lcfg, n, cfg.LoadCPUs)
	close(done)
	<-marked
	return res, err
}
