package bench

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"iolab/models"
)

// The C server: cref/echo.c, iolab's own epoll echo server in C, which the
// bench offers as a server named c-epoll wherever it takes a model's name
// (-models, -pair). It is the yardstick of a paired comparison: what a
// model costs beside a loop with nothing but epoll_wait, read and write.
// The bench builds it with the system's C compiler into the user's cache
// directory, once per version of the source, and runs it as it runs an
// external server (External): pinned, measured, stopped with SIGTERM.

// CServerName is the C server's name in the tables and on the command
// line.
const CServerName = "c-epoll"

// cServerSource is cref/echo.c, built as the bench runs.
//
//go:embed cref/echo.c
var cServerSource []byte

// compileTimeout bounds the C compiler: the file compiles in well under a
// second, so a compiler that takes this long is stuck.
const compileTimeout = time.Minute

// BuildCServer returns the C server's executable, building it first with
// cc -O2 if the cache holds none for this source: the file's name carries
// the source's hash, so an edited source is built again. Where it must be
// built and no C compiler is found, or the compiler fails, the error says
// so in one line.
func BuildCServer() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("%s: no cache directory to build it in: %w", CServerName, err)
	}
	dir := filepath.Join(cache, "iolab")
	sum := sha256.Sum256(cServerSource)
	bin := filepath.Join(dir, CServerName+"-"+hex.EncodeToString(sum[:8]))
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	cc, err := exec.LookPath("cc")
	if err != nil {
		return "", fmt.Errorf("%s needs a C compiler, and there is no cc on PATH (install gcc or clang)", CServerName)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("%s: %w", CServerName, err)
	}
	// Build in a folder of its own and rename into place, so that two
	// benches building at once never run a half-written file.
	tmp, err := os.MkdirTemp(dir, CServerName+"-build-")
	if err != nil {
		return "", fmt.Errorf("%s: %w", CServerName, err)
	}
	defer os.RemoveAll(tmp)
	src, out := filepath.Join(tmp, "echo.c"), filepath.Join(tmp, CServerName)
	if err := os.WriteFile(src, cServerSource, 0o644); err != nil {
		return "", fmt.Errorf("%s: %w", CServerName, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), compileTimeout)
	defer cancel()
	msg, err := exec.CommandContext(ctx, cc, "-O2", "-o", out, src).CombinedOutput()
	if err != nil {
		first, _, _ := strings.Cut(strings.TrimSpace(string(msg)), "\n")
		return "", fmt.Errorf("%s: cc -O2 failed (%v): %s", CServerName, err, first)
	}
	if err := os.Rename(out, bin); err != nil {
		return "", fmt.Errorf("%s: %w", CServerName, err)
	}
	return bin, nil
}

// cServer returns the C server as an external server, built (BuildCServer).
func cServer() (External, error) {
	bin, err := BuildCServer()
	if err != nil {
		return External{}, err
	}
	return External{Name: CServerName, Command: shellQuote(bin) + " {port}"}, nil
}

// shellQuote quotes s for /bin/sh, which runs an external server's command.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// cServerUnsuited says why the C server cannot run scenario sc, or "" if it
// can: it speaks echo only, and does no work per request.
func cServerUnsuited(sc Scenario) string {
	switch {
	case sc.Proto != models.Echo:
		return CServerName + " speaks the echo protocol only"
	case sc.Work.Kind != models.NoWork || sc.Heavy > 0:
		return CServerName + " does no work per request: it runs only where the work is none"
	}
	return ""
}
