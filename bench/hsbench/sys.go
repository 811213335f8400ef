package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// clockTick is USER_HZ, the unit of the CPU times in /proc/<pid>/stat:
// 100 on every Linux architecture Go supports.
const clockTick = 100

// cpuTime returns the user+system CPU time a process used so far.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name is in parentheses and may hold spaces: fields
	// are counted after the last ')'. utime and stime are fields 14, 15.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * time.Second / clockTick, nil
}

// selfCPU returns the CPU time of this process, GC included, from
// getrusage (microsecond resolution).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// memKB returns a field of /proc/<pid>/status in kB: VmHWM is the peak
// resident set size, VmRSS the current one.
func memKB(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, field)
}

func mb(kb int64) float64 { return float64(kb) / 1024 }

// procs keeps every process the benchmark starts, so that all of them
// are killed however it ends.
var procs struct {
	mu   sync.Mutex
	cmds []*exec.Cmd
}

// start starts a command whose output goes to logFile, and registers it.
func start(logFile string, env []string, name string, args ...string) (*exec.Cmd, error) {
	out, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	out.Close() // the child has its own descriptor
	procs.mu.Lock()
	procs.cmds = append(procs.cmds, cmd)
	procs.mu.Unlock()
	return cmd, nil
}

// stop ends cmd with SIGTERM, then SIGKILL after two seconds, and reaps it.
func stop(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	procs.mu.Lock()
	i := slices.Index(procs.cmds, cmd)
	if i < 0 {
		procs.mu.Unlock()
		return // already stopped
	}
	procs.cmds = slices.Delete(procs.cmds, i, i+1)
	procs.mu.Unlock()
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// stopAll stops every process still running, newest first.
func stopAll() {
	procs.mu.Lock()
	cmds := slices.Clone(procs.cmds)
	procs.mu.Unlock()
	for i := len(cmds) - 1; i >= 0; i-- {
		stop(cmds[i])
	}
}

// waitFor polls cond every 2 ms until it holds (nil) or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s", timeout, what)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// sink is a null carbon: a TCP listener on 127.0.0.1 that counts the
// lines it receives and remembers the values of the lines whose path
// ends with one of watch, by timestamp.
type sink struct {
	ln    net.Listener
	watch []string
	lines atomic.Int64
	bytes atomic.Int64
	conns atomic.Int64
	wg    sync.WaitGroup

	mu      sync.Mutex
	seen    map[string]map[int64]float64   // suffix → ts → value; guarded by mu
	arrived map[string]map[int64]time.Time // suffix → ts → when its line arrived; guarded by mu
}

func newSink(watch ...string) (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{ln: ln, watch: watch, seen: map[string]map[int64]float64{}, arrived: map[string]map[int64]time.Time{}}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			s.wg.Go(func() { s.read(c) })
		}
	})
	return s, nil
}

func (s *sink) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *sink) read(c net.Conn) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 1<<20)
	for {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			continue // a line longer than 1 MiB: not ours, skip it
		}
		if err != nil {
			return
		}
		s.lines.Add(1)
		s.bytes.Add(int64(len(line)))
		if len(s.watch) > 0 {
			s.check(line)
		}
	}
}

func (s *sink) check(line []byte) {
	f := bytes.Fields(line)
	if len(f) != 3 {
		return
	}
	for _, w := range s.watch {
		if bytes.HasSuffix(f[0], []byte(w)) {
			v, _ := strconv.ParseFloat(string(f[1]), 64)
			ts, _ := strconv.ParseInt(string(f[2]), 10, 64)
			s.mu.Lock()
			if s.seen[w] == nil {
				s.seen[w], s.arrived[w] = map[int64]float64{}, map[int64]time.Time{}
			}
			s.seen[w][ts] = v
			if _, ok := s.arrived[w][ts]; !ok {
				s.arrived[w][ts] = time.Now()
			}
			s.mu.Unlock()
		}
	}
}

// arrival returns when the first line for suffix w at ts arrived.
func (s *sink) arrival(w string, ts int64) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.arrived[w][ts]
	return t, ok
}

// value returns the value seen for suffix w at ts.
func (s *sink) value(w string, ts int64) (float64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.seen[w][ts]
	return v, ok
}

func (s *sink) close() {
	s.ln.Close()
	// Readers end when their peers close; do not wait for them here.
}

// copyDir copies the regular files of src into dst, created.
func copyDir(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		in, err := os.Open(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		out, err := os.Create(filepath.Join(dst, e.Name()))
		if err != nil {
			in.Close()
			return err
		}
		_, err = io.Copy(out, in)
		in.Close()
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
