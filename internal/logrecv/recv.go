package logrecv

import (
	"encoding/binary"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ctrlSize is the control buffer of one datagram: room for the drop
// counter (SO_RXQ_OVFL) and one more small message. The only other one
// that can come is a unix sender's SCM_RIGHTS, whose descriptors are
// closed at once; the kernel discards those that do not fit.
var ctrlSize = 2 * unix.CmsgSpace(4)

// maxDrain bounds the batches read after Serve is told to stop: the
// sockets' queues are read, not a sender that goes on.
const maxDrain = 1024

// linger is the pause after a batch that emptied the queue, so that the
// next read takes what came meanwhile instead of one datagram: it
// trades 4 ms of delay for fewer wake-ups and system calls: at 50 000
// lines a second, a read takes 200 (DefaultBatch is 256), and pull's
// CPU went from 17 % to 11 % of a core (make bench ONLY=logs).
const linger = 4 * time.Millisecond

// receiver reads one socket in batches. Its buffers are allocated once;
// it is owned by one goroutine.
type receiver struct {
	s        *socket
	stopping *atomic.Bool // set when Serve is to stop
	pfds     [2]unix.PollFd
	msgs     []unix.Mmsghdr
	iovs     []unix.Iovec
	bufs     []byte // len(msgs) × MaxDatagram
	ctrl     []byte // len(msgs) × ctrlSize

	n     int    // datagrams the last recvmmsg read
	drops uint32 // the socket's drop counter, as last reported
}

// newReceiver makes the receiver of s; wakeFd becomes readable when
// stopping is set.
func newReceiver(s *socket, batch, wakeFd int, stopping *atomic.Bool) *receiver {
	r := &receiver{
		s:        s,
		stopping: stopping,
		pfds:     [2]unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}, {Fd: int32(wakeFd), Events: unix.POLLIN}},
		msgs:     make([]unix.Mmsghdr, batch),
		iovs:     make([]unix.Iovec, batch),
		bufs:     make([]byte, batch*MaxDatagram),
		ctrl:     make([]byte, batch*ctrlSize),
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
	return r
}

// run receives until stopping is set, then reads what is queued and
// returns nil; or it returns an error that receiving cannot go on
// after.
func (r *receiver) run(h Handler) error {
	drained := 0
	for {
		stopping := r.stopping.Load()
		if stopping {
			if drained++; drained > maxDrain {
				return nil
			}
		}
		got, err := r.recv()
		if err != nil {
			return err
		}
		if !got {
			if stopping {
				return nil // all read
			}
			if err := r.wait(); err != nil {
				return err
			}
			continue
		}
		r.deliver(h)
		if r.n < len(r.msgs) && r.s.linger && !stopping {
			pause()
		}
	}
}

// recv reads a batch without waiting. It returns false when nothing is
// queued.
func (r *receiver) recv() (bool, error) {
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(r.s.fd), uintptr(unsafe.Pointer(&r.msgs[0])), uintptr(len(r.msgs)),
			unix.MSG_DONTWAIT|unix.MSG_CMSG_CLOEXEC, 0, 0)
		switch e {
		case 0:
			r.n = int(n)
			return true, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false, nil
		case unix.ENOMEM, unix.ENOBUFS:
			pause() // short of memory for a moment: read again after a pause
			return false, nil
		default:
			return false, os.NewSyscallError("recvmmsg", e)
		}
	}
}

// wait waits until the socket is readable or the receivers are to stop.
func (r *receiver) wait() error {
	for {
		_, err := unix.Poll(r.pfds[:], -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return os.NewSyscallError("poll", err)
		}
		if r.pfds[0].Revents&unix.POLLNVAL != 0 {
			return os.NewSyscallError("poll", unix.EBADF)
		}
		return nil
	}
}

// deliver counts the batch last read, then hands each datagram to h.
func (r *receiver) deliver(h Handler) {
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

// lingerTs is linger for nanosleep.
var lingerTs = unix.NsecToTimespec(int64(linger))

// pause sleeps for linger in a system call, not a runtime timer: a
// timer fires only when the processor it sits on schedules, which a busy
// goroutine can put off for milliseconds while the queue fills. It is a
// raw system call, as recv's non-blocking recvmmsg is: the runtime does
// not hand the goroutine's processor to another thread for a sleep this
// short (that hand-off and its context switches were a fifth of pull's
// CPU). A signal (the runtime's preemption) ends the sleep early, which
// is harmless.
func pause() {
	ts := lingerTs
	unix.RawSyscall(unix.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
}
