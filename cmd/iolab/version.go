package main

import (
	"flag"
	"fmt"
	"io"

	"iolab/loadgen/version"
)

func versionCommand() (*flag.FlagSet, func([]string, io.Writer, io.Writer) error) {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: iolab version\n\nPrints the version of this build, its VCS commit (+dirty if the tree had\n"+
			"uncommitted changes) and the Go version that built it. Every JSON result\nrecords the same version.")
		examples(fs.Output(), "iolab version", "iolab -version")
	}
	return fs, func(args []string, stdout, _ io.Writer) error {
		if len(args) > 0 {
			return badUsage("unexpected argument %q", args[0])
		}
		v := version.Read()
		fmt.Fprintf(stdout, "iolab %s\n", v.Version)
		if v.Commit != "" {
			dirty := ""
			if v.Modified {
				dirty = "+dirty"
			}
			fmt.Fprintf(stdout, "commit %s%s", v.Commit, dirty)
			if v.Time != "" {
				fmt.Fprintf(stdout, " (%s)", v.Time)
			}
			fmt.Fprintln(stdout)
		} else {
			fmt.Fprintln(stdout, "commit unknown: the go command stamps it when it builds in a git clone, not in a linked\n"+
				"worktree (golang/go#58218), nor with -buildvcs=false, go run or go test")
		}
		fmt.Fprintf(stdout, "%s\n", v.Go)
		return nil
	}
}
