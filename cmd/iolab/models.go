package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"iolab/models"
)

func modelsCommand() (*flag.FlagSet, func([]string, io.Writer, io.Writer) error) {
	fs := flag.NewFlagSet("models", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: iolab models\n\nLists each server model, how it waits for I/O, what it does at its limits, where its code is,\n"+
			"and why it cannot serve here if it cannot. The text is wrapped to the terminal's width (80 columns\nwhen stdout is not a terminal).")
		examples(fs.Output(), "iolab models", "iolab models | less")
	}
	return fs, func(args []string, stdout, _ io.Writer) error {
		if len(args) > 0 {
			return badUsage("unexpected argument %q", args[0])
		}
		width := termWidth(stdout)
		for _, m := range models.All() {
			writeWrapped(stdout, width, m.Name, m.Waits)
			writeWrapped(stdout, width, "", "limits: "+m.Limits)
			writeWrapped(stdout, width, "", "code: "+m.Source)
			if err := m.Usable(); err != nil {
				writeWrapped(stdout, width, "", "unavailable here: "+withoutPrefix(err.Error()))
			}
		}
		return nil
	}
}

// nameColumn is the width of the models' name column, space included.
const nameColumn = 11

// writeWrapped writes name in the name column and text beside it, wrapped
// at word boundaries to width columns, its continuation lines indented
// under its first.
func writeWrapped(w io.Writer, width int, name, text string) {
	room := max(width-nameColumn, 20)
	line := ""
	first := true
	flush := func() {
		label := ""
		if first {
			label = name
		}
		fmt.Fprintf(w, "%-*s%s\n", nameColumn, label, line)
		first, line = false, ""
	}
	for _, word := range strings.Fields(text) {
		if line != "" && len([]rune(line))+1+len([]rune(word)) > room {
			flush()
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	flush()
}

// termWidth returns the width of the terminal w is, or 80 if it is not a
// terminal.
func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok && isTerminal(w) {
		if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil && ws.Col > 0 {
			return int(ws.Col)
		}
	}
	return 80
}
