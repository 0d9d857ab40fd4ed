//go:build !linux

package loadgen

import (
	"context"
	"errors"
)

// Run is implemented for Linux only: the load generator's event loops are
// written on epoll(7).
func Run(context.Context, Config) (*Result, error) {
	return nil, errors.New("loadgen: the load generator needs Linux (epoll)")
}
