package logrecv

import (
	"encoding/binary"
	"errors"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ctrlSize is the control buffer of one datagram: room for the drop
// counter (SO_RXQ_OVFL) and one more small message. The only other one
// that can come is a unix sender's SCM_RIGHTS, whose descriptors are
// closed at once; the kernel discards those that do not fit.
var ctrlSize = 2 * unix.CmsgSpace(4)

// maxDrain bounds the batches read after Serve's ctx is done: the
// sockets' queues are read, not a sender that goes on.
const maxDrain = 1024

// receiver reads one socket in batches. Its buffers are allocated once;
// it is owned by one goroutine.
type receiver struct {
	s    *socket
	msgs []unix.Mmsghdr
	iovs []unix.Iovec
	bufs []byte // len(msgs) × MaxDatagram
	ctrl []byte // len(msgs) × ctrlSize

	n     int           // datagrams the last recvmmsg read
	errno syscall.Errno // its error, other than EAGAIN
	drops uint32        // the socket's drop counter, as last reported
	read  func(fd uintptr) bool
}

func newReceiver(s *socket, batch int) *receiver {
	r := &receiver{
		s:    s,
		msgs: make([]unix.Mmsghdr, batch),
		iovs: make([]unix.Iovec, batch),
		bufs: make([]byte, batch*MaxDatagram),
		ctrl: make([]byte, batch*ctrlSize),
	}
	for i := range r.msgs {
		r.iovs[i].Base = &r.bufs[i*MaxDatagram]
		r.iovs[i].SetLen(MaxDatagram)
		h := &r.msgs[i].Hdr
		h.Iov = &r.iovs[i]
		h.SetIovlen(1)
		h.Control = &r.ctrl[i*ctrlSize]
		h.SetControllen(ctrlSize)
	}
	r.read = r.recv // one func value for every RawConn.Read: no allocation
	return r
}

// recv reads a batch from fd without waiting. It returns false when
// nothing is queued, so that RawConn.Read waits for the socket to be
// readable and calls it again.
func (r *receiver) recv(fd uintptr) bool {
	for {
		n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.msgs[0])), uintptr(len(r.msgs)),
			unix.MSG_DONTWAIT|unix.MSG_CMSG_CLOEXEC, 0, 0)
		switch e {
		case 0:
			r.n, r.errno = int(n), 0
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			r.n, r.errno = 0, 0
			return false
		default:
			r.n, r.errno = 0, e
			return true
		}
	}
}

// run receives until the socket's read deadline passes (Serve's stop),
// then reads what is queued and returns nil; or it returns an error
// that receiving cannot go on after.
func (r *receiver) run(h Handler) error {
	for {
		if err := r.s.raw.Read(r.read); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return r.drain(h)
			}
			return err
		}
		if err := r.deliver(h); err != nil {
			return err
		}
	}
}

// drain reads what the socket has queued, at most maxDrain batches.
func (r *receiver) drain(h Handler) error {
	var more bool
	read := func(fd uintptr) { more = r.recv(fd) }
	for range maxDrain {
		if err := r.s.raw.Control(read); err != nil || !more {
			return err
		}
		if err := r.deliver(h); err != nil {
			return err
		}
	}
	return nil
}

// deliver counts the batch last read, then hands each datagram to h.
func (r *receiver) deliver(h Handler) error {
	switch r.errno {
	case 0:
	case unix.ENOMEM, unix.ENOBUFS:
		return nil // transient: read again
	default:
		return os.NewSyscallError("recvmmsg", r.errno)
	}
	var truncated uint64
	before := r.drops
	for i := range r.n {
		m := &r.msgs[i]
		if m.Hdr.Controllen > 0 {
			r.control(r.ctrl[i*ctrlSize : i*ctrlSize+int(m.Hdr.Controllen)])
		}
		if m.Hdr.Flags&unix.MSG_TRUNC != 0 {
			truncated++
		}
	}
	r.s.received.Add(uint64(r.n))
	if truncated > 0 {
		r.s.truncated.Add(truncated)
	}
	if r.drops != before {
		r.s.dropped.Add(uint64(r.drops - before)) // modulo 2³², as the kernel's counter wraps
	}
	for i := range r.n {
		m := &r.msgs[i]
		if m.Hdr.Flags&unix.MSG_TRUNC == 0 {
			h(r.bufs[i*MaxDatagram : i*MaxDatagram+int(m.Len)])
		}
		// The kernel wrote these; the next batch needs them as they were.
		m.Hdr.SetControllen(ctrlSize)
		m.Hdr.Flags = 0
	}
	return nil
}

// cmsgHdrLen is the size of a control message's header, data aligned.
var cmsgHdrLen = unix.CmsgLen(0)

// control reads the control messages of one datagram, without
// allocating: it keeps the drop counter and closes the descriptors a
// unix sender passed.
func (r *receiver) control(b []byte) {
	for len(b) >= cmsgHdrLen {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
		n := int(h.Len)
		if n < cmsgHdrLen || n > len(b) {
			return
		}
		data := b[cmsgHdrLen:n]
		if h.Level == unix.SOL_SOCKET {
			switch h.Type {
			case unix.SO_RXQ_OVFL:
				if len(data) >= 4 {
					r.drops = binary.NativeEndian.Uint32(data)
				}
			case unix.SCM_RIGHTS:
				for ; len(data) >= 4; data = data[4:] {
					unix.Close(int(int32(binary.NativeEndian.Uint32(data))))
				}
			}
		}
		next := unix.CmsgSpace(n - cmsgHdrLen)
		if next >= len(b) {
			return
		}
		b = b[next:]
	}
}
