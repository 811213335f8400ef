package config

import (
	"fmt"
	"time"
)

// FleetSection is the name of the section of cluster-level processing
// over Kafka: read by haproxystats-pull when [pull] ship = kafka and by
// haproxystats-process when [process] source = kafka.
const FleetSection = "fleet"

// Fleet is the [fleet] section. New in the Go version; none of its
// options appear in -p output.
type Fleet struct {
	// Cluster is the cluster the host belongs to: the Kafka key of its
	// snapshots and the Graphite path component of the cluster
	// aggregates. "" means derived from the host name (see
	// fleet.DefaultCluster): its domain part, or "default".
	Cluster string // cluster
	// Host replaces os.Hostname() as the host name of shipped snapshots.
	Host string // host
	// Interval is the width of a time bucket: the pull-interval of the
	// cluster's hosts. Snapshots whose epochs fall in one bucket are
	// aggregated together.
	Interval time.Duration // interval, default 10 s
	// Grace is how long after its first snapshot arrived a bucket waits
	// for hosts that have not reported yet.
	Grace time.Duration // grace, default 2 × interval
	// Window is how many recent buckets define the hosts of a cluster
	// that a bucket waits for.
	Window int // window, default 3 buckets
}

var fleetOptions = set("cluster", "host", "interval", "grace", "window")

// DefaultFleet returns the built-in [fleet] values.
func DefaultFleet() Fleet {
	return Fleet{Interval: 10 * time.Second, Grace: 20 * time.Second, Window: 3}
}

// fleet decodes [fleet]. Only values set in [fleet] itself count:
// [DEFAULT]'s interval is for the original's sections.
func (d *decoder) fleet() Fleet {
	const s = FleetSection
	f := DefaultFleet()
	own := func(opt string) bool {
		_, from, ok := d.f.raw(s, opt)
		return ok && from == s
	}
	if own("cluster") {
		f.Cluster, _ = d.nonEmpty(s, "cluster")
	}
	if own("host") {
		f.Host, _ = d.nonEmpty(s, "host")
	}
	if own("interval") {
		if v, ok := d.duration(s, "interval", positive); ok {
			if v < time.Second || v%time.Second != 0 {
				d.failf(s, "interval", "must be a whole number of seconds, at least 1, got %v", v)
			}
			f.Interval = v
			f.Grace = 2 * v
		}
	}
	if own("grace") {
		f.Grace, _ = d.duration(s, "grace", nonNegative)
	}
	if own("window") {
		f.Window, _ = d.int(s, "window", atLeast(1))
	}
	return f
}

// fleetMode decodes [pull] ship or [process] source (opt in sect):
// local ("none" or "spool", the default) or "kafka". kafka needs a
// [kafka] section, which it decodes for pull, and fills in c.Fleet.
func (d *decoder) fleetMode(sect, opt, local string, c *Config) (mode string, warnings []string) {
	mode = local
	if _, from, ok := d.f.raw(sect, opt); ok && from == sect {
		mode, _ = d.word(sect, opt, local, "kafka")
	}
	if mode != "kafka" {
		return mode, nil
	}
	if c.Kafka == nil && d.f.sections[KafkaSection] != nil {
		c.Kafka, warnings = d.kafka()
	}
	if d.f.sections[KafkaSection] == nil {
		d.fail(fmt.Sprintf("invalid configuration, %s = kafka in section '%s' needs a [kafka] section with brokers", opt, sect))
	}
	c.Fleet = d.fleet()
	return mode, warnings
}
