//go:build linux

package ring

import "unsafe"

// The kernel's side of the contract, transcribed from
// include/uapi/linux/io_uring.h: only what iolab uses. The structs are
// laid out byte for byte as the kernel's (the sizes are checked below, at
// compile time), since the kernel reads and writes them in place in the
// memory it shares with us.

// Operation codes (enum io_uring_op), the verbs a submission asks for.
const (
	OpNop         = 0  // IORING_OP_NOP: nothing; a round trip through the rings
	OpPollAdd     = 6  // IORING_OP_POLL_ADD: complete once a file is ready, as poll(2) would say (5.1)
	OpTimeout     = 11 // IORING_OP_TIMEOUT: complete after a time (Linux 5.4)
	OpAccept      = 13 // IORING_OP_ACCEPT: accept4(2) (5.5)
	OpAsyncCancel = 14 // IORING_OP_ASYNC_CANCEL: cancel a request by its user_data (5.5)
	OpRead        = 22 // IORING_OP_READ: read(2) (5.6)
	OpSend        = 26 // IORING_OP_SEND: send(2) (5.6)
	OpRecv        = 27 // IORING_OP_RECV: recv(2) (5.6)
	OpSocket      = 45 // IORING_OP_SOCKET (5.19): not used, a marker of 5.19 in the probe
	OpSendZC      = 47 // IORING_OP_SEND_ZC (6.0): not used, a marker of 6.0 in the probe
)

// io_uring_setup(2) flags (params.flags) and features (params.features).
const (
	SetupCQSize = 1 << 3 // IORING_SETUP_CQSIZE: params.cqEntries is the CQ's size
	SetupClamp  = 1 << 4 // IORING_SETUP_CLAMP: clamp sizes to the maximum instead of failing
	// IORING_SETUP_COOP_TASKRUN (5.19): the kernel does not interrupt the
	// thread to post a completion that needs its context (a socket's data
	// arrived); it posts it when the thread next enters the kernel.
	SetupCoopTaskrun = 1 << 8
	// IORING_SETUP_SINGLE_ISSUER (6.0): one thread, the one that created
	// the ring, submits to it; the kernel can skip the locking.
	SetupSingleIssuer = 1 << 12
	// IORING_SETUP_DEFER_TASKRUN (6.1, with SINGLE_ISSUER): such
	// completions wait until the thread asks for them in io_uring_enter(2)
	// with GETEVENTS, so they arrive in batches, at the loop's own pace.
	SetupDeferTaskrun = 1 << 13

	FeatSingleMmap = 1 << 0 // IORING_FEAT_SINGLE_MMAP: SQ and CQ rings share one mapping (5.4)
	FeatNoDrop     = 1 << 1 // IORING_FEAT_NODROP: a full CQ keeps completions aside, none is lost (5.5)
	FeatExtArg     = 1 << 8 // IORING_FEAT_EXT_ARG: io_uring_enter(2) takes a timeout (5.11)
)

// Offsets for mmap(2) of the ring fd: which region is mapped.
const (
	offSQRing = 0          // IORING_OFF_SQ_RING: SQ ring (and the CQ ring with SINGLE_MMAP)
	offCQRing = 0x8000000  // IORING_OFF_CQ_RING
	offSQEs   = 0x10000000 // IORING_OFF_SQES: the array of submission entries
)

// io_uring_enter(2) flags, and the SQ ring's flags word.
const (
	enterGetEvents = 1 << 0 // IORING_ENTER_GETEVENTS: wait for min_complete completions
	enterExtArg    = 1 << 3 // IORING_ENTER_EXT_ARG: the last two arguments are a getEventsArg and its size

	sqCQOverflow = 1 << 1 // IORING_SQ_CQ_OVERFLOW: completions wait in the kernel for CQ room
)

// Submission entry flags (SQE.Flags), and per-operation flags.
const (
	SQEBufferSelect = 1 << 5 // IOSQE_BUFFER_SELECT: the kernel picks a buffer from group bufGroup

	AcceptMultishot = 1 << 0 // IORING_ACCEPT_MULTISHOT, in SQE.Ioprio (5.19)
	RecvMultishot   = 1 << 1 // IORING_RECV_MULTISHOT, in SQE.Ioprio (6.0)
)

// Completion entry flags (CQE.Flags).
const (
	CQEFBuffer      = 1 << 0  // IORING_CQE_F_BUFFER: a provided buffer was used; its id is flags>>16
	CQEFMore        = 1 << 1  // IORING_CQE_F_MORE: the (multishot) request goes on; more CQEs come
	CQEBufferShift  = 16      // IORING_CQE_BUFFER_SHIFT
	MsgNoSignal     = 0x4000  // MSG_NOSIGNAL, in SQE.OpFlags for send: EPIPE, not SIGPIPE
	acceptFlagsSock = 0x80000 // SOCK_CLOEXEC, in SQE.OpFlags for accept
)

// io_uring_register(2) opcodes.
const (
	registerProbe    = 8  // IORING_REGISTER_PROBE (5.6)
	registerPbufRing = 22 // IORING_REGISTER_PBUF_RING (5.19)

	probeOpSupported = 1 << 0 // IO_URING_OP_SUPPORTED, in probeOp.flags
)

// params is struct io_uring_params: what io_uring_setup(2) is asked for,
// and what it answers (sizes, features, and where each field of the rings
// lies in their mappings).
type params struct {
	sqEntries    uint32
	cqEntries    uint32
	flags        uint32
	sqThreadCPU  uint32
	sqThreadIdle uint32
	features     uint32
	wqFd         uint32
	resv         [3]uint32
	sqOff        sqringOffsets
	cqOff        cqringOffsets
}

// sqringOffsets is struct io_sqring_offsets: byte offsets into the SQ
// ring's mapping.
type sqringOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

// cqringOffsets is struct io_cqring_offsets: byte offsets into the CQ
// ring's mapping.
type cqringOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

// SQE is struct io_uring_sqe, one submission: 64 bytes that the kernel
// reads once, when io_uring_enter(2) submits it. The unions of the C
// struct are named here after the use iolab makes of them.
type SQE struct {
	Opcode   uint8  // what to do (op*)
	Flags    uint8  // IOSQE_* flags
	Ioprio   uint16 // for accept and recv: the multishot flags
	Fd       int32  // the file to act on
	Off      uint64 // offset; for accept, addr2 (the addrlen pointer); for timeout, the count
	Addr     uint64 // the buffer; for cancel, the user_data to cancel; for timeout, the timespec
	Len      uint32 // the buffer's length; for timeout, 1 (one timespec)
	OpFlags  uint32 // msg_flags, accept_flags, timeout_flags, cancel_flags...
	UserData uint64 // handed back unchanged in the completion
	BufGroup uint16 // buf_index or buf_group: the provided-buffer group, with IOSQE_BUFFER_SELECT
	_        uint16 // personality
	_        int32  // splice_fd_in, file_index
	_        [2]uint64
}

// CQE is struct io_uring_cqe, one completion: 16 bytes the kernel writes.
type CQE struct {
	UserData uint64 // the submission's user_data
	Res      int32  // what the system call would return, or -errno
	Flags    uint32 // IORING_CQE_F_*, and a provided buffer's id in the top 16 bits
}

// probeHeader is struct io_uring_probe, followed in memory by ops.
type probeHeader struct {
	lastOp uint8 // the highest opcode this kernel knows
	opsLen uint8 // how many probeOp follow
	_      uint16
	_      [3]uint32
}

// probeOp is struct io_uring_probe_op.
type probeOp struct {
	op    uint8
	_     uint8
	flags uint16 // probeOpSupported
	_     uint32
}

// bufReg is struct io_uring_buf_reg, the argument of
// IORING_REGISTER_PBUF_RING.
type bufReg struct {
	ringAddr    uint64 // the page-aligned ring of buf entries
	ringEntries uint32 // a power of 2
	bgid        uint16 // the group id that recv's sqe.BufGroup names
	flags       uint16
	_           [3]uint64
}

// buf is struct io_uring_buf, one entry of a provided buffer ring. The
// ring's tail, a uint16, overlays the resv field of entry 0.
type buf struct {
	addr uint64
	len  uint32
	bid  uint16
	resv uint16
}

// Timespec is struct __kernel_timespec: 64-bit fields on every
// architecture, unlike unix.Timespec on 32-bit ones.
type Timespec struct {
	Sec, Nsec int64
}

// getEventsArg is struct io_uring_getevents_arg, what io_uring_enter(2)
// reads with IORING_ENTER_EXT_ARG: here only a timeout for the wait.
type getEventsArg struct {
	sigmask   uint64
	sigmaskSz uint32
	_         uint32 // min_wait_usec since Linux 6.12; 0: none
	ts        uint64 // a *Timespec
}

// Compile-time checks of the layouts: an array of negative length does
// not compile.
var (
	_ [unsafe.Sizeof(params{}) - 120]byte
	_ [120 - unsafe.Sizeof(params{})]byte
	_ [unsafe.Sizeof(SQE{}) - 64]byte
	_ [64 - unsafe.Sizeof(SQE{})]byte
	_ [unsafe.Sizeof(CQE{}) - 16]byte
	_ [16 - unsafe.Sizeof(CQE{})]byte
	_ [unsafe.Sizeof(probeHeader{}) - 16]byte
	_ [unsafe.Sizeof(probeOp{}) - 8]byte
	_ [unsafe.Sizeof(bufReg{}) - 40]byte
	_ [unsafe.Sizeof(buf{}) - 16]byte
	_ [16 - unsafe.Sizeof(buf{})]byte
	_ [unsafe.Sizeof(getEventsArg{}) - 24]byte
	_ [24 - unsafe.Sizeof(getEventsArg{})]byte
)
