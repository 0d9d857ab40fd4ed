//go:build linux

package ring

import (
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Ring is one io_uring instance: two queues in memory shared with the
// kernel, and the three system calls that drive them.
//
//   - The submission queue (SQ): we write an entry (SQE) per operation we
//     ask for, then move the SQ tail; the kernel reads entries from the SQ
//     head when io_uring_enter(2) tells it how many are new.
//   - The completion queue (CQ): the kernel writes an entry (CQE) per
//     finished operation, each carrying the user_data of its submission,
//     and moves the CQ tail; we read from the CQ head and move it.
//
// Each side writes only its own index (we the SQ tail and the CQ head, the
// kernel the SQ head and the CQ tail) and reads the other's, so no lock is
// needed, only ordering: an index is loaded with an atomic load (acquire:
// the entries it covers are seen as the writer wrote them) and stored with
// an atomic store (release: the entries are written before the index that
// publishes them). sync/atomic gives both on *uint32 pointers into the
// mapped memory. The rings are mmap(2)ed from the ring's descriptor, not
// allocated by Go, so Go's garbage collector neither moves nor frees them:
// they live until Close unmaps them.
//
// A ring belongs to one thread, the loop's; nothing here is safe for
// concurrent use.
type Ring struct {
	fd       int    // from io_uring_setup(2)
	Features uint32 // IORING_FEAT_* the kernel reported
	Flags    uint32 // the IORING_SETUP_* flags the ring was created with (Setup)

	sqMem  []byte // the SQ ring's mapping (and the CQ ring's, with SINGLE_MMAP)
	cqMem  []byte // the CQ ring's mapping; aliases sqMem with SINGLE_MMAP
	sqeMem []byte // the mapping of the sqes array

	// The submission queue.
	sqHead  *uint32 // kernel-owned: the next entry it will read
	sqTail  *uint32 // ours: one past the last entry published to the kernel
	sqFlags *uint32 // kernel-owned: IORING_SQ_* (sqCQOverflow)
	sqMask  uint32  // entries-1: an index & mask is a slot
	sqes    []SQE   // the entries themselves
	tail    uint32  // our next tail: entries filled but not yet published are [*sqTail, tail)

	// The completion queue.
	cqHead *uint32 // ours: the next entry we will read
	cqTail *uint32 // kernel-owned: one past the last entry it wrote
	cqMask uint32
	cqes   []CQE

	ts  Timespec     // the bound of EnterTimeout's wait, read by the kernel during the call
	arg getEventsArg // points at ts
}

// Setup creates a ring of (at least) entries submission slots and
// cqEntries completion slots, with io_uring_setup(2), and maps its queues.
// It must be called on the thread that will submit and wait, locked to it.
//
// It asks first for the flags of a ring with one thread (SINGLE_ISSUER
// and DEFER_TASKRUN, Linux 6.1): without them, each socket completion
// interrupts the loop's thread, wherever it is, to be posted (task work,
// as a signal would), and at 10 echo clients that made the loop 0.6 times
// as fast as epoll's on this machine; with them, completions are posted
// in a batch when the loop enters io_uring_enter(2) to wait. Kernels that
// lack them get COOP_TASKRUN (5.19), then CQSIZE and CLAMP alone (5.6),
// then nothing: each refuses a flag it does not know with EINVAL.
func Setup(entries, cqEntries uint32) (*Ring, error) {
	var p params
	fd, err := -1, error(unix.EINVAL)
	for _, flags := range []uint32{
		SetupCQSize | SetupClamp | SetupSingleIssuer | SetupDeferTaskrun,
		SetupCQSize | SetupClamp | SetupCoopTaskrun,
		SetupCQSize | SetupClamp,
		0,
	} {
		p = params{flags: flags}
		if flags&SetupCQSize != 0 {
			p.cqEntries = cqEntries
		}
		if fd, err = ioUringSetup(entries, &p); err != unix.EINVAL {
			break
		}
	}
	if err != nil {
		return nil, os.NewSyscallError("io_uring_setup", err)
	}
	r := &Ring{fd: fd, Features: p.features, Flags: p.flags}
	if err := r.mmap(&p); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// ioUringSetup is the raw io_uring_setup(2).
func ioUringSetup(entries uint32, p *params) (int, error) {
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(p)), 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

// mmap maps the SQ ring, the CQ ring and the sqes array, and points the
// ring's fields at the indexes the kernel placed in them (p.sqOff,
// p.cqOff). With IORING_FEAT_SINGLE_MMAP (Linux 5.4) the two rings share
// one mapping, as big as the larger of the two.
func (r *Ring) mmap(p *params) error {
	sqSize := int(p.sqOff.array + p.sqEntries*4)
	cqSize := int(p.cqOff.cqes + p.cqEntries*uint32(unsafe.Sizeof(CQE{})))
	single := p.features&FeatSingleMmap != 0
	if single {
		sqSize = max(sqSize, cqSize)
	}
	const prot, flags = unix.PROT_READ | unix.PROT_WRITE, unix.MAP_SHARED | unix.MAP_POPULATE
	var err error
	if r.sqMem, err = unix.Mmap(r.fd, offSQRing, sqSize, prot, flags); err != nil {
		return os.NewSyscallError("mmap sq ring", err)
	}
	r.cqMem = r.sqMem
	if !single {
		if r.cqMem, err = unix.Mmap(r.fd, offCQRing, cqSize, prot, flags); err != nil {
			return os.NewSyscallError("mmap cq ring", err)
		}
	}
	if r.sqeMem, err = unix.Mmap(r.fd, offSQEs, int(p.sqEntries)*int(unsafe.Sizeof(SQE{})), prot, flags); err != nil {
		return os.NewSyscallError("mmap sqes", err)
	}

	r.sqHead = r.u32(r.sqMem, p.sqOff.head)
	r.sqTail = r.u32(r.sqMem, p.sqOff.tail)
	r.sqFlags = r.u32(r.sqMem, p.sqOff.flags)
	r.sqMask = *r.u32(r.sqMem, p.sqOff.ringMask)
	r.sqes = unsafe.Slice((*SQE)(unsafe.Pointer(&r.sqeMem[0])), p.sqEntries)
	r.tail = atomic.LoadUint32(r.sqTail)
	// The SQ ring holds indexes into sqes, not entries: one more
	// indirection, for programs that fill entries out of order. Ours are
	// in order, so slot i always names entry i, set once here.
	array := unsafe.Slice(r.u32(r.sqMem, p.sqOff.array), p.sqEntries)
	for i := range array {
		array[i] = uint32(i)
	}

	r.cqHead = r.u32(r.cqMem, p.cqOff.head)
	r.cqTail = r.u32(r.cqMem, p.cqOff.tail)
	r.cqMask = *r.u32(r.cqMem, p.cqOff.ringMask)
	r.cqes = unsafe.Slice((*CQE)(unsafe.Pointer(&r.cqMem[p.cqOff.cqes])), p.cqEntries)
	return nil
}

// u32 points at the uint32 at offset off of mem.
func (r *Ring) u32(mem []byte, off uint32) *uint32 {
	return (*uint32)(unsafe.Pointer(&mem[off]))
}

// GetSQE returns the next free submission entry, zeroed, or nil when the
// SQ is full of entries the kernel has not read yet. The entry counts as
// submitted from here on: fill it before anything else asks for one.
func (r *Ring) GetSQE() *SQE {
	if r.tail-atomic.LoadUint32(r.sqHead) > r.sqMask {
		return nil
	}
	e := &r.sqes[r.tail&r.sqMask]
	*e = SQE{}
	r.tail++
	return e
}

// Unsubmitted counts the entries the kernel has not read yet.
func (r *Ring) Unsubmitted() uint32 { return r.tail - atomic.LoadUint32(r.sqHead) }

// Enter publishes the new entries (the release store of the SQ tail) and
// calls io_uring_enter(2): the kernel reads and starts every new entry
// and, when wait is true, puts the thread to sleep until at least one
// completion is in the CQ. This is the one place the loop's thread
// blocks.
//
// Errors that are not failures come back as nil, for the loop to go
// round and look again: EINTR (a signal, often the Go runtime's
// preemption; the entries read before it stay read), and EAGAIN and
// EBUSY (the kernel is short of memory for new requests, or keeps
// completions aside because the CQ is full: reaping the CQ makes room,
// and the entries not read yet are offered again on the next call).
func (r *Ring) Enter(wait bool) error {
	atomic.StoreUint32(r.sqTail, r.tail)
	var flags, min uintptr
	if wait {
		flags, min = enterGetEvents, 1
	}
	// A CQ that overflowed holds completions aside in the kernel; GETEVENTS
	// flushes them into the ring, even without waiting.
	if atomic.LoadUint32(r.sqFlags)&sqCQOverflow != 0 {
		flags |= enterGetEvents
	}
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(r.Unsubmitted()), min, flags, 0, 0)
	switch errno {
	case 0, unix.EINTR, unix.EAGAIN, unix.EBUSY:
		return nil
	}
	return os.NewSyscallError("io_uring_enter", errno)
}

// EnterTimeout is Enter(true) with a count and a bound: it returns once
// min completions are in the CQ or d has passed, whichever comes first
// (IORING_ENTER_EXT_ARG, Linux 5.11: FeatExtArg in Features). With d at
// 0 or less it does not wait, but still posts the completions the kernel
// was keeping for this thread (DEFER_TASKRUN). Running out of time is not
// an error.
func (r *Ring) EnterTimeout(min uint32, d time.Duration) error {
	atomic.StoreUint32(r.sqTail, r.tail)
	flags, wait := uintptr(enterGetEvents), uintptr(0)
	var arg, size uintptr
	if d > 0 {
		r.ts = Timespec{Sec: int64(d / time.Second), Nsec: int64(d % time.Second)}
		r.arg = getEventsArg{ts: uint64(uintptr(unsafe.Pointer(&r.ts)))}
		flags, wait = flags|enterExtArg, uintptr(min)
		arg, size = uintptr(unsafe.Pointer(&r.arg)), unsafe.Sizeof(r.arg)
	}
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(r.Unsubmitted()), wait, flags, arg, size)
	switch errno {
	case 0, unix.ETIME, unix.EINTR, unix.EAGAIN, unix.EBUSY:
		return nil
	}
	return os.NewSyscallError("io_uring_enter", errno)
}

// Ready reports whether completions wait in the CQ.
func (r *Ring) Ready() bool { return *r.cqHead != atomic.LoadUint32(r.cqTail) }

// Reap copies the completions waiting in the CQ into dst, hands their
// slots back to the kernel by moving the CQ head, and returns them. The
// copies stay valid however many completions come after.
func (r *Ring) Reap(dst []CQE) []CQE {
	head := *r.cqHead // ours: no other writer
	tail := atomic.LoadUint32(r.cqTail)
	for ; head != tail; head++ {
		dst = append(dst, r.cqes[head&r.cqMask])
	}
	atomic.StoreUint32(r.cqHead, head)
	return dst
}

// register is the raw io_uring_register(2).
func (r *Ring) register(opcode uintptr, arg unsafe.Pointer, nrArgs uintptr) error {
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), opcode, uintptr(arg), nrArgs, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// Probe asks the kernel which operations it supports
// (IORING_REGISTER_PROBE, Linux 5.6), and returns them indexed by opcode.
// An older kernel fails the call: then nothing is reported, and a loop
// uses only the single-shot operations of 5.6.
func (r *Ring) Probe() (supported [256]bool, err error) {
	const n = 256
	var mem [unsafe.Sizeof(probeHeader{}) + n*unsafe.Sizeof(probeOp{})]byte
	if err := r.register(registerProbe, unsafe.Pointer(&mem[0]), n); err != nil {
		return supported, os.NewSyscallError("io_uring_register probe", err)
	}
	h := (*probeHeader)(unsafe.Pointer(&mem[0]))
	ops := unsafe.Slice((*probeOp)(unsafe.Pointer(&mem[unsafe.Sizeof(probeHeader{})])), n)
	for _, op := range ops[:h.opsLen] {
		supported[op.op] = op.flags&probeOpSupported != 0
	}
	return supported, nil
}

// Close unmaps the queues and closes the ring. The kernel cancels what
// is still in flight; the loop has waited for every completion before
// (the uring model quiesces first), so no buffer of ours is still in the kernel's hands.
func (r *Ring) Close() {
	if r.sqeMem != nil {
		_ = unix.Munmap(r.sqeMem)
	}
	if r.cqMem != nil && &r.cqMem[0] != &r.sqMem[0] {
		_ = unix.Munmap(r.cqMem)
	}
	if r.sqMem != nil {
		_ = unix.Munmap(r.sqMem)
	}
	unix.Close(r.fd)
}
