// Package latency holds HAProxy's request timers as histograms that
// merge exactly: per frontend, backend and server, one per timer, on the
// base-2 exponential scale of Prometheus native histograms (schema 3),
// with whole milliseconds below 16 ms counted exactly. A Set is what one
// round of log lines (or a whole fleet bucket, or the time since a
// daemon started) adds up to; it travels in the snapshot as a file of
// kind spool.Latency.
package latency

// Timer is one of HAProxy's per-request timers, in whole milliseconds.
type Timer uint8

// The timers, as HAProxy's log formats name them (configuration.txt
// §8.4).
const (
	TR Timer = iota // %TR: time to receive the full request headers
	Tw              // %Tw: time spent waiting in queues
	Tc              // %Tc: time to connect to the server
	Tr              // %Tr: server response time
	Ta              // %Ta: active time of the HTTP request
	Tt              // %Tt: total session time
	NumTimers
)

var timerNames = [NumTimers]string{"TR", "Tw", "Tc", "Tr", "Ta", "Tt"}

// String returns the timer's name as HAProxy writes it.
func (t Timer) String() string {
	if t < NumTimers {
		return timerNames[t]
	}
	return "T?"
}

// TimerOf returns the timer called name ("TR", "Tw", ...).
func TimerOf(name string) (Timer, bool) {
	for t, n := range timerNames {
		if n == name {
			return Timer(t), true
		}
	}
	return 0, false
}

// Line is what one log line says that histograms count: the names as
// HAProxy wrote them (byte slices into the datagram, valid only during
// the call they are passed to), the timers the format carries, and the
// termination state. A parser fills one Line again and again: it must
// not allocate.
type Line struct {
	Frontend []byte // %ft without the '~' HAProxy appends for SSL, or %f
	Backend  []byte // %b
	Server   []byte // %s; "<NOSRV>" when no server was reached
	// Timers[t] is timer t in milliseconds, -1 when HAProxy logged -1
	// (the request was aborted before that step); it is meaningful only
	// when bit t of Has is set.
	Timers [NumTimers]int64
	Has    uint8
	// Term is the first two characters of %tsc or %ts ("--", "cD", "SC",
	// ...); meaningful only when HasTerm.
	Term    [2]byte
	HasTerm bool
}

// Set records timer t as v.
func (l *Line) Set(t Timer, v int64) {
	l.Timers[t] = v
	l.Has |= 1 << t
}

// Reset empties l for the next line.
func (l *Line) Reset() {
	*l = Line{Frontend: l.Frontend[:0], Backend: l.Backend[:0], Server: l.Server[:0]}
}
