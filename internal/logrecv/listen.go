// Package logrecv receives HAProxy's request logs: one datagram per log
// line, sent by a "log 127.0.0.1:5140 local0" (UDP) or "log /path/sock
// local0" (unix datagram) line of haproxy.cfg. It reads them in batches
// with recvmmsg(2), into buffers allocated once, and hands each to a
// handler without allocating, and it counts what the kernel dropped
// (SO_RXQ_OVFL) and what did not fit a buffer.
//
// The sockets are its own, outside the runtime's network poller: a
// receiver waits in poll(2), and after a batch that emptied the queue it
// pauses (linger) before reading again, so that at a moderate rate a
// read takes tens of datagrams instead of one. The poller would not
// allow that pause: it is woken by every datagram that arrives.
//
// It is Linux only.
package logrecv

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// The defaults of Options.
const (
	DefaultReceiveBuffer = 4 << 20
	DefaultSocketMode    = 0o666
	DefaultBatch         = 256
)

// maxBatch is the most datagrams one recvmmsg takes: the kernel caps
// vlen at UIO_MAXIOV.
const maxBatch = 1024

// Options tune Listen. The zero value gives the defaults.
type Options struct {
	// ReceiveBuffer is the socket receive buffer asked for, in bytes
	// (DefaultReceiveBuffer when 0). Listen uses SO_RCVBUFFORCE when the
	// process may (CAP_NET_ADMIN), else SO_RCVBUF, which the kernel caps
	// at net.core.rmem_max; it logs once when a socket got less. A
	// buffer of less than 4 MiB makes the receiver read as soon as a
	// datagram comes (no linger): more CPU, fewer drops.
	ReceiveBuffer int
	// SocketMode is the file mode of the unixgram sockets Listen makes
	// (DefaultSocketMode when 0); only the permission bits count.
	SocketMode os.FileMode
	// Batch is the most datagrams one system call reads (DefaultBatch
	// when 0, at most 1024). Each costs a buffer of MaxDatagram bytes
	// per socket, of which only the pages written reach memory.
	Batch int
	// Log receives the warnings; nil discards them.
	Log *slog.Logger
}

// MaxDatagram is the size of the buffer a datagram is read into: HAProxy
// sends lines of at most 65535 bytes (the len of a log line), so a
// datagram longer than this does not come from HAProxy. It is counted
// as truncated and not handed over.
const MaxDatagram = 64 << 10

// Handler is called with each datagram, in the goroutine that receives
// from its socket; msg is valid only during the call. A datagram may be
// empty.
type Handler func(msg []byte)

// Counters are the datagrams of every socket of a Listener, since Listen.
type Counters struct {
	// Received counts the datagrams read: those handed over and the
	// truncated ones. A batch is counted before its datagrams are
	// handed over.
	Received uint64
	// Dropped counts the datagrams the kernel dropped because a receive
	// buffer was full (and for the other reasons it counts in a socket's
	// drop counter), as SO_RXQ_OVFL reports them. It is learnt from the
	// datagrams that follow the drops, so drops after the last datagram
	// received are counted when the next one comes. Unix datagram
	// sockets do not drop: the sender waits or fails, and HAProxy counts
	// the lines it could not send (DroppedLogs in show info).
	Dropped uint64
	// Truncated counts the datagrams longer than MaxDatagram; they are
	// counted in Received but not handed over.
	Truncated uint64
}

// Listener is a set of bound sockets. Serve receives from them; Close
// releases them. Its methods may be called from any goroutine.
type Listener struct {
	socks  []*socket
	batch  int
	wakeFd int // an eventfd: readable once Serve is to stop, to wake the receivers' poll

	mu      sync.Mutex
	serving bool          // guarded by mu: Serve was called
	stop    chan struct{} // closed by Close: Serve is to return
	done    chan struct{} // closed when Serve has released the sockets

	stopOnce, releaseOnce sync.Once
	releaseErr            error
}

// socket is one bound socket and its counters.
type socket struct {
	addr   Address
	bound  string      // addr with a udp port 0 resolved
	fd     int         // -1 once closed
	file   fs.FileInfo // a unixgram socket's file as bound: removed only if still the same
	linger bool        // the buffer is large enough to pause after a batch that emptied it

	received, dropped, truncated atomic.Uint64
}

// lingerMinBuffer is the least receive buffer (in ReceiveBuffer's
// bytes) a receiver pauses with: the queue fills during a pause, at
// about 1 KiB of buffer per short datagram, 1 200 of them in a pause at
// 300 000 a second.
const lingerMinBuffer = 4 << 20

// Listen binds a socket to every address and sets its receive buffer.
// A unixgram path holding a socket that no one receives on (left by a
// crash) is replaced; any other file there is an error, as is a missing
// directory. On error, Listen closes what it opened and names the
// address.
func Listen(addrs []Address, o Options) (*Listener, error) {
	if len(addrs) == 0 {
		return nil, errors.New("listen: no address")
	}
	if o.ReceiveBuffer < 0 || o.Batch < 0 || o.Batch > maxBatch {
		return nil, fmt.Errorf("listen: receive buffer %d must not be negative, and batch %d from 0 to %d", o.ReceiveBuffer, o.Batch, maxBatch)
	}
	if o.ReceiveBuffer == 0 {
		o.ReceiveBuffer = DefaultReceiveBuffer
	}
	if o.SocketMode == 0 {
		o.SocketMode = DefaultSocketMode
	}
	if o.Batch == 0 {
		o.Batch = DefaultBatch
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("listen: eventfd: %w", err)
	}
	l := &Listener{batch: o.Batch, wakeFd: wake, stop: make(chan struct{}), done: make(chan struct{})}
	var short []string // the sockets that got less than asked
	least := o.ReceiveBuffer
	for _, a := range addrs {
		s, got, err := open(a, o)
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("listen %s: %w", a, err)
		}
		l.socks = append(l.socks, s)
		if got < o.ReceiveBuffer {
			short = append(short, a.String())
			least = min(least, got)
		}
	}
	if len(short) > 0 {
		o.Log.Warn("socket receive buffer smaller than asked; raise net.core.rmem_max or give pull CAP_NET_ADMIN", "asked", o.ReceiveBuffer, "got", least, "addrs", short)
	}
	return l, nil
}

// open binds one socket and returns the receive buffer it got, in the
// bytes that ReceiveBuffer means (half what the kernel reports, which
// counts its overhead too).
func open(a Address, o Options) (*socket, int, error) {
	s := &socket{addr: a, fd: -1}
	var err error
	switch a.Network {
	case "udp":
		err = s.bindUDP()
	case "unixgram":
		err = s.bindUnix(o.SocketMode)
	default:
		err = fmt.Errorf("unknown network %q", a.Network)
	}
	var got int
	if err == nil {
		got, err = setOptions(s.fd, o.ReceiveBuffer)
	}
	if err != nil {
		s.close()
		return nil, 0, err
	}
	s.linger = got >= lingerMinBuffer
	return s, got, nil
}

// bindUDP binds s to a udp address: an IP address, a name (its first
// address), or none for every address of both families.
func (s *socket) bindUDP() error {
	host, port, err := net.SplitHostPort(s.addr.Addr)
	if err != nil {
		return err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return fmt.Errorf("port %q: %w", port, err)
	}
	var ip netip.Addr
	switch {
	case host == "":
		// Every address: IPv6 and IPv4 on one socket, as net.ListenPacket does.
		if s.fd, err = socketFd(unix.AF_INET6); err == nil {
			if err = unix.SetsockoptInt(s.fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0); err != nil {
				return fmt.Errorf("setsockopt IPV6_V6ONLY: %w", err)
			}
			return s.bind(&unix.SockaddrInet6{Port: int(p)})
		}
		ip = netip.IPv4Unspecified()
	default:
		if ip, err = netip.ParseAddr(host); err != nil {
			ua, rerr := net.ResolveUDPAddr("udp", s.addr.Addr)
			if rerr != nil {
				return rerr
			}
			ip = ua.AddrPort().Addr()
		}
	}
	ip = ip.Unmap()
	if ip.Is4() {
		if s.fd, err = socketFd(unix.AF_INET); err != nil {
			return err
		}
		return s.bind(&unix.SockaddrInet4{Port: int(p), Addr: ip.As4()})
	}
	if s.fd, err = socketFd(unix.AF_INET6); err != nil {
		return err
	}
	return s.bind(&unix.SockaddrInet6{Port: int(p), Addr: ip.As16()})
}

// bind binds s.fd to sa and notes the address bound.
func (s *socket) bind(sa unix.Sockaddr) error {
	if err := unix.Bind(s.fd, sa); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	got, err := unix.Getsockname(s.fd)
	if err != nil {
		return fmt.Errorf("getsockname: %w", err)
	}
	switch got := got.(type) {
	case *unix.SockaddrInet4:
		s.bound = netip.AddrPortFrom(netip.AddrFrom4(got.Addr), uint16(got.Port)).String()
	case *unix.SockaddrInet6:
		s.bound = netip.AddrPortFrom(netip.AddrFrom16(got.Addr), uint16(got.Port)).String()
	default:
		s.bound = s.addr.Addr
	}
	return nil
}

func socketFd(family int) (int, error) {
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	return fd, nil
}

// bindUnix binds s to a unixgram path, replacing a stale socket there,
// and gives it mode.
func (s *socket) bindUnix(mode os.FileMode) error {
	path := s.addr.Addr
	if err := clearPath(path); err != nil {
		return err
	}
	var err error
	if s.fd, err = socketFd(unix.AF_UNIX); err != nil {
		return err
	}
	if err := s.bind(&unix.SockaddrUnix{Name: path}); err != nil {
		return err
	}
	if s.file, err = os.Lstat(path); err != nil {
		return err
	}
	return os.Chmod(path, mode.Perm())
}

// setOptions asks for SO_RXQ_OVFL and a receive buffer of size bytes,
// and returns the size given.
func setOptions(fd, size int) (int, error) {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1); err != nil {
		return 0, fmt.Errorf("setsockopt SO_RXQ_OVFL: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size); err != nil {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, size); err != nil {
			return 0, fmt.Errorf("setsockopt SO_RCVBUF %d: %w", size, err)
		}
	}
	got, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
	if err != nil {
		return 0, fmt.Errorf("getsockopt SO_RCVBUF: %w", err)
	}
	return got / 2, nil // the kernel doubles what it is given, for its overhead
}

// clearPath readies path for a unixgram socket: its directory must
// exist, and a socket already there is removed if no one receives on
// it. Any other file is left alone and is an error.
func clearPath(path string) error {
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil {
		return fmt.Errorf("directory of the socket: %w", err)
	} else if !fi.IsDir() {
		return fmt.Errorf("directory of the socket: %s is not a directory", dir)
	}
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket (%v); remove it or choose another path", path, fi.Mode().Type())
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err == nil {
		c.Close()
		return fmt.Errorf("%s is a socket another process receives on", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("%s is a socket in use (%w)", path, err)
	}
	// No one receives: left by a crash.
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove stale socket: %w", err)
	}
	return nil
}

// close closes the socket and removes its file, if it is still the one
// it bound.
func (s *socket) close() error {
	var err error
	if s.fd >= 0 {
		err = unix.Close(s.fd)
		s.fd = -1
	}
	if s.file != nil {
		if fi, lerr := os.Lstat(s.addr.Addr); lerr == nil && os.SameFile(fi, s.file) {
			if rerr := os.Remove(s.addr.Addr); rerr != nil && err == nil {
				err = rerr
			}
		}
		s.file = nil
	}
	if err != nil {
		return fmt.Errorf("close %s: %w", s.addr, err)
	}
	return nil
}

// Addrs returns the addresses bound, in the order Listen was given
// them: host:port for udp (the port the kernel chose when 0 was asked),
// the path for unixgram.
func (l *Listener) Addrs() []string {
	out := make([]string, len(l.socks))
	for i, s := range l.socks {
		out[i] = s.bound
	}
	return out
}

// Counters sums the counters of every socket. Any goroutine may call it.
func (l *Listener) Counters() Counters {
	var c Counters
	for _, s := range l.socks {
		c.Received += s.received.Load()
		c.Dropped += s.dropped.Load()
		c.Truncated += s.truncated.Load()
	}
	return c
}

// Close closes the sockets and removes the unixgram socket files Listen
// made. While Serve runs, Close makes it return as a done ctx does, and
// waits for it. Calls after the first return the first's result.
func (l *Listener) Close() error {
	l.mu.Lock()
	serving := l.serving
	l.stopOnce.Do(func() { close(l.stop) })
	l.mu.Unlock()
	if serving {
		<-l.done
		return l.releaseErr
	}
	return l.release()
}

// release closes the sockets; once.
func (l *Listener) release() error {
	l.releaseOnce.Do(func() {
		var errs []error
		for _, s := range l.socks {
			errs = append(errs, s.close())
		}
		unix.Close(l.wakeFd)
		l.releaseErr = errors.Join(errs...)
	})
	return l.releaseErr
}

// Serve receives from every socket, in one goroutine each, and calls
// the handler handlers(i) gives socket i (in Listen's order) for each
// datagram, in order. A handler is called from one goroutine only, so
// it needs no lock for its own state.
//
// When ctx is done (or Close is called), Serve reads what the sockets
// had queued (a bounded number of batches), then closes them, removes
// the unixgram socket files, and returns nil. It returns the first
// error of a socket it cannot receive from, after stopping the others.
// It may be called once.
func (l *Listener) Serve(ctx context.Context, handlers func(socket int) Handler) error {
	l.mu.Lock()
	if l.serving {
		l.mu.Unlock()
		return errors.New("serve: called twice")
	}
	select {
	case <-l.stop:
		l.mu.Unlock()
		return errors.New("serve: listener closed")
	default:
	}
	l.serving = true
	l.mu.Unlock()
	defer close(l.done)
	defer l.release()

	hs := make([]Handler, len(l.socks))
	for i := range l.socks {
		if hs[i] = handlers(i); hs[i] == nil {
			return fmt.Errorf("serve %s: no handler", l.socks[i].addr)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stopping atomic.Bool
	errs := make([]error, len(l.socks))
	var wg sync.WaitGroup
	for i, s := range l.socks {
		r := newReceiver(s, l.batch, l.wakeFd, &stopping)
		wg.Go(func() {
			if err := r.run(hs[i]); err != nil {
				errs[i] = fmt.Errorf("receive on %s: %w", s.addr, err)
				cancel()
			}
		})
	}
	select {
	case <-ctx.Done():
	case <-l.stop:
	}
	stopping.Store(true)
	one := [8]byte{1}
	if _, err := unix.Write(l.wakeFd, one[:]); err != nil { // wakes every receiver's poll
		panic("BUG: logrecv: cannot write the eventfd that stops the receivers: " + err.Error())
	}
	wg.Wait()
	return errors.Join(errs...)
}
