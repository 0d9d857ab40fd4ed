// Package all links every model into the registry of package models.
// Import it for its side effect: import _ "iolab/models/all".
package all

import (
	_ "iolab/models/epoll"      // epoll: hand-written reactor
	_ "iolab/models/fork"       // fork: a child process per connection
	_ "iolab/models/goroutine"  // goroutine: one goroutine per connection
	_ "iolab/models/pool"       // pool: prethreaded, a fixed pool of OS threads
	_ "iolab/models/prefork"    // prefork: a fixed pool of worker processes
	_ "iolab/models/reactor"    // gnet: gnet v2 event loops
	_ "iolab/models/reuseport"  // reuseport: N epoll loops, one SO_REUSEPORT listener each
	_ "iolab/models/sequential" // sequential: the tutorial's server
	_ "iolab/models/threads"    // threads: one OS thread per connection
	_ "iolab/models/uring"      // uring: io_uring, the completion model
	_ "iolab/models/workers"    // workers: an epoll loop and a pool of threads for cpu work
)
