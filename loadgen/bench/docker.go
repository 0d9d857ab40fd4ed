package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"iolab/loadgen"
	"iolab/models/proc"
)

// The environments a server can run in.
const (
	// Native: a child process of the bench.
	Native = "native"
	// DockerBridge: a container on Docker's default bridge network, its
	// port published on 127.0.0.1 (docker run -p 127.0.0.1::8000), as the
	// tutorial does with -p 8000:8000. Traffic crosses a veth pair and NAT.
	DockerBridge = "docker-bridge"
	// DockerHost: a container sharing the host's network (--network host):
	// no veth, no NAT.
	DockerHost = "docker-host"
	// DockerInside: the load generator runs inside the server's container
	// (docker exec), on the container's own loopback: the tutorial's test
	// "from inside the container".
	DockerInside = "docker-inside"
)

// Envs lists every environment, in the order they run.
var Envs = []string{Native, DockerBridge, DockerHost, DockerInside}

// DefaultImage is the image `make docker-image` builds.
const DefaultImage = "iolab:local"

// ErrNoDocker is returned when a docker environment is asked for and no
// Docker engine answers.
var ErrNoDocker = errors.New("no Docker engine answers (is dockerd running? see notes/reference/containers.md)")

// checkDocker checks, if any of envs (known ones: see Config.Validate)
// needs Docker, that the engine answers and has the images: image for the
// models, if models run, and each external server's own.
func checkDocker(envs []string, image string, models bool, externals []External) error {
	if !slices.ContainsFunc(envs, func(e string) bool { return e != Native }) {
		return nil
	}
	if exec.Command("docker", "version", "--format", "{{.Server.Version}}").Run() != nil {
		return ErrNoDocker
	}
	need := map[string]string{}
	if models {
		need[image] = "make docker-image"
	}
	for _, e := range externals {
		need[e.Image] = "docker build, or iolab image for a Python server"
	}
	for img, how := range need {
		if out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", img).CombinedOutput(); err != nil {
			return fmt.Errorf("Docker image %s not found (build it with %s): %s", img, how, bytes.TrimSpace(out))
		}
	}
	return nil
}

// dockerFlags returns the docker run command, up to its image, for a
// server named name in env that listens on port in its container; a
// cpuset pins the container, "" leaves it unpinned.
func dockerFlags(cfg *Config, env, name string, port int, cpuset string) []string {
	argv := []string{"docker", "run", "--rm", "--name", name, "--label", cfg.label,
		// Pass SIGTERM (and Ctrl-C) from docker run to the server.
		"--sig-proxy=true"}
	switch env {
	case DockerBridge:
		argv = append(argv, "-p", "127.0.0.1::"+strconv.Itoa(port)) // a free host port, on loopback only
	case DockerHost:
		argv = append(argv, "--network", "host")
	}
	if cpuset != "" {
		argv = append(argv, "--cpuset-cpus", cpuset)
	}
	return argv
}

// dockerRun returns the docker run command for a model's server in env,
// and the serve arguments adjusted for it. The image's entry point is
// `iolab serve -addr :8000`; arguments after the image are added to it,
// and a later -addr wins.
func dockerRun(cfg *Config, env, name string, pin bool, cpus string, serve []string) (argv, args []string) {
	cpuset := ""
	switch env {
	case DockerBridge:
		if pin {
			cpuset = cpus
		}
	case DockerHost:
		serve = append(serve, "-addr", "127.0.0.1:0")
		if pin {
			cpuset = cpus
		}
	case DockerInside:
		// The container gets every CPU; the server and the load generator
		// pin themselves inside it, as they do natively.
		serve = append(serve, "-addr", "127.0.0.1:0")
		if pin {
			serve = append(serve, "-cpus", cpus)
		}
	}
	return append(dockerFlags(cfg, env, name, 8000, cpuset), cfg.Image), serve
}

// externalRun returns the docker run command for external server e in
// env, listening on port in its container: e's image, with its own
// command. The container is not pinned: the bench pins the server's
// process from the host, as it does natively (startExternal).
//
// --init makes Docker's init (tini) the container's PID 1 and the server
// its child. A PID 1 gets no signal it has not set a handler for, and the
// tutorial's servers set none: as PID 1 they would ignore the SIGTERM
// that stops them natively.
//
// For docker-inside, the bench's own iolab (a static binary, from make
// build) is mounted at /iolab, where loadInside runs the load generator.
func externalRun(cfg *Config, e External, env, name string, port int) []string {
	argv := append(dockerFlags(cfg, env, name, port, ""), "--init", "-e", "PORT="+strconv.Itoa(port))
	if env == DockerInside {
		argv = append(argv, "-v", cfg.Binary+":/iolab:ro")
	}
	return append(argv, e.Image)
}

// locate finds a container's server: its PID on this host, and for the
// bridge, the host port Docker published for port.
func (s *server) locate(env string, port int) error {
	out, err := exec.Command("docker", "inspect", "--format", "{{.State.Pid}}", s.container).Output()
	if err != nil {
		return fmt.Errorf("docker inspect %s: %w", s.container, err)
	}
	if s.pid, err = strconv.Atoi(strings.TrimSpace(string(out))); err != nil || s.pid <= 0 {
		return fmt.Errorf("no host PID for container %s: %q", s.container, out)
	}
	if env != DockerBridge {
		return nil
	}
	out, err = exec.Command("docker", "port", s.container, strconv.Itoa(port)+"/tcp").Output()
	if err != nil {
		return fmt.Errorf("docker port %s: %w", s.container, err)
	}
	// One line per binding, e.g. "127.0.0.1:49153".
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if _, _, err := net.SplitHostPort(line); err != nil {
		return fmt.Errorf("docker port %s: %q", s.container, out)
	}
	s.addr = line
	return nil
}

// locateExternal finds an external server in its container once Docker
// has started it: the child of the container's init (externalRun's
// --init), whose PID replaces the init's.
func (s *server) locateExternal(env string, port int) bool {
	if s.locate(env, port) != nil {
		s.pid = 0
		return false
	}
	kids, err := proc.Descendants(s.pid)
	if err != nil || len(kids) == 0 {
		s.pid = 0
		return false
	}
	s.pid = kids[0] // a direct child comes first
	return true
}

// loadInside runs the load generator inside the server's container with
// docker exec, and reads its JSON results. Without the in-process hooks,
// the measured interval's start and end are marked by the clock.
func loadInside(ctx context.Context, cfg *Config, s *server, lcfg loadgen.Config) (*loadgen.Result, error) {
	argv := []string{"exec", s.container, "/iolab", "load", "-addr", s.addr, "-proto", lcfg.Proto.String(),
		"-clients", strconv.Itoa(lcfg.Clients[0]), "-duration", lcfg.Duration.String(),
		"-warmup", lcfg.Warmup.String(), "-timeout", lcfg.Timeout.String(), "-json", "-"}
	if !cfg.NoPin && len(cfg.LoadCPUs) > 0 {
		argv = append(argv, "-cpus", joinInts(cfg.LoadCPUs))
	}
	begin := time.AfterFunc(lcfg.Warmup, func() { lcfg.Mark(true) })
	defer begin.Stop()
	end := time.AfterFunc(lcfg.Warmup+lcfg.Duration, func() { lcfg.Mark(false) })
	defer end.Stop()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", argv...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	// iolab load exits 1 when no request succeeded, and still writes what
	// it measured: a server that failed every request is a result, which
	// the tables show as such.
	var res loadgen.Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil || len(res.Levels) != 1 {
		if runErr != nil {
			return nil, fmt.Errorf("load inside %s: %v: %s", s.container, runErr, bytes.TrimSpace(stderr.Bytes()))
		}
		return nil, fmt.Errorf("load inside %s: unreadable results: %v", s.container, err)
	}
	return &res, nil
}

// removeContainer removes one container, if it is still there.
func removeContainer(name string) {
	_ = exec.Command("docker", "rm", "-f", name).Run()
}

// removeContainers removes every container carrying label, running or not.
func removeContainers(label string) {
	out, err := exec.Command("docker", "ps", "-aq", "--filter", "label="+label).Output()
	if err != nil {
		return // no Docker here, so no containers either
	}
	for _, id := range strings.Fields(string(out)) {
		removeContainer(id)
	}
}
