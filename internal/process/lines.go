package process

import (
	"io"
	"sync"

	"github.com/haproxystats-go/haproxystats/internal/blob"
	"github.com/haproxystats-go/haproxystats/internal/metric"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// snapLines is a snapshot's datapoints as Graphite lines that are
// rendered as a sink writes them (stats.Encoder), never held as metrics:
// for 40 000 servers that is the difference between hundreds of MB and a
// few. It holds the parsed show stat replies (stats.Sites) while the
// snapshot is in hand. A sink that keeps it after it was delivered (the
// Graphite sender, for its replay window) renders it again from the show
// stat replies, which it holds (blob.Reply: an open file outlives the
// removal of the snapshot's directory) until the last holder calls
// Release.
type snapLines struct {
	r    *rendering
	stat []blob.Reply // the show stat replies, held
	n    int          // lines

	// writers is how many sinks will write the lines or take the
	// exposition; once each has from the parsed replies, those are
	// dropped and written is called, once; or by the last Release, when
	// not every writer got to them.
	writers int
	written func()
	once    sync.Once

	mu    sync.Mutex
	wrote int          // guarded by mu; first writes done from sites
	sites *stats.Sites // guarded by mu; nil once every sink wrote the lines
	// exp is the exposition made of sites (nil without an
	// ExpositionSink); its Sites go with l's, or the tables stayed
	// reachable through it until the snapshot was delivered, while the
	// next snapshot was parsed: two snapshots' tables at once with a
	// backlog. Guarded by mu.
	exp  *stats.Exposition
	refs int // guarded by mu; holders: the processor, and each sink that kept it
}

// Len returns how many lines WriteTo writes.
func (l *snapLines) Len() int { return l.n }

// Time returns the snapshot's time.
func (l *snapLines) Time() int64 { return l.r.ts }

// WriteTo renders the lines into w in pieces of about stats.FlushSize
// bytes. Concurrent calls are safe: the Sites are read-only.
func (l *snapLines) WriteTo(w io.Writer) (int64, error) {
	l.mu.Lock()
	// A first write, as each sink makes one, renders from the parsed
	// replies, if there are any: the rendering may have no site blocks
	// (no show stat reply was usable), and it is counted all the same.
	sites, first := l.sites, l.wrote < l.writers
	l.mu.Unlock()
	if sites == nil && l.r.needsSites() {
		var err error
		if sites, err = parseSites(l.stat, &l.r.o); err != nil {
			return 0, &metric.SourceError{Err: err}
		}
	}
	cw := &countWriter{w: w}
	e := stats.NewEncoder(cw)
	if err := l.r.walk(e, sites); err != nil {
		return cw.n, &metric.SourceError{Err: err}
	}
	if err := e.Flush(); err != nil {
		return cw.n, err
	}
	if first {
		l.wroteOnce()
	}
	return cw.n, nil
}

// wroteOnce counts a sink that has what it needs of the parsed replies:
// once every sink has, they are dropped and written is called.
func (l *snapLines) wroteOnce() {
	l.mu.Lock()
	l.wrote++
	done := l.wrote == l.writers
	if done {
		l.sites = nil // a later write parses the replies again
		if l.exp != nil {
			l.exp.Sites = nil // exposed already: Expose keeps the first exposition of a time
		}
	}
	l.mu.Unlock()
	if done {
		l.allWrote()
	}
}

// Retain adds a holder.
func (l *snapLines) Retain() {
	l.mu.Lock()
	l.refs++
	l.mu.Unlock()
}

// Release lets go of the lines; the last holder lets go of the replies.
func (l *snapLines) Release() {
	l.mu.Lock()
	l.refs--
	last := l.refs == 0
	l.mu.Unlock()
	if last {
		for _, r := range l.stat {
			r.Release()
		}
		l.allWrote() // a delivery given up before every sink wrote them
	}
}

// allWrote calls written, once.
func (l *snapLines) allWrote() {
	l.once.Do(func() {
		if l.written != nil {
			l.written()
		}
	})
}

// countWriter passes writes on to w and keeps their total and first
// error.
type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}
