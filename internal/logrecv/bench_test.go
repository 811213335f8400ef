package logrecv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// benchLine is a 200-byte line as option httplog sends it.
var benchLine = func() []byte {
	s := `<134>Dec  8 02:31:04 haproxy[1234]: 10.0.3.17:51234 [08/Dec/2026:02:31:04.123] www~ app/srv12 0/0/1/23/24 200 1834 - - ---- 120/110/5/1/0 0/0 "GET /api/v1/items HTTP/1.1"`
	return []byte(s + strings.Repeat(" ", 200-len(s)))
}()

// senderEnv, when set in the environment of the test binary, makes it
// a sender of benchmark lines instead: "ADDR LINES RATE" (RATE in lines
// per second, 0 for as fast as it goes). The benchmark runs its
// senders as processes of their own, as HAProxy is, so that the CPU
// the process reports is the receiver's.
const senderEnv = "LOGRECV_BENCH_SENDER"

func TestMain(m *testing.M) {
	if v := os.Getenv(senderEnv); v != "" {
		if err := sender(v); err != nil {
			fmt.Fprintln(os.Stderr, "sender:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func sender(v string) error {
	var addr string
	var lines, rate int
	if _, err := fmt.Sscan(v, &addr, &lines, &rate); err != nil {
		return fmt.Errorf("%s=%q: %w", senderEnv, v, err)
	}
	c, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	burst := max(rate/1000, 1)
	start := time.Now()
	for i := range lines {
		if rate > 0 && i%burst == 0 {
			// A millisecond's worth at a time.
			if d := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); d > 0 {
				time.Sleep(d) // the benchmark's pace, not a wait
			}
		}
		if _, err := c.Write(benchLine); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkReceiveUDP has sender processes send b.N 200-byte lines over
// loopback UDP to a socket with the default options, paced at a rate or
// as fast as they go. It reports the lines received per second, those
// the kernel dropped, and the CPU the receiver used (this process), in
// percent of one core.
func BenchmarkReceiveUDP(b *testing.B) {
	for _, bc := range []struct {
		rate, senders int // rate: lines per second in all, 0 for unpaced
	}{{50_000, 1}, {300_000, 2}, {0, 1}, {0, 2}} {
		name := fmt.Sprintf("rate=%d/senders=%d", bc.rate, bc.senders)
		if bc.rate == 0 {
			name = fmt.Sprintf("unpaced/senders=%d", bc.senders)
		}
		b.Run(name, func(b *testing.B) { benchReceive(b, bc.rate, bc.senders) })
	}
}

func benchReceive(b *testing.B, rate, senders int) {
	l := listen(b, Options{}, "udp://127.0.0.1:0")
	ends := make(chan int, 100)
	var first time.Time // of the first line received: the senders' start is not timed
	serve(b, l, func(int) Handler {
		return func(msg []byte) {
			if first.IsZero() {
				first = time.Now()
			}
			if len(msg) < 10 {
				var i int
				if _, err := fmt.Sscanf(string(msg), "end %d", &i); err == nil {
					ends <- i
				}
			}
		}
	})
	cmds := make([]*exec.Cmd, senders)
	for s := range cmds {
		lines := b.N / senders
		if s == 0 {
			lines += b.N % senders
		}
		cmds[s] = exec.Command(os.Args[0], "-test.run=^$")
		cmds[s].Env = append(os.Environ(), fmt.Sprintf("%s=%s %d %d", senderEnv, l.Addrs()[0], lines, rate/senders))
		cmds[s].Stderr = os.Stderr
	}
	cpu0 := cpuTime(b, unix.RUSAGE_SELF)
	child0 := cpuTime(b, unix.RUSAGE_CHILDREN)
	b.ResetTimer()
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			b.Fatal(err)
		}
	}
	flush(b, func(i int) { fmt.Fprintf(dial(b, l, 0), "end %d", i) }, ends)
	b.StopTimer()
	elapsed := time.Since(first) // first is read after the handler's send on ends
	c := l.Counters()
	b.ReportMetric(float64(c.Received)/elapsed.Seconds(), "lines/s")
	b.ReportMetric(float64(c.Dropped), "drops")
	b.ReportMetric(100*(cpuTime(b, unix.RUSAGE_SELF)-cpu0).Seconds()/elapsed.Seconds(), "recv-cpu%")
	b.ReportMetric(100*(cpuTime(b, unix.RUSAGE_CHILDREN)-child0).Seconds()/elapsed.Seconds(), "send-cpu%")
}

// cpuTime is the CPU time, user and system, that who (RUSAGE_SELF or
// RUSAGE_CHILDREN) has used.
func cpuTime(b *testing.B, who int) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(who, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
