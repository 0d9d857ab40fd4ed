// Package ring is io_uring(7) by hand, with no library and no cgo: the
// kernel's structs and constants, transcribed (abi_linux.go); one ring,
// its two queues mmap(2)ed from the kernel and the system calls that
// drive them (ring_linux.go: Setup, GetSQE fills a submission, Enter
// submits and waits, Reap takes the completions, Probe); and a ring of
// provided buffers for multishot receive (bufring_linux.go). The uring
// server model (models/uring) and the load generator's io_uring engine
// (loadgen, -engine uring) each run a loop of their own on it.
//
// See https://man7.org/linux/man-pages/man7/io_uring.7.html and
// https://kernel.dk/io_uring.pdf.
package ring
