package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"iolab/models"
)

// The container tests run real containers on a real Docker engine. Without
// one they skip, except in CI (CI=true), where they fail.

// testImage is built once, from the repository's Dockerfile, and removed
// when the tests end.
var (
	testImage     = fmt.Sprintf("iolab-test:%d", os.Getpid())
	testImageOnce sync.Once
	testImageErr  error
	testImageUsed bool
)

func TestMain(m *testing.M) {
	code := m.Run()
	if iolabDir != "" {
		os.RemoveAll(iolabDir)
	}
	if testImageUsed {
		_ = exec.Command("docker", "rmi", "-f", testImage).Run()
		// Every container a test started is gone.
		out, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=iolab.bench").Output()
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			fmt.Fprintf(os.Stderr, "containers left behind: %v\n", ids)
			code = 1
		}
	}
	os.Exit(code)
}

// needDocker skips or fails the test when no Docker engine answers.
func needDocker(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the container tests run on Linux")
	}
	if exec.Command("docker", "version", "--format", "{{.Server.Version}}").Run() == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but no Docker engine answers: .ci/run should have installed and started it")
	}
	t.Skip("no Docker engine: to run the container tests, install one (apt-get install docker.io) and start it (dockerd &)")
}

// image builds the test image from the repository's Dockerfile, offline:
// a static iolab in an empty context with the Dockerfile, FROM scratch.
func image(t *testing.T) string {
	t.Helper()
	needDocker(t)
	testImageOnce.Do(func() {
		testImageUsed = true
		dir, err := os.MkdirTemp("", "iolab-image")
		if err != nil {
			testImageErr = err
			return
		}
		defer os.RemoveAll(dir)
		build := exec.Command("go", "build", "-o", filepath.Join(dir, "bin", "iolab"), "iolab/cmd/iolab")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			testImageErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		df, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
		if err != nil {
			testImageErr = err
			return
		}
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), df, 0o644); err != nil {
			testImageErr = err
			return
		}
		cmd := exec.Command("docker", "build", "-q", "-t", testImage, dir)
		cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			testImageErr = fmt.Errorf("docker build: %v\n%s", err, out)
		}
	})
	if testImageErr != nil {
		t.Fatal(testImageErr)
	}
	return testImage
}

// TestImageBuildsOffline checks that the Dockerfile starts from scratch,
// so that building it pulls nothing, and that the image runs iolab.
func TestImageBuildsOffline(t *testing.T) {
	img := image(t)
	df, _ := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	for _, line := range strings.Split(string(df), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && strings.EqualFold(f[0], "FROM") && f[1] != "scratch" {
			t.Errorf("Dockerfile starts FROM %s: building it would pull a base image", f[1])
		}
	}
	out, err := exec.Command("docker", "run", "--rm", "--entrypoint", "/iolab", img, "models").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "epoll") {
		t.Errorf("iolab models in the image: %v\n%s", err, out)
	}
}

// TestContainerModels runs each model in a container on the bridge, its
// port published on 127.0.0.1, and checks the greeting and echo from the
// host, as the tutorial does.
func TestContainerModels(t *testing.T) {
	img := image(t)
	cfg := &Config{Image: img, Envs: []string{DockerBridge}, Timeout: 5 * time.Second, NoPin: true,
		OutDir: t.TempDir(), label: "iolab.bench=test"}
	for _, m := range models.All() {
		t.Run(m.Name, func(t *testing.T) {
			for _, sc := range []Scenario{{Name: "greet", Proto: models.Greeting}, {Name: "echo", Proto: models.Echo}} {
				srv, err := startServer(context.Background(), cfg, sc, entry{model: m.Name, env: DockerBridge}, "1")
				var unavailable *UnavailableError
				if errors.As(err, &unavailable) {
					t.Skipf("%s: %v", sc.Name, err) // uring under a seccomp profile that refuses io_uring (Docker 25 on)
				}
				if err != nil {
					t.Fatalf("%s: %v", sc.Name, err)
				}
				if !strings.HasPrefix(srv.addr, "127.0.0.1:") {
					t.Errorf("published on %s, want 127.0.0.1 only", srv.addr)
				}
				c, err := net.DialTimeout("tcp", srv.addr, 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				if sc.Proto == models.Greeting {
					got, err := io.ReadAll(c)
					if err != nil || string(got) != models.DefaultGreeting {
						t.Errorf("greeting from the container: %q, %v", got, err)
					}
				} else {
					_, _ = c.Write([]byte("do container\n"))
					got, err := bufio.NewReader(c).ReadString('\n')
					if err != nil || got != "do container\n" {
						t.Errorf("echo from the container: %q, %v", got, err)
					}
				}
				c.Close()
				if _, err := srv.stop(); err != nil {
					t.Errorf("%s: stop: %v", sc.Name, err)
				}
			}
		})
	}
}

// TestContainerEnvironment checks that the environment chooses the server,
// as notes/reference/containers.md says: IOLAB_MODEL, IOLAB_PROTO, IOLAB_WORK.
func TestContainerEnvironment(t *testing.T) {
	img := image(t)
	cmd := exec.Command("docker", "run", "--rm", "--label", "iolab.bench=test",
		"-e", "IOLAB_MODEL=threads", "-e", "IOLAB_PROTO=echo", "-e", "IOLAB_WORK=sleep:1ms", img, "-shutdown-timeout", "0s")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stderr).ReadString('\n')
	_ = cmd.Process.Signal(os.Interrupt)
	_ = cmd.Wait()
	for _, want := range []string{`"model":"threads"`, `"proto":"echo"`, `"work":"sleep:1ms"`, `"addr":"[::]:8000"`} {
		if !strings.Contains(line, want) {
			t.Errorf("start event %s lacks %s", line, want)
		}
	}
}

// TestContainerBench runs a tiny bench in three environments and checks
// that each has its row, and that the overhead tables are there.
func TestContainerBench(t *testing.T) {
	img := image(t)
	bin := iolabBinary(t)
	sc, _ := LookupScenario("throughput")
	res, err := Run(context.Background(), Config{
		Binary: bin, Image: img, Scenarios: []Scenario{sc}, Models: []string{"epoll"}, Clients: []int{2},
		Envs: []string{Native, DockerBridge, DockerHost}, Duration: time.Second, Warmup: 200 * time.Millisecond,
		Timeout: time.Second, NoPin: true, OutDir: t.TempDir(),
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	s := &res.Scenarios[0]
	for _, env := range []string{Native, DockerBridge, DockerHost} {
		r := s.find("epoll", env, 2)
		if r == nil || r.Error != "" || r.Load.Throughput <= 0 || r.Server.Life.Requests == 0 || r.Server.ThreadsPeak == 0 {
			t.Errorf("%s: %+v", env, r)
		}
	}
	tables, gs := Tables(s), s.Groups()
	if last := len(tables) - 1; gs[last].Title != overhead.Title || len(tables[last][0].Models) != 2 {
		t.Errorf("want the overhead group last, with two container rows; got %d groups, the last %q", len(tables), gs[last].Title)
	}
}
