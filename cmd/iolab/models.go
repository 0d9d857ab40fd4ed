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
		fmt.Fprintln(fs.Output(), "Usage: iolab models\n\nLists each server model, how it waits for I/O, what it does at its limits, where its code is, and why it cannot serve here if it cannot.")
	}
	return fs, func(args []string, stdout, _ io.Writer) error {
		if len(args) > 0 {
			return badUsage("unexpected argument %q", args[0])
		}
		for _, m := range models.All() {
			fmt.Fprintf(stdout, "%-10s %s\n%-10s limits: %s\n%-10s code: %s\n", m.Name, m.Waits, "", m.Limits, "", m.Source)
			if err := m.Usable(); err != nil {
				fmt.Fprintf(stdout, "%-10s unavailable here: %v\n", "", err)
			}
		}
		return nil
	}
}
