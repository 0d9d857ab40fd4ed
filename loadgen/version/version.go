// Package version says which build of iolab is running, from what the go
// command stamps into every binary (runtime/debug.ReadBuildInfo): the
// module's version, the VCS commit and whether the tree had uncommitted
// changes, and the Go version. Results record it, so that a number can be
// traced to the code that measured it.
package version

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Info is what the build says of itself.
type Info struct {
	// Version is the module's version: a tag, a pseudo-version built from
	// the commit, or "devel" when the go command stamped none (go test,
	// go run).
	Version string
	// Commit is the VCS revision, empty if unknown; Modified says the
	// tree had uncommitted changes when it was built.
	Commit   string
	Modified bool
	// Time is the commit's time, RFC 3339, empty if unknown.
	Time string
	// Go is the Go version that built it.
	Go string
}

// Read returns the build's Info.
func Read() Info {
	info := Info{Version: "devel", Go: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return info
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		info.Version = v
	}
	if bi.GoVersion != "" {
		info.Go = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Commit = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		case "vcs.time":
			info.Time = s.Value
		}
	}
	return info
}

// String returns the version, then the commit, shortened to 12 digits and
// marked +dirty if the tree was modified, for results: "v0.0.0-20261207-0ea80f6abcde+dirty",
// or "devel 0ea80f6abcde+dirty".
func (i Info) String() string {
	if i.Version != "devel" || i.Commit == "" {
		return i.Version // a pseudo-version names the commit, and says +dirty itself
	}
	c := i.Commit
	if len(c) > 12 {
		c = c[:12]
	}
	if i.Modified {
		c += "+dirty"
	}
	return strings.Join([]string{i.Version, c}, " ")
}

// String returns Read().String(), what results record as their version.
func String() string { return Read().String() }
