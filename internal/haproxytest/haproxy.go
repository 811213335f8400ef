package haproxytest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// HAProxyBinary returns the path of the real haproxy binary given in
// $HAPROXYSTATS_HAPROXY, or skips the test saying how to run it.
// `make test` sets the variable, so CI always runs these tests.
func HAProxyBinary(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("HAPROXYSTATS_HAPROXY")
	if bin == "" {
		t.Skip("set HAPROXYSTATS_HAPROXY to the haproxy binary to run (make test does)")
	}
	return bin
}

// RelayBinary is the same for carbon-c-relay ($HAPROXYSTATS_RELAY).
func RelayBinary(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("HAPROXYSTATS_RELAY")
	if bin == "" {
		t.Skip("set HAPROXYSTATS_RELAY to the carbon-c-relay binary to run (make test does)")
	}
	return bin
}

// Defaults is the defaults section the tests' haproxy configurations
// start with: HTTP mode, and timeouts long enough for a request held
// open across a reload.
const Defaults = `defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
`

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// HAProxy is a set of real haproxy processes started from one
// configuration; they share their listening ports through SO_REUSEPORT
// as nbproc workers once did, and each has its own stats socket.
type HAProxy struct {
	SocketDir string
	Sockets   []string // one stats socket per process
	cmds      []*exec.Cmd
	logs      []*Buffer // what each process of cmds writes, shown when it does not come up
	bin, file string
}

// StartHAProxy starts n haproxy processes running cfg, a configuration
// without a global section; StartHAProxy adds one with a stats socket per
// process in a temporary directory. Every bind in cfg must be on
// 127.0.0.1. The processes are stopped by t.Cleanup.
func StartHAProxy(t testing.TB, bin string, n int, cfg string) *HAProxy {
	t.Helper()
	dir := t.TempDir()
	h := &HAProxy{SocketDir: filepath.Join(dir, "sockets"), bin: bin}
	if err := os.Mkdir(h.SocketDir, 0o755); err != nil {
		t.Fatal(err)
	}
	h.file = filepath.Join(dir, "haproxy.cfg")
	h.write(t, h.file, cfg)
	for i := range n {
		h.Sockets = append(h.Sockets, filepath.Join(h.SocketDir, "admin"+strconv.Itoa(i+1)+".sock"))
		cmd, log := h.start(t, h.Sockets[i])
		h.cmds, h.logs = append(h.cmds, cmd), append(h.logs, log)
		waitSocket(t, h.Sockets[i], log)
	}
	return h
}

// global is the global section StartHAProxy and WriteConfig add.
const global = "global\n    stats socket \"${SOCK}\" mode 600 level user\n    stats timeout 10s\n\n"

// write writes cfg with the global section to file and checks it with
// haproxy -c.
func (h *HAProxy) write(t testing.TB, file, cfg string) {
	t.Helper()
	if err := os.WriteFile(file, []byte(global+cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	check := exec.Command(h.bin, "-c", "-q", "-f", file)
	check.Env = append(os.Environ(), "SOCK="+filepath.Join(h.SocketDir, "check.sock"))
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
}

// WriteConfig replaces the configuration of h with cfg, a configuration
// as StartHAProxy takes, after checking it with haproxy -c. The running
// processes keep the old one; Reload replaces them with processes that
// run cfg, as a reload after an edit of haproxy.cfg does.
func (h *HAProxy) WriteConfig(t testing.TB, cfg string) {
	t.Helper()
	tmp := h.file + ".new"
	h.write(t, tmp, cfg)
	if err := os.Rename(tmp, h.file); err != nil {
		t.Fatal(err)
	}
}

// start starts one process with the stats socket sock, and returns it
// with what it writes.
func (h *HAProxy) start(t testing.TB, sock string, extra ...string) (*exec.Cmd, *Buffer) {
	t.Helper()
	cmd := Command(h.bin, append([]string{"-db", "-f", h.file}, extra...)...)
	cmd.Env = append(os.Environ(), "SOCK="+sock)
	log := new(Buffer)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, log
}

// Reload replaces process i the way an init script reloads HAProxy: a
// new process starts with -sf, takes over the listeners and the stats
// socket path, and the old one finishes its connections and exits. It
// returns once the old process is gone.
func (h *HAProxy) Reload(t testing.TB, i int) {
	t.Helper()
	old, oldLog := h.cmds[i], h.logs[i]
	h.cmds[i], h.logs[i] = h.start(t, h.Sockets[i], "-sf", strconv.Itoa(old.Process.Pid))
	done := make(chan struct{})
	go func() {
		old.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second): // bounds a failing test only
		t.Fatalf("old haproxy process did not exit after -sf; its log:\n%s", oldLog)
	}
	waitSocket(t, h.Sockets[i], h.logs[i])
}

// Kill stops process i at once, as a crash or kill -9 does: its stats
// socket file stays, with no one behind it.
func (h *HAProxy) Kill(t testing.TB, i int) {
	t.Helper()
	h.cmds[i].Process.Kill()
	h.cmds[i].Wait()
}

// Restart starts process i again after Kill, and waits for its stats
// socket.
func (h *HAProxy) Restart(t testing.TB, i int) {
	t.Helper()
	h.cmds[i], h.logs[i] = h.start(t, h.Sockets[i])
	waitSocket(t, h.Sockets[i], h.logs[i])
}

// waitSocket waits until the stats socket at path accepts connections;
// log is what its process wrote, shown when it does not.
func waitSocket(t testing.TB, path string, log fmt.Stringer) {
	t.Helper()
	WaitFor(t, "haproxy stats socket "+path+" comes up", 30*time.Second, log, func() bool {
		c, err := net.Dial("unix", path)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}

// Query sends one command to a stats socket the way socat would and
// returns the raw reply.
func Query(t testing.TB, socket, cmd string) []byte {
	t.Helper()
	c, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(cmd + "\n")); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	buf := make([]byte, 64*1024)
	for {
		n, err := c.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return []byte(b.String())
}

// Silent is a backend server on 127.0.0.1 that accepts connections and
// never answers until Release: a request through it stays in flight, and
// keeps an old HAProxy worker alive after a reload.
type Silent struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn // guarded by mu
}

// NewSilent starts a Silent server, closed by t.Cleanup.
func NewSilent(t testing.TB) *Silent {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Silent{Listener: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.Release() })
	return s
}

// Held returns how many connections it holds.
func (s *Silent) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Release answers every held request with an empty 200 and closes it.
func (s *Silent) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
		c.Close()
	}
	s.conns = nil
}
