package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The tutorial's Experiment 2 runs its Python server in a container built
// FROM python:3.9 (notes/tutorial/Dockerfile). Where Docker has that
// image, or can pull it, the Dockerfile is built as the tutorial gives it.
// Where it cannot (a machine with no registry, like this project's),
// PythonBase builds an equivalent base without pulling anything: this
// machine's own python3, the shared libraries ldd lists for it and for its
// extension modules, and its standard library, copied into a FROM scratch
// image at the paths they have here, with python and python3 on the PATH.
// The tutorial's Dockerfile is then built FROM that image (its BASE
// argument), unchanged otherwise.

// TutorialBase is the image the tutorial's Dockerfile starts from.
const TutorialBase = "python:3.9"

// FallbackBase is the image PythonBase builds from this machine's Python
// when TutorialBase can be neither found nor pulled.
const FallbackBase = "iolab-python:local"

// Every docker command is bounded: a pull over a slow link or a build of
// a large context may take minutes, the rest seconds.
const (
	dockerQuick  = 30 * time.Second
	pullTimeout  = 3 * time.Minute
	buildTimeout = 5 * time.Minute
)

// Python is a base image with Python 3 in it, as PythonBase found or
// built it.
type Python struct {
	// Image is the image to build FROM.
	Image string
	// Version is what python3 --version says inside Image.
	Version string
	// Source, for an image built from this machine's Python, is the
	// interpreter copied into it; "" for one found or pulled.
	Source string
	// Why, with Source, says why it was built: Docker had no TutorialBase
	// and could not pull it.
	Why string
}

// String is the line a run prints about its base image.
func (p Python) String() string {
	if p.Source == "" {
		return fmt.Sprintf("%s (%s)", p.Image, p.Version)
	}
	return fmt.Sprintf("%s (%s), built FROM scratch, offline, from this machine's %s, because %s",
		p.Image, p.Version, p.Source, p.Why)
}

// PythonBase returns a base image with Python 3: want if Docker has it or
// can pull it, else fallback, built from this machine's python3.
func PythonBase(ctx context.Context, want, fallback string) (Python, error) {
	if err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").Run(); err != nil {
		return Python{}, ErrNoDocker
	}
	p := Python{Image: want}
	if _, err := docker(ctx, dockerQuick, "image", "inspect", "--format", "{{.Id}}", want); err != nil {
		if _, err := docker(ctx, pullTimeout, "pull", "-q", want); err != nil {
			host, herr := findPython(ctx)
			if herr != nil {
				return Python{}, fmt.Errorf("%s cannot be pulled (%v), and no image can be built from this machine's Python: %w", want, err, herr)
			}
			if err := buildPython(ctx, host, fallback); err != nil {
				return Python{}, err
			}
			p = Python{Image: fallback, Source: host.Exe,
				Why: fmt.Sprintf("Docker has no %s and could not pull it (%v)", want, err)}
		}
	}
	out, err := docker(ctx, dockerQuick, "run", "--rm", "--label", "iolab.bench=python-version", p.Image, "python3", "--version")
	if err != nil {
		return Python{}, fmt.Errorf("python3 --version in %s: %w", p.Image, err)
	}
	p.Version = strings.TrimSpace(out)
	return p, nil
}

// BuildServer builds the image tag of a Python server, from the Dockerfile
// beside it (notes/tutorial/Dockerfile for the tutorial's servers) FROM
// base: the server's directory is the build context, its file name the
// SERVIDOR argument.
func BuildServer(ctx context.Context, base Python, server, tag string) error {
	dir, file := filepath.Split(filepath.Clean(server))
	if dir == "" {
		dir = "."
	}
	if _, err := os.Stat(filepath.Join(dir, "Dockerfile")); err != nil {
		return fmt.Errorf("no Dockerfile beside %s: %w", server, err)
	}
	if _, err := os.Stat(server); err != nil {
		return err
	}
	_, err := docker(ctx, buildTimeout, "build", "-q", "--build-arg", "BASE="+base.Image,
		"--build-arg", "SERVIDOR="+file, "-t", tag, dir)
	return err
}

// docker runs one docker command, bounded by limit, and returns its
// output; an error carries the last line it wrote.
func docker(ctx context.Context, limit time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	// The classic builder, which needs no buildx plugin (make docker-image).
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return "", fmt.Errorf("docker %s: no answer within %v", args[0], limit)
	}
	if err != nil {
		lines := strings.Split(strings.TrimSpace(stderr.String()+stdout.String()), "\n")
		return "", fmt.Errorf("docker %s: %v: %s", args[0], err, lines[len(lines)-1])
	}
	return stdout.String(), nil
}

// hostPython is this machine's Python 3, as the fallback image copies it.
type hostPython struct {
	Exe     string   `json:"exe"`     // the interpreter, symbolic links resolved
	Stdlib  string   `json:"stdlib"`  // the standard library's directory
	Dynload string   `json:"dynload"` // the extension modules' directory (lib-dynload)
	Libs    []string `json:"-"`       // shared libraries, as ldd names them
}

// askPython prints where python3's parts are, as JSON.
const askPython = `import json, os, sys, sysconfig
print(json.dumps({"exe": os.path.realpath(sys.executable),
    "stdlib": sysconfig.get_paths()["stdlib"],
    "dynload": sysconfig.get_config_var("DESTSHARED") or ""}))`

// findPython asks python3 (the first on the PATH, through a shim such as
// pyenv's if that is what it is) where its interpreter and libraries are,
// and ldd which shared libraries they load.
func findPython(ctx context.Context) (hostPython, error) {
	var hp hostPython
	ctx, cancel := context.WithTimeout(ctx, dockerQuick)
	defer cancel()
	out, err := exec.CommandContext(ctx, "python3", "-c", askPython).Output()
	if err != nil {
		return hp, fmt.Errorf("python3: %w", err)
	}
	if err := json.Unmarshal(out, &hp); err != nil || hp.Exe == "" || hp.Stdlib == "" {
		return hp, fmt.Errorf("python3 says %q: %v", out, err)
	}
	objects := []string{hp.Exe}
	if hp.Dynload != "" {
		modules, _ := filepath.Glob(filepath.Join(hp.Dynload, "*.so"))
		objects = append(objects, modules...)
	}
	for _, obj := range objects {
		out, err := exec.CommandContext(ctx, "ldd", obj).Output()
		if err != nil && obj == hp.Exe {
			return hp, fmt.Errorf("ldd %s: %w", obj, err)
		}
		for _, lib := range lddPaths(string(out)) {
			if !slices.Contains(hp.Libs, lib) {
				hp.Libs = append(hp.Libs, lib)
			}
		}
	}
	return hp, nil
}

// lddLine matches the path of a library in ldd's output: the one after
// "=>", or the loader's, alone at the start of its line.
var lddLine = regexp.MustCompile(`(?m)^\s*(?:\S+\s+=>\s+)?(/\S+)\s+\(0x`)

// lddPaths returns the libraries ldd found, in its order; the vDSO (no
// file) and the ones it did not find are not in it.
func lddPaths(out string) []string {
	var paths []string
	for _, m := range lddLine.FindAllStringSubmatch(out, -1) {
		paths = append(paths, m[1])
	}
	return paths
}

// skipStdlib are the directories of the standard library that a server
// never imports, left out of the image: third-party packages, the
// library's own tests (some 120 MB), the static library for embedding
// Python, the GUI and the installers.
var skipStdlib = []string{"site-packages", "dist-packages", "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "config-*"}

// pythonDockerfile is the fallback image's Dockerfile.
func pythonDockerfile(hp hostPython) string {
	return fmt.Sprintf(`# Written by iolab image: this machine's Python (%s), its standard
# library and the shared libraries it loads, at the paths they have on the
# host, for the tutorial's Dockerfile where python:3.9 cannot be pulled.
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin
CMD ["python3"]
`, hp.Exe)
}

// writePythonContext writes the fallback image's build context into dir:
// its Dockerfile, and in rootfs/ the interpreter, with python and python3
// in /usr/local/bin leading to it, its libraries and its standard library.
func writePythonContext(dir string, hp hostPython) error {
	root := filepath.Join(dir, "rootfs")
	for _, f := range append([]string{hp.Exe}, hp.Libs...) {
		if err := copyFile(f, filepath.Join(root, f)); err != nil {
			return err
		}
	}
	for _, name := range []string{"python", "python3"} {
		link := filepath.Join(root, "usr", "local", "bin", name)
		if _, err := os.Lstat(link); err == nil {
			continue // the interpreter itself is there
		}
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(hp.Exe, link); err != nil {
			return err
		}
	}
	dirs := []string{hp.Stdlib}
	if hp.Dynload != "" && !strings.HasPrefix(hp.Dynload, hp.Stdlib+string(filepath.Separator)) {
		dirs = append(dirs, hp.Dynload)
	}
	for _, d := range dirs {
		if err := copyTree(d, filepath.Join(root, d)); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(pythonDockerfile(hp)), 0o644)
}

// copyTree copies the standard library's directory src to dst, but the
// directories of skipStdlib; symbolic links stay links.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir() && path != src && slices.ContainsFunc(skipStdlib, func(p string) bool {
			ok, _ := filepath.Match(p, d.Name())
			return ok
		}):
			return filepath.SkipDir
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			to, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(to, target)
		case d.Type().IsRegular():
			return copyFile(path, target)
		}
		return nil // a socket or a pipe: nothing Python imports
	})
}

// copyFile copies the file src names, following symbolic links, to dst,
// making its directory; it keeps the mode's permission bits.
func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, st.Mode().Perm())
}

// buildPython builds the fallback image tag from hp, offline.
func buildPython(ctx context.Context, hp hostPython, tag string) error {
	dir, err := os.MkdirTemp("", "iolab-python")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := writePythonContext(dir, hp); err != nil {
		return fmt.Errorf("the image of this machine's Python: %w", err)
	}
	_, err = docker(ctx, buildTimeout, "build", "-q", "-t", tag, dir)
	return err
}
