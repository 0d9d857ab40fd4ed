//go:build linux

package disk

import (
	"errors"

	"golang.org/x/sys/unix"
)

// open opens path for reads that miss the cache, as well as its file
// system allows.
func open(path string) (*File, error) {
	f := &File{Path: path, Mode: Direct}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_DIRECT, 0)
	if errors.Is(err, unix.EINVAL) { // the file system has no O_DIRECT
		f.Mode = Dropped
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, err
	}
	f.fd = fd
	var fs unix.Statfs_t
	if unix.Fstatfs(fd, &fs) == nil && fs.Type == unix.TMPFS_MAGIC {
		f.Mode = Cached
	}
	if f.Mode == Dropped {
		_ = unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED)
	}
	return f, nil
}
