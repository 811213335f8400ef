package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// The [process] options of the health endpoints (/healthz, /readyz) and
// of the conditions behind them. New in the Go version, so they are not
// in the original's built-in table that -p prints: their defaults live
// here.
const (
	healthListenOption         = "health-listen"
	readyMaxAgeOption          = "ready-max-age-intervals"
	readyMaxQueueOption        = "ready-max-queue"
	readyMaxSinksFailingOption = "ready-max-sinks-failing"
	liveMaxStallOption         = "live-max-stall"
)

// The defaults of the readiness and liveness thresholds.
const (
	// DefaultReadyMaxAgeIntervals: the newest snapshot delivered may be
	// three pull intervals old; one round lost, or late, is normal.
	DefaultReadyMaxAgeIntervals = 3
	// DefaultReadyMaxQueue: 30 snapshots waiting (five minutes at the
	// default pull-interval), a twelfth of pull's queue-size.
	DefaultReadyMaxQueue = 30
	// DefaultReadyMaxSinksFailing: a relay restart takes seconds, an
	// outage minutes.
	DefaultReadyMaxSinksFailing = time.Minute
	// DefaultLiveMaxStall is longer than any rendering takes (100 000
	// servers render in seconds) and than a slow carbon takes to accept
	// one snapshot.
	DefaultLiveMaxStall = 5 * time.Minute
)

// maxReadyMaxAgeIntervals bounds ready-max-age-intervals, so that the
// age it makes of a pull-interval stays a duration.
const maxReadyMaxAgeIntervals = 10000

// health decodes the health options of [process].
func (d *decoder) health(c *Process) {
	const s = "process"
	c.ReadyMaxAgeIntervals = DefaultReadyMaxAgeIntervals
	c.ReadyMaxQueue = DefaultReadyMaxQueue
	c.ReadyMaxSinksFailing = DefaultReadyMaxSinksFailing
	c.LiveMaxStall = DefaultLiveMaxStall
	if d.f.has(s, healthListenOption) {
		if v, from, ok := d.value(s, healthListenOption); ok {
			if why := checkListen(v); why != "" {
				d.failf(from, healthListenOption, "%s", why)
			}
			c.HealthListen = v
		}
	}
	if d.f.has(s, readyMaxAgeOption) {
		if f, ok := d.float(s, readyMaxAgeOption, atLeast(1.0)); ok {
			if f > maxReadyMaxAgeIntervals {
				v, from, _ := d.value(s, readyMaxAgeOption)
				d.failf(from, readyMaxAgeOption, "must be at most %d, got %s", maxReadyMaxAgeIntervals, pyRepr(v))
			} else {
				c.ReadyMaxAgeIntervals = f
			}
		}
	}
	if d.f.has(s, readyMaxQueueOption) {
		if n, ok := d.int(s, readyMaxQueueOption, atLeast(1)); ok {
			c.ReadyMaxQueue = n
		}
	}
	if d.f.has(s, readyMaxSinksFailingOption) {
		if v, ok := d.duration(s, readyMaxSinksFailingOption, positive); ok {
			c.ReadyMaxSinksFailing = v
		}
	}
	if d.f.has(s, liveMaxStallOption) {
		if v, ok := d.duration(s, liveMaxStallOption, atLeast(1.0)); ok {
			c.LiveMaxStall = v
		}
	}
}

// checkListen returns why v is not a listen address (host:port, port
// 1-65535, IPv6 in brackets), or "".
func checkListen(v string) string {
	host, port, err := net.SplitHostPort(v)
	n, perr := strconv.Atoi(port)
	switch {
	case err != nil:
		return fmt.Sprintf("must be host:port (IPv6 in brackets: [::1]:8406), got %s", pyRepr(v))
	case perr != nil || n < 1 || n > 65535:
		return fmt.Sprintf("needs a port between 1 and 65535, got %s", pyRepr(v))
	case strings.ContainsAny(host, " \t"):
		return fmt.Sprintf("invalid host in %s", pyRepr(v))
	}
	return ""
}

// pullInterval decodes [pull] pull-interval: whole seconds, at least 1.
func (d *decoder) pullInterval() (time.Duration, bool) {
	const s = "pull"
	n, ok := d.int(s, "pull-interval", atLeast(1))
	if ok && n > int(maxDuration/time.Second) {
		d.failf(s, "pull-interval", "too many seconds, got '%d'", n)
		ok = false
	}
	return time.Duration(n) * time.Second, ok
}

const maxDuration = time.Duration(1<<63 - 1)

// MaxSnapshotAge is how old the newest snapshot delivered may be before
// haproxystats-process is not ready: ready-max-age-intervals pull
// intervals of interval ([pull] pull-interval, or [fleet] interval when
// the snapshots come from Kafka).
func (p Process) MaxSnapshotAge(interval time.Duration) time.Duration {
	return time.Duration(p.ReadyMaxAgeIntervals * float64(interval))
}
