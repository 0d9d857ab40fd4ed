//go:build !linux

package uring

import "fmt"

// Available reports that io_uring(7) exists only on Linux.
func Available() error {
	return fmt.Errorf("%w: io_uring(7) exists only on Linux", ErrUnavailable)
}
