//go:build linux

package ring

import (
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BufRing is a ring of provided buffers (IORING_REGISTER_PBUF_RING, Linux
// 5.19), what multishot receive needs: a receive that stays armed cannot
// name a buffer in its submission, since it completes many times, so the
// kernel picks one from this ring each time data arrives, and says which
// in the completion (IORING_CQE_F_BUFFER, the id in the flags' top 16
// bits). The loop copies the data out at once and gives the buffer back
// (recycle), so a buffer is out of the ring only between the kernel
// filling it and the loop reaping its completion. When the ring runs dry
// a multishot receive ends with -ENOBUFS.
//
// Both the ring of entries and the buffers are anonymous mmap(2)
// mappings, not Go memory: the kernel writes into the buffers whenever
// data arrives, with no system call of ours to pin them, so they must be
// memory Go's garbage collector does not manage. They live from setup to
// close, and close comes after the loop has reaped every completion.
type BufRing struct {
	entries []buf  // the ring the kernel takes buffers from
	ringMem []byte // its mapping
	data    []byte // the buffers, size bytes each, buffer id i at i*size
	size    int    // bytes per buffer
	mask    uint16 // len(entries)-1
	tail    uint16 // our tail: entries [.., tail) are the kernel's to take
	Group   uint16 // the buffer group id recv submissions name
}

// SetupBufRing maps n buffers of size bytes (n a power of 2) and a ring
// for them, registers the ring with r as buffer group group, and hands the
// kernel every buffer.
func SetupBufRing(r *Ring, n, size int, group uint16) (*BufRing, error) {
	const prot, flags = unix.PROT_READ | unix.PROT_WRITE, unix.MAP_PRIVATE | unix.MAP_ANONYMOUS
	ringMem, err := unix.Mmap(-1, 0, n*int(unsafe.Sizeof(buf{})), prot, flags)
	if err != nil {
		return nil, os.NewSyscallError("mmap buffer ring", err)
	}
	// The buffers are populated at once: they are the loop's fixed cost,
	// paid before its first client rather than a page at a time as
	// receives first touch them (which would also look like memory that
	// grows with the connections).
	data, err := unix.Mmap(-1, 0, n*size, prot, flags|unix.MAP_POPULATE)
	if err != nil {
		_ = unix.Munmap(ringMem)
		return nil, os.NewSyscallError("mmap buffers", err)
	}
	b := &BufRing{entries: unsafe.Slice((*buf)(unsafe.Pointer(&ringMem[0])), n), ringMem: ringMem,
		data: data, size: size, mask: uint16(n - 1), Group: group}
	reg := bufReg{ringAddr: uint64(uintptr(unsafe.Pointer(&ringMem[0]))), ringEntries: uint32(n), bgid: group}
	if err := r.register(registerPbufRing, unsafe.Pointer(&reg), 1); err != nil {
		b.Unmap()
		return nil, os.NewSyscallError("io_uring_register pbuf_ring", err)
	}
	for id := range n {
		b.put(uint16(id))
	}
	b.publish()
	return b, nil
}

// Bytes returns buffer id's first n bytes.
func (b *BufRing) Bytes(id uint16, n int) []byte {
	off := int(id) * b.size
	return b.data[off : off+n : off+b.size]
}

// put writes buffer id at the tail of the ring, unpublished.
func (b *BufRing) put(id uint16) {
	e := &b.entries[b.tail&b.mask]
	e.addr = uint64(uintptr(unsafe.Pointer(&b.data[int(id)*b.size])))
	e.len = uint32(b.size)
	e.bid = id
	b.tail++
}

// Recycle gives buffer id back to the kernel.
func (b *BufRing) Recycle(id uint16) {
	b.put(id)
	b.publish()
}

// publish makes the entries put so far the kernel's, with a release store
// of the tail. The tail is a uint16 overlaying entry 0's resv field, and
// sync/atomic has no 16-bit store, so publish stores the 32-bit word it
// shares with entry 0's bid, a field only we write: the bid goes back
// unchanged. Building the word from a [2]uint16 keeps the byte order the
// machine's.
func (b *BufRing) publish() {
	word := (*uint32)(unsafe.Pointer(&b.entries[0].bid))
	pair := [2]uint16{b.entries[0].bid, b.tail}
	atomic.StoreUint32(word, *(*uint32)(unsafe.Pointer(&pair)))
}

// Unmap releases the mappings. Closing the ring unregisters the group.
func (b *BufRing) Unmap() {
	_ = unix.Munmap(b.data)
	_ = unix.Munmap(b.ringMem)
}
