package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTutorialPythonContext checks the build context of the image made of
// this machine's Python, on a fake interpreter: the interpreter and its
// libraries at their own paths, python and python3 leading to it, the
// standard library without its tests and third-party packages, and a
// Dockerfile that pulls nothing.
func TestTutorialPythonContext(t *testing.T) {
	host := t.TempDir()
	write := func(path string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(path), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	hp := hostPython{Exe: filepath.Join(host, "bin", "python3.11"), Stdlib: filepath.Join(host, "lib", "python3.11"),
		Libs: []string{filepath.Join(host, "lib", "libpython3.11.so.1.0"), filepath.Join(host, "libc.so.6")}}
	hp.Dynload = filepath.Join(hp.Stdlib, "lib-dynload")
	for _, f := range append([]string{hp.Exe, filepath.Join(hp.Stdlib, "os.py"), filepath.Join(hp.Dynload, "_socket.so"),
		filepath.Join(hp.Stdlib, "encodings", "utf_8.py"), filepath.Join(hp.Stdlib, "test", "test_os.py"),
		filepath.Join(hp.Stdlib, "site-packages", "numpy", "x.py"), filepath.Join(hp.Stdlib, "config-3.11-x86_64", "libpython3.11.a")}, hp.Libs...) {
		write(f)
	}
	ctx := t.TempDir()
	if err := writePythonContext(ctx, hp); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(ctx, "rootfs")
	for _, f := range append([]string{hp.Exe, filepath.Join(hp.Stdlib, "os.py"), filepath.Join(hp.Dynload, "_socket.so"),
		filepath.Join(hp.Stdlib, "encodings", "utf_8.py")}, hp.Libs...) {
		if b, err := os.ReadFile(filepath.Join(root, f)); err != nil || string(b) != f {
			t.Errorf("%s in the image: %q, %v", f, b, err)
		}
	}
	for _, f := range []string{"test", "site-packages", "config-3.11-x86_64"} {
		if _, err := os.Stat(filepath.Join(root, hp.Stdlib, f)); err == nil {
			t.Errorf("%s is in the image; it should be left out", f)
		}
	}
	if st, err := os.Stat(filepath.Join(root, hp.Exe)); err != nil || st.Mode().Perm()&0o111 == 0 {
		t.Errorf("the interpreter in the image is not executable: %v, %v", st, err)
	}
	for _, name := range []string{"python", "python3"} {
		if to, err := os.Readlink(filepath.Join(root, "usr", "local", "bin", name)); err != nil || to != hp.Exe {
			t.Errorf("/usr/local/bin/%s leads to %q (%v), want %s", name, to, err, hp.Exe)
		}
	}
	df, err := os.ReadFile(filepath.Join(ctx, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var from []string
	for _, line := range strings.Split(string(df), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "FROM" {
			from = append(from, f[1])
		}
	}
	if !slices.Equal(from, []string{"scratch"}) || !strings.Contains(string(df), "COPY rootfs/ /") {
		t.Errorf("Dockerfile starts FROM %v, want scratch alone, with the rootfs copied:\n%s", from, df)
	}
}

// TestTutorialLdd reads ldd's output: libraries found, the loader, and
// neither the vDSO nor a library not found.
func TestTutorialLdd(t *testing.T) {
	out := "\tlinux-vdso.so.1 (0x00007ffd)\n" +
		"\tlibpython3.11.so.1.0 => /opt/py/lib/libpython3.11.so.1.0 (0x00007f50)\n" +
		"\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f50)\n" +
		"\tlibfoo.so.1 => not found\n" +
		"\t/lib64/ld-linux-x86-64.so.2 (0x00007f50)\n"
	want := []string{"/opt/py/lib/libpython3.11.so.1.0", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"}
	if got := lddPaths(out); !slices.Equal(got, want) {
		t.Errorf("lddPaths = %q, want %q", got, want)
	}
}

// TestTutorialExternalWiring checks how the bench runs an external server
// with an image: a row per environment, the docker run of each, and the
// errors for one without an image.
func TestTutorialExternalWiring(t *testing.T) {
	e := External{Name: "sem", Command: "python3 servidor_sem_thread.py", Port: 8000, Image: "iolab-tutorial:sem"}
	envs := []string{Native, DockerBridge, DockerHost, DockerInside}
	cfg := Config{Envs: envs, Externals: []External{e}, NoModels: true, Binary: "/bin/iolab", label: "iolab.bench=t"}
	seed, _ := LookupScenario("seed")
	var rows []string
	for _, en := range cfg.entries(seed) {
		rows = append(rows, en.series)
	}
	if want := []string{"sem (native)", "sem (docker-bridge)", "sem (docker-host)", "sem (docker-inside)"}; !slices.Equal(rows, want) {
		t.Errorf("rows %q, want %q", rows, want)
	}
	for _, c := range []struct {
		env       string
		want, not []string
	}{
		{DockerBridge, []string{"--init", "-p 127.0.0.1::8000", "-e PORT=8000", "--label iolab.bench=t", "iolab-tutorial:sem"}, []string{"--network", "-v", "--cpuset-cpus"}},
		{DockerHost, []string{"--init", "--network host"}, []string{"-p", "-v"}},
		{DockerInside, []string{"--init", "-v /bin/iolab:/iolab:ro"}, []string{"-p", "--network"}},
	} {
		argv := " " + strings.Join(externalRun(&cfg, e, c.env, "n", 8000), " ") + " "
		for _, w := range c.want {
			if !strings.Contains(argv, " "+w+" ") {
				t.Errorf("%s: %s lacks %s", c.env, argv, w)
			}
		}
		for _, w := range c.not {
			if strings.Contains(argv, " "+w+" ") {
				t.Errorf("%s: %s has %s", c.env, argv, w)
			}
		}
		if !strings.HasSuffix(argv, " iolab-tutorial:sem ") {
			t.Errorf("%s: %s does not end with the image (its own command)", c.env, argv)
		}
	}
	cfg.Scenarios, cfg.Duration, cfg.Timeout, cfg.OutDir, cfg.NoPin = []Scenario{seed}, time.Second, time.Second, "out", true
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	cfg.Externals[0].Image = ""
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "-server-image sem=IMAGE") {
		t.Errorf("an external without an image in docker-bridge: %v", err)
	}
	cfg.Externals = nil
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "nothing to run") {
		t.Errorf("no models and no externals: %v", err)
	}
}

// TestTutorialFallbackImage builds the image of this machine's Python,
// FROM scratch and offline, then the tutorial's server FROM it with its
// Dockerfile, runs it on the bridge with its port published on
// 127.0.0.1, and reads one greeting from the host. Nothing is left: the
// container is stopped and the images removed.
func TestTutorialFallbackImage(t *testing.T) {
	needDocker(t)
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3 on this machine to build the image from")
	}
	ctx := context.Background()
	host, err := findPython(ctx)
	if err != nil {
		t.Fatal(err)
	}
	base := Python{Image: fmt.Sprintf("iolab-python-test:%d", os.Getpid()), Source: host.Exe}
	tag := base.Image + "-sem"
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag, base.Image).Run() })
	if err := buildPython(ctx, host, base.Image); err != nil {
		t.Fatal(err)
	}
	if err := BuildServer(ctx, base, filepath.Join("..", "..", "notes", "tutorial", "servidor_sem_thread.py"), tag); err != nil {
		t.Fatal(err)
	}
	e := External{Name: "sem", Command: "python3 servidor_sem_thread.py", Port: 8000, Image: tag}
	cfg := &Config{Envs: []string{DockerBridge}, Externals: []External{e}, NoModels: true, NoPin: true, OutDir: t.TempDir(),
		label: "iolab.bench=test"}
	seed, _ := LookupScenario("seed")
	srv, err := startExternal(ctx, cfg, seed, e, DockerBridge, "1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(srv.addr, "127.0.0.1:") {
		t.Errorf("published on %s, want 127.0.0.1 only", srv.addr)
	}
	got, err := greet(srv.addr)
	if err != nil || got != "Olá, cliente! Você está conectado ao servidor TCP." {
		t.Errorf("greeting from the container: %q, %v", got, err)
	}
	life, err := srv.stopExternal()
	if err != nil {
		t.Errorf("stop: %v", err)
	}
	if !life.SwitchesUnknown {
		t.Errorf("lifetime %+v: a container's context switches cannot be known", life)
	}
	if out, _ := exec.Command("docker", "ps", "-aq", "--filter", "name="+srv.container).Output(); len(out) > 0 {
		t.Errorf("container %s left behind", srv.container)
	}
}

// greet reads one greeting from addr, bounded.
func greet(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}
