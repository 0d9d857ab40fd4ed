//go:build !linux

package disk

import "golang.org/x/sys/unix"

// open opens path. Off Linux there is no O_DIRECT to ask for, nor a way
// here to drop the file's cached pages: its reads may come from the page
// cache, and the mode says so.
func open(path string) (*File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return &File{Path: path, Mode: Cached, fd: fd}, nil
}
