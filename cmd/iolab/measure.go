package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// measure is what load and bench do around their library call, written
// once. run measures, with a context that SIGINT (Ctrl-C) or SIGTERM
// cancels; live tells it whether stderr is a terminal, where it may draw a
// progress line, which measure erases afterwards. If measured says res
// holds anything, write writes it, also after Ctrl-C: a long run cut short
// keeps what it finished. After Ctrl-C the error is "interrupted; " and
// then kept, which says where what was measured is.
func measure[R any](stderr io.Writer, run func(ctx context.Context, live bool) (R, error),
	measured func(R) bool, write func(R) error, kept string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	live := isTerminal(stderr)
	res, err := run(ctx, live)
	// From here a second Ctrl-C stops the process at once, as by default.
	stop()
	if live {
		fmt.Fprint(stderr, clearLine)
	}
	if measured(res) {
		if werr := write(res); werr != nil {
			return werr
		}
	}
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted; " + kept)
	}
	return err
}

// clearLine returns to the start of a terminal line and erases it.
const clearLine = "\r\033[K"
