package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"iolab/loadgen/bench"
)

func imageCommand() (*flag.FlagSet, func([]string, io.Writer, io.Writer) error) {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	base := fs.String("base", bench.TutorialBase, "the image the Dockerfile starts FROM, used if Docker has it or can pull it")
	fallback := fs.String("fallback", bench.FallbackBase, "the image built from this machine's python3, FROM scratch, when -base cannot be had")
	repo := fs.String("repo", "iolab-tutorial", "each server's image is REPO:NAME, NAME its file's name without .py")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: iolab image [flags] SERVER.py...\n\n"+
			"Builds an image of each Python server from the Dockerfile beside it (notes/tutorial/Dockerfile,\n"+
			"the tutorial's Experiment 2), FROM -base if Docker has it or can pull it, else FROM an image of\n"+
			"this machine's own python3, built offline. Prints which base it used and its Python version.\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprintln(fs.Output(), "\nExit status: 0 when every image was built, 1 when one was not (no Docker engine, a failed build), 2 for a usage error.")
		examples(fs.Output(),
			"iolab image notes/tutorial/servidor_sem_thread.py notes/tutorial/servidor_com_thread.py",
			"docker run --rm -p 127.0.0.1:8000:8000 iolab-tutorial:servidor_sem_thread")
	}
	return fs, func(args []string, stdout, _ io.Writer) error {
		if len(args) == 0 {
			return badUsage("no server: name a Python file, such as notes/tutorial/servidor_sem_thread.py")
		}
		for _, a := range args {
			if !strings.HasSuffix(a, ".py") {
				return badUsage("%q is not a Python file (.py)", a)
			}
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		py, err := bench.PythonBase(ctx, *base, *fallback)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "base image: %s\n", py)
		for _, server := range args {
			tag := *repo + ":" + strings.TrimSuffix(filepath.Base(server), ".py")
			if err := bench.BuildServer(ctx, py, server, tag); err != nil {
				return fmt.Errorf("%s: %w", server, err)
			}
			fmt.Fprintf(stdout, "image %s: %s FROM %s (%s)\n", tag, server, py.Image, py.Version)
		}
		return nil
	}
}
