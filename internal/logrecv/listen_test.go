package logrecv

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// deadline bounds every wait of these tests.
const deadline = 10 * time.Second

var discard = slog.New(slog.DiscardHandler)

// listen binds addrs, or fails the test; the listener is closed at the
// test's end.
func listen(t testing.TB, o Options, addrs ...string) *Listener {
	t.Helper()
	var as []Address
	for _, s := range addrs {
		a, err := ParseAddress(s)
		if err != nil {
			t.Fatal(err)
		}
		as = append(as, a)
	}
	if o.Log == nil {
		o.Log = discard
	}
	l, err := Listen(as, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// serve runs l.Serve until the returned stop is called (or the test
// ends); stop returns Serve's result.
func serve(t testing.TB, l *Listener, handlers func(int) Handler) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Serve(ctx, handlers) }()
	var err error
	stopped := false
	stop = func() error {
		if stopped {
			return err
		}
		stopped = true
		cancel()
		select {
		case err = <-done:
		case <-time.After(deadline):
			t.Fatalf("Serve did not return within %v of its ctx being done", deadline)
		}
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// dial connects to the i-th address of l.
func dial(t testing.TB, l *Listener, i int) net.Conn {
	t.Helper()
	network := l.socks[i].addr.Network
	c, err := net.Dial(network, l.Addrs()[i])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// wait waits for a value from ch, for at most deadline.
func wait[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(deadline):
		t.Fatalf("no %s within %v", what, deadline)
		panic("unreachable")
	}
}

func hasIPv6(t *testing.T) {
	c, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	c.Close()
}

// TestReceive sends known datagrams to each kind of socket, all served
// by one Listener, and checks each socket's handler saw its own, whole
// and in order.
func TestReceive(t *testing.T) {
	addrs := []string{"udp://127.0.0.1:0", "unixgram://" + filepath.Join(t.TempDir(), "log.sock")}
	if c, err := net.ListenPacket("udp6", "[::1]:0"); err == nil {
		c.Close()
		addrs = append(addrs, "udp://[::1]:0")
	} else {
		t.Logf("no IPv6 loopback, not tested: %v", err)
	}
	l := listen(t, Options{}, addrs...)
	const n = 2000
	got := make([][]string, len(addrs))
	done := make(chan int, len(addrs))
	serve(t, l, func(i int) Handler {
		return func(msg []byte) {
			got[i] = append(got[i], string(msg))
			if len(got[i]) == n {
				done <- i
			}
		}
	})
	for i := range addrs {
		c := dial(t, l, i)
		for j := range n {
			if _, err := fmt.Fprintf(c, "<134>socket %d line %d", i, j); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range addrs {
		wait(t, done, "datagrams")
	}
	for i, a := range addrs {
		for j, msg := range got[i] {
			if want := fmt.Sprintf("<134>socket %d line %d", i, j); msg != want {
				t.Fatalf("%s: datagram %d = %q, want %q", a, j, msg, want)
			}
		}
	}
	if c := l.Counters(); c != (Counters{Received: n * uint64(len(addrs))}) {
		t.Errorf("Counters = %+v, want %d received", c, n*len(addrs))
	}
}

// TestAddrs checks that a udp port 0 is resolved.
func TestAddrs(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s")
	l := listen(t, Options{}, "udp://127.0.0.1:0", "unixgram://"+sock)
	a := l.Addrs()
	if len(a) != 2 || !strings.HasPrefix(a[0], "127.0.0.1:") || a[0] == "127.0.0.1:0" || a[1] != sock {
		t.Errorf("Addrs = %q", a)
	}
}

// TestUnixgramFile checks what Listen does with the path of a unixgram
// socket, and that Serve removes the file it made.
func TestUnixgramFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "log.sock")
	// A socket left by a crash: bound, then closed without unlinking.
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	l := listen(t, Options{SocketMode: 0o620}, "unixgram://"+path)
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o620 {
		t.Fatalf("after Listen, %s: %v, %v; want a socket of mode 0620", path, fi.Mode(), err)
	}

	// A socket someone receives on is not taken.
	_, err = Listen([]Address{{"unixgram", path}}, Options{})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "another process receives on") {
		t.Errorf("Listen on a live socket = %v, want an error naming it", err)
	}

	received := make(chan string, 1)
	stop := serve(t, l, func(int) Handler { return func(msg []byte) { received <- string(msg) } })
	if _, err := dial(t, l, 0).Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if got := wait(t, received, "datagram"); got != "hello" {
		t.Errorf("received %q", got)
	}
	if err := stop(); err != nil {
		t.Errorf("Serve = %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after Serve, %s: %v; want it removed", path, err)
	}

	// Anything else at the path is left alone.
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Listen([]Address{{"unixgram", file}}, Options{})
	if err == nil || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("Listen on a regular file = %v, want an error naming it", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep" {
		t.Errorf("the regular file was changed: %q", b)
	}
	missing := filepath.Join(dir, "no", "log.sock")
	_, err = Listen([]Address{{"unixgram", missing}}, Options{})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "no")) {
		t.Errorf("Listen in a missing directory = %v, want an error naming it", err)
	}
}

// TestListenFails checks that a failing address closes the sockets
// bound before it and leaves no file.
func TestListenFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.sock")
	taken, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, err = Listen([]Address{{"unixgram", path}, {"udp", taken.LocalAddr().String()}}, Options{Log: discard})
	if err == nil || !strings.Contains(err.Error(), "udp://"+taken.LocalAddr().String()) {
		t.Errorf("Listen on a port taken = %v, want an error naming it", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after a failed Listen, %s: %v; want it removed", path, err)
	}
	if _, err := Listen([]Address{{"udp", "127.0.0.1:0"}}, Options{Batch: 2000}); err == nil {
		t.Error("Listen accepted a batch of 2000")
	}
}

// TestServeOnce checks Serve's misuse and Close without Serve.
func TestServeOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.sock")
	l := listen(t, Options{}, "unixgram://"+path)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Serve(ctx, func(int) Handler { return nil }); err == nil {
		t.Error("Serve accepted a nil handler")
	}
	if err := l.Serve(ctx, func(int) Handler { return func([]byte) {} }); err == nil {
		t.Error("a second Serve returned nil")
	}
	if err := l.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after Close, %s: %v; want it removed", path, err)
	}
}

// TestStopDrains checks that the datagrams queued when ctx is done are
// handed over before Serve returns.
func TestStopDrains(t *testing.T) {
	l := listen(t, Options{}, "udp://127.0.0.1:0")
	release := make(chan struct{})
	blocked := make(chan struct{})
	var seen atomic.Int64
	stop := serve(t, l, func(int) Handler {
		return func([]byte) {
			if seen.Add(1) == 1 {
				close(blocked)
				<-release
			}
		}
	})
	c := dial(t, l, 0)
	c.Write([]byte("first"))
	wait(t, blocked, "first datagram")
	const n = 500
	for range n {
		if _, err := c.Write([]byte("queued")); err != nil {
			t.Fatal(err)
		}
	}
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	close(release)
	if err := wait(t, stopped, "end of Serve"); err != nil {
		t.Errorf("Serve = %v", err)
	}
	if got := seen.Load(); got != n+1 {
		t.Errorf("handled %d datagrams, want %d", got, n+1)
	}
}

// flush sends end markers through send until the handler reports (on
// ends) the last one sent: every datagram sent before it has then been
// received or counted as dropped. It returns how many it sent.
func flush(t testing.TB, send func(marker int), ends <-chan int) int {
	t.Helper()
	for i := range 100 {
		send(i)
		timeout := time.After(deadline / 50)
	waiting:
		for {
			select {
			case j := <-ends:
				if j == i {
					return i + 1
				}
			case <-timeout:
				break waiting // dropped, or slow: send another
			}
		}
	}
	t.Fatal("no end marker came back in 100 tries")
	return 0
}

// TestDrops floods a socket with a small receive buffer while its
// handler is blocked, and checks that every datagram is received or
// counted as dropped.
func TestDrops(t *testing.T) {
	for _, addr := range []string{"udp://127.0.0.1:0", "udp://[::1]:0"} {
		t.Run(addr, func(t *testing.T) {
			if strings.Contains(addr, "::1") {
				hasIPv6(t)
			}
			l := listen(t, Options{ReceiveBuffer: 4 << 10}, addr)
			release := make(chan struct{})
			blocked := make(chan struct{})
			ends := make(chan int, 100)
			var seen atomic.Int64
			serve(t, l, func(int) Handler {
				return func(msg []byte) {
					if seen.Add(1) == 1 {
						close(blocked)
						<-release
					}
					var i int
					if _, err := fmt.Sscanf(string(msg), "end %d", &i); err == nil {
						ends <- i
					}
				}
			})
			c := dial(t, l, 0)
			line := []byte(strings.Repeat("x", 200))
			c.Write(line)
			wait(t, blocked, "first datagram")
			const flood = 3000
			for range flood {
				if _, err := c.Write(line); err != nil {
					t.Fatal(err)
				}
			}
			close(release)
			sent := 1 + flood + flush(t, func(i int) { fmt.Fprintf(c, "end %d", i) }, ends)
			got := l.Counters()
			t.Logf("sent %d, %+v", sent, got)
			if got.Received+got.Dropped != uint64(sent) || got.Dropped == 0 {
				t.Errorf("sent %d; Counters = %+v: want received + dropped = sent, some dropped", sent, got)
			}
			if got.Received != uint64(seen.Load()) {
				t.Errorf("Received = %d, handler saw %d", got.Received, seen.Load())
			}
		})
	}
}

// TestHostile sends what HAProxy does not: empty datagrams, the largest
// UDP one, one larger than MaxDatagram, and descriptors over a unix
// socket.
func TestHostile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.sock")
	l := listen(t, Options{}, "udp://127.0.0.1:0", "unixgram://"+path)
	sizes := make(chan int, 100)
	serve(t, l, func(int) Handler { return func(msg []byte) { sizes <- len(msg) } })

	u := dial(t, l, 0)
	for _, n := range []int{0, 65507, 1} {
		if _, err := u.Write(make([]byte, n)); err != nil {
			t.Fatal(err)
		}
		if got := wait(t, sizes, "datagram"); got != n {
			t.Errorf("udp: handed %d bytes, want %d", got, n)
		}
	}

	x := dial(t, l, 1).(*net.UnixConn)
	if err := x.SetWriteBuffer(1 << 20); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{MaxDatagram + 1, MaxDatagram, 0} {
		if _, err := x.Write(make([]byte, n)); err != nil {
			t.Fatal(err)
		}
	}
	if got := wait(t, sizes, "datagram"); got != MaxDatagram {
		t.Errorf("unixgram: handed %d bytes, want %d (the longer one not handed over)", got, MaxDatagram)
	}
	if got := wait(t, sizes, "datagram"); got != 0 {
		t.Errorf("unixgram: handed %d bytes, want 0", got)
	}

	// Descriptors passed are closed, not kept.
	before := openFiles(t)
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	for range 20 {
		if err := unix.Sendmsg(fd, []byte("fd"), unix.UnixRights(int(f.Fd()), int(f.Fd())), &unix.SockaddrUnix{Name: path}, 0); err != nil {
			t.Fatal(err)
		}
		if got := wait(t, sizes, "datagram"); got != 2 {
			t.Errorf("unixgram: handed %d bytes, want 2", got)
		}
	}
	if after := openFiles(t); after > before+2 { // f and fd
		t.Errorf("open files: %d before, %d after 20 datagrams passing descriptors", before, after)
	}
	if c := l.Counters(); c != (Counters{Received: 3 + 3 + 20, Truncated: 1}) {
		t.Errorf("Counters = %+v", c)
	}
}

func openFiles(t *testing.T) int {
	t.Helper()
	d, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count open files: %v", err)
	}
	return len(d)
}

// TestNoAllocs checks that receiving allocates nothing per datagram.
func TestNoAllocs(t *testing.T) {
	l := listen(t, Options{}, "udp://127.0.0.1:0")
	const chunk, chunks = 500, 20
	done := make(chan struct{}, 1)
	var n int
	serve(t, l, func(int) Handler {
		return func([]byte) {
			if n++; n%chunk == 0 {
				done <- struct{}{}
			}
		}
	})
	c := dial(t, l, 0)
	line := []byte(strings.Repeat("x", 200))
	timeout := time.After(deadline) // one timer for every wait: a wait allocates nothing
	round := func() {
		for range chunk {
			if _, err := c.Write(line); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case <-done:
		case <-timeout:
			t.Fatalf("%d datagrams received within %v", l.Counters().Received, deadline)
		}
	}
	round() // the receiver's buffers, the poller's first wait
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range chunks {
		round()
	}
	runtime.ReadMemStats(&after)
	mallocs := after.Mallocs - before.Mallocs
	t.Logf("%d allocations for %d datagrams", mallocs, chunk*chunks)
	if per := float64(mallocs) / (chunk * chunks); per > 0.001 { // a few, of the runtime
		t.Errorf("%d allocations for %d datagrams sent and received: %.3f each", mallocs, chunk*chunks, per)
	}
	if d := l.Counters().Dropped; d != 0 {
		t.Errorf("%d dropped", d)
	}
}

// TestCloseStopsServe checks that Close while Serve runs makes it
// return nil, having released the sockets.
func TestCloseStopsServe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.sock")
	l := listen(t, Options{}, "unixgram://"+path, "udp://127.0.0.1:0")
	seen := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- l.Serve(context.Background(), func(int) Handler { return func([]byte) { seen <- struct{}{} } })
	}()
	dial(t, l, 1).Write([]byte("x"))
	wait(t, seen, "datagram")
	if err := l.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if err := wait(t, done, "end of Serve"); err != nil {
		t.Errorf("Serve = %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after Close, %s: %v; want it removed", path, err)
	}
	if err := l.Serve(context.Background(), func(int) Handler { return func([]byte) {} }); err == nil {
		t.Error("Serve after Close returned nil")
	}
}

// TestStopWhileFlooded checks that Serve returns, within its bound,
// while a sender goes on.
func TestStopWhileFlooded(t *testing.T) {
	l := listen(t, Options{}, "udp://127.0.0.1:0")
	stop := serve(t, l, func(int) Handler { return func([]byte) {} })
	c := dial(t, l, 0)
	quit := make(chan struct{})
	sent := make(chan int)
	go func() {
		n := 0
		defer func() { sent <- n }()
		line := []byte(strings.Repeat("x", 200))
		for ; n < 10_000_000; n++ {
			select {
			case <-quit:
				return
			default:
			}
			c.Write(line)
		}
	}()
	for start := time.Now(); l.Counters().Received < 1000; runtime.Gosched() {
		if time.Since(start) > deadline {
			t.Fatalf("%+v within %v", l.Counters(), deadline)
		}
	}
	err := stop()
	close(quit)
	n := wait(t, sent, "sender's end")
	if err != nil {
		t.Errorf("Serve = %v", err)
	}
	t.Logf("sent %d, %+v", n, l.Counters())
}

// TestUDPForms receives on every address (both families on one socket)
// and on a name.
func TestUDPForms(t *testing.T) {
	l := listen(t, Options{}, "udp://:0", "udp://localhost:0")
	got := make(chan string, 10)
	serve(t, l, func(i int) Handler { return func(msg []byte) { got <- fmt.Sprint(i, string(msg)) } })
	_, port, _ := net.SplitHostPort(l.Addrs()[0])
	to := []string{"127.0.0.1:" + port}
	if c, err := net.ListenPacket("udp6", "[::1]:0"); err == nil {
		c.Close()
		to = append(to, "[::1]:"+port)
	}
	for _, a := range to {
		c, err := net.Dial("udp", a)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte(a))
		if m := wait(t, got, "datagram to "+a); m != "0"+a {
			t.Errorf("sent %q to %s, socket 0 got %q", a, a, m)
		}
	}
	dial(t, l, 1).Write([]byte("name"))
	if m := wait(t, got, "datagram to localhost"); m != "1name" {
		t.Errorf("socket 1 got %q", m)
	}
}

// TestReceiveBufferShort checks that a buffer smaller than asked is
// logged once, for every socket together.
func TestReceiveBufferShort(t *testing.T) {
	var out strings.Builder
	log := slog.New(slog.NewTextHandler(&out, nil))
	// More than the kernel gives even with SO_RCVBUFFORCE: it caps at INT_MAX/2.
	listen(t, Options{ReceiveBuffer: 1<<31 - 1, Log: log}, "udp://127.0.0.1:0", "udp://127.0.0.1:0")
	if n := strings.Count(out.String(), "\n"); n != 1 || !strings.Contains(out.String(), "asked=2147483647") || strings.Count(out.String(), "udp://127.0.0.1:0") != 2 {
		t.Errorf("log = %q, want one line naming both sockets and the sizes", out.String())
	}
}
