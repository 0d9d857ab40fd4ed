package main

import (
	"flag"
	"fmt"
	"io"

	"iolab/models"
)

func modelsCommand() (*flag.FlagSet, func([]string, io.Writer, io.Writer) error) {
	fs := flag.NewFlagSet("models", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: iolab models\n\nLists each server model, how it waits for I/O, what it does at its limits, and where its code is.")
	}
	return fs, func(args []string, stdout, _ io.Writer) error {
		if len(args) > 0 {
			return badUsage("unexpected argument %q", args[0])
		}
		for _, m := range models.All() {
			fmt.Fprintf(stdout, "%-10s %s\n%-10s limits: %s\n%-10s code: %s\n", m.Name, m.Waits, "", m.Limits, "", m.Source)
		}
		return nil
	}
}
