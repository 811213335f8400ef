package prometheus

import (
	"math"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"

	"github.com/haproxystats-go/haproxystats/internal/health"
)

// The health families, read at each scrape from the Monitor, without a
// time: unlike the snapshot's own series, they must move when no
// snapshot comes.
var (
	liveDesc         = prom.NewDesc("haproxystats_live", "1 when every loop of haproxystats-process is alive (/healthz answers 200), else 0.", nil, nil)
	readyDesc        = prom.NewDesc("haproxystats_ready", "1 when haproxystats-process is ready (/readyz answers 200), else 0.", nil, nil)
	newestAgeDesc    = prom.NewDesc("haproxystats_newest_snapshot_age_seconds", "Age of the newest snapshot delivered to every sink, in seconds (since the start while none was).", nil, nil)
	queueDesc        = prom.NewDesc("haproxystats_queue_snapshots", "Snapshots waiting in src-dir, in hand or waiting for a retry (with source = kafka: records behind the ends of the partitions).", nil, nil)
	sinksFailingDesc = prom.NewDesc("haproxystats_sinks_failing_seconds", "Seconds every sink that delivers (Graphite, local-store, Kafka) has been failing; 0 while one works.", nil, nil)
	sinkFailingDesc  = prom.NewDesc("haproxystats_sink_failing_seconds", "Seconds the sink has been failing (refusing, or unable to reach its server); 0 while it works.", []string{"sink"}, nil)
	thresholdDesc    = prom.NewDesc("haproxystats_ready_threshold", "Bound of a readiness condition, in the unit of the family the condition label names ([process] ready-max-age-intervals × pull interval, ready-max-queue, ready-max-sinks-failing).", []string{"condition"}, nil)
	fleetHostsDesc   = prom.NewDesc("haproxystats_fleet_hosts", "Hosts in the last bucket of the cluster this consumer emitted (FleetHosts).", []string{"cluster"}, nil)
	fleetMissingDesc = prom.NewDesc("haproxystats_fleet_hosts_missing", "Hosts of the cluster the last bucket this consumer emitted went without (FleetHostsMissing).", []string{"cluster"}, nil)
)

// healthCollector collects the health families from status.
type healthCollector struct{ status func() health.Status }

func (c healthCollector) Describe(ch chan<- *prom.Desc) {
	for _, d := range []*prom.Desc{liveDesc, readyDesc, newestAgeDesc, queueDesc, sinksFailingDesc, sinkFailingDesc, thresholdDesc, fleetHostsDesc, fleetMissingDesc} {
		ch <- d
	}
}

func (c healthCollector) Collect(ch chan<- prom.Metric) {
	st := c.status()
	gauge := func(d *prom.Desc, v float64, labels ...string) {
		ch <- prom.MustNewConstMetric(d, prom.GaugeValue, v, labels...)
	}
	gauge(liveDesc, one(st.Live))
	gauge(readyDesc, one(st.Ready))
	gauge(newestAgeDesc, seconds(st.NewestAge))
	gauge(queueDesc, float64(st.Queue))
	gauge(sinksFailingDesc, seconds(st.SinksFailing))
	for _, s := range st.Sinks {
		gauge(sinkFailingDesc, seconds(s.Failing), s.Name)
	}
	gauge(thresholdDesc, st.Thresholds.MaxAge.Seconds(), "newest_snapshot_age_seconds")
	gauge(thresholdDesc, float64(st.Thresholds.MaxQueue), "queue_snapshots")
	gauge(thresholdDesc, st.Thresholds.MaxSinksFailing.Seconds(), "sinks_failing_seconds")
	for _, cl := range st.Clusters {
		gauge(fleetHostsDesc, float64(cl.Hosts), cl.Name)
		gauge(fleetMissingDesc, float64(cl.Missing), cl.Name)
	}
}

// seconds is d in seconds to the millisecond, as the self-statistics
// are: the nanoseconds would be noise (2.860942232).
func seconds(d time.Duration) float64 { return math.Round(d.Seconds()*1e3) / 1e3 }

func one(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Health adds the health families to the daemon's own metrics, read
// from status at every scrape. Call it before the endpoint serves.
func (s *Sink) Health(status func() health.Status) {
	s.runtime.MustRegister(healthCollector{status})
}
