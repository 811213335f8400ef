package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// KafkaSection is the name of the section whose presence enables the
// Kafka sink.
const KafkaSection = "kafka"

// Kafka is the [kafka] section, read by haproxystats-process. Config
// returns it only when the section exists.
type Kafka struct {
	Brokers     []string      // brokers: "host:port" seed brokers, in file order
	Topic       string        // topic
	ClientID    string        // client-id
	Acks        string        // acks: "all", "leader" or "none"
	Compression string        // compression: "none", "gzip", "snappy", "lz4" or "zstd"
	BatchBytes  int           // batch-bytes: largest record batch, in bytes
	Linger      time.Duration // linger: how long a partition waits for more records
	Timeout     time.Duration // timeout: bound of one delivery (one snapshot)
	Format      string        // format: "graphite" or "json"

	TLS                   bool   // tls
	TLSCAFile             string // tls-ca-file: "" means the system roots
	TLSCertFile           string // tls-cert-file: client certificate, with TLSKeyFile
	TLSKeyFile            string // tls-key-file
	TLSInsecureSkipVerify bool   // tls-insecure-skip-verify

	// SASLMechanism is "" (no SASL), "PLAIN", "SCRAM-SHA-256" or
	// "SCRAM-SHA-512".
	SASLMechanism string // sasl-mechanism, upper-cased
	SASLUsername  string // sasl-username
	SASLPassword  string // sasl-password

	// SnapshotTopic is the topic of the snapshots shipped by pull ([pull]
	// ship = kafka) and consumed by process ([process] source = kafka).
	SnapshotTopic string // snapshot-topic, default haproxystats-snapshots
	// Group is the consumer group of the process daemons reading
	// SnapshotTopic.
	Group string // group, default haproxystats-process
	// MetricsSink is whether haproxystats-process produces its metrics to
	// Topic; off, [kafka] only serves the fleet mode.
	MetricsSink bool // metrics-sink, default true
	// SessionTimeout is how long the group waits for a consumer's
	// heartbeat before it gives its partitions to another member
	// (Kafka's session.timeout.ms); RebalanceTimeout how long a
	// rebalance waits for every member to rejoin (rebalance.timeout.ms).
	SessionTimeout   time.Duration // session-timeout, default 45 s
	RebalanceTimeout time.Duration // rebalance-timeout, default 60 s
	// RecordsInFlight bounds the snapshot records (and cluster buckets)
	// a fleet consumer hands to its sinks without waiting for the
	// previous ones to be accepted.
	RecordsInFlight int // records-in-flight, default 512
}

// The defaults of session-timeout and rebalance-timeout: Kafka's (and
// franz-go's), and the bounds brokers put on a session by default
// (group.min.session.timeout.ms, group.max.session.timeout.ms).
const (
	DefaultSessionTimeout   = 45 * time.Second
	DefaultRebalanceTimeout = 60 * time.Second
	DefaultRecordsInFlight  = 512
	minSessionTimeout       = 6 * time.Second
	maxSessionTimeout       = 30 * time.Minute
)

// kafkaBuiltin holds the built-in defaults of [kafka]. Unlike those of the
// original's sections they are added only when the section exists (its
// presence is what enables the sink); like them, they sit in the section
// itself, so [DEFAULT]'s timeout never reaches [kafka] and -P shows them.
var kafkaBuiltin = map[string]string{
	"topic":                    "haproxystats",
	"client-id":                "haproxystats",
	"acks":                     "all",
	"compression":              "none",
	"batch-bytes":              "1048576",
	"linger":                   "0.05",
	"timeout":                  "10",
	"format":                   "graphite",
	"tls":                      "false",
	"tls-insecure-skip-verify": "false",
}

var kafkaOptions = set("brokers", "topic", "client-id", "acks", "compression",
	"batch-bytes", "linger", "timeout", "format", "tls", "tls-ca-file",
	"tls-cert-file", "tls-key-file", "tls-insecure-skip-verify",
	"sasl-mechanism", "sasl-username", "sasl-password",
	"snapshot-topic", "group", "metrics-sink", "session-timeout", "rebalance-timeout",
	"records-in-flight")

// DefaultKafka returns the built-in [kafka] values, what Config returns
// for a [kafka] section that sets only brokers.
func DefaultKafka() Kafka {
	return Kafka{
		Topic:       "haproxystats",
		ClientID:    "haproxystats",
		Acks:        "all",
		Compression: "none",
		BatchBytes:  1048576,
		Linger:      50 * time.Millisecond,
		Timeout:     10 * time.Second,
		Format:      "graphite",

		SnapshotTopic:    "haproxystats-snapshots",
		Group:            "haproxystats-process",
		MetricsSink:      true,
		SessionTimeout:   DefaultSessionTimeout,
		RebalanceTimeout: DefaultRebalanceTimeout,
		RecordsInFlight:  DefaultRecordsInFlight,
	}
}

// topicRE is Kafka's rule for topic names (at most 249 characters, and
// not "." or "..", checked apart).
var topicRE = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

// kafka decodes and checks [kafka]; it returns nil when the section does
// not exist or has problems, which are recorded. It reads the TLS files,
// so that a missing or unreadable one is refused at start.
func (d *decoder) kafka() (k *Kafka, warnings []string) {
	const s = KafkaSection
	if d.f.sections[s] == nil {
		return nil, nil
	}
	before := len(d.errs)
	k = new(Kafka)

	if !d.f.has(s, "brokers") {
		d.fail("invalid configuration, no value for option 'brokers' in the section 'kafka'")
	} else if v, from, ok := d.value(s, "brokers"); ok {
		k.Brokers = d.brokers(from, v)
	}
	if v, from, ok := d.value(s, "topic"); ok {
		if !topicRE.MatchString(v) || v == "." || v == ".." {
			d.failf(from, "topic", "a topic name is 1 to 249 of the characters a-z A-Z 0-9 . _ - (and not '.' or '..'), got %s", pyRepr(v))
		}
		k.Topic = v
	}
	k.SnapshotTopic, k.Group, k.MetricsSink = "haproxystats-snapshots", "haproxystats-process", true
	if v, from, ok := d.value(s, "snapshot-topic"); ok && from == s { // new: not in -p
		if !topicRE.MatchString(v) || v == "." || v == ".." {
			d.failf(from, "snapshot-topic", "a topic name is 1 to 249 of the characters a-z A-Z 0-9 . _ - (and not '.' or '..'), got %s", pyRepr(v))
		}
		k.SnapshotTopic = v
	}
	if _, from, ok := d.f.raw(s, "group"); ok && from == s {
		k.Group, _ = d.nonEmpty(s, "group")
	}
	if _, from, ok := d.f.raw(s, "metrics-sink"); ok && from == s {
		k.MetricsSink, _ = d.bool(s, "metrics-sink")
	}
	k.SessionTimeout, k.RebalanceTimeout = DefaultSessionTimeout, DefaultRebalanceTimeout
	if _, from, ok := d.f.raw(s, "session-timeout"); ok && from == s { // new: not in -p
		if t, ok := d.duration(s, "session-timeout", positive); ok {
			if t < minSessionTimeout || t > maxSessionTimeout {
				v, _, _ := d.value(s, "session-timeout")
				d.failf(from, "session-timeout", "must be between 6 and 1800 seconds, the bounds brokers allow by default, got %s", pyRepr(v))
			}
			k.SessionTimeout = t
		}
	}
	if _, from, ok := d.f.raw(s, "rebalance-timeout"); ok && from == s {
		if t, ok := d.duration(s, "rebalance-timeout", positive); ok {
			if t < time.Second || t > time.Hour {
				v, _, _ := d.value(s, "rebalance-timeout")
				d.failf(from, "rebalance-timeout", "must be between 1 and 3600 seconds, got %s", pyRepr(v))
			}
			k.RebalanceTimeout = t
		}
	}
	k.RecordsInFlight = DefaultRecordsInFlight
	if _, from, ok := d.f.raw(s, "records-in-flight"); ok && from == s {
		k.RecordsInFlight, _ = d.int(s, "records-in-flight", between(1, 4096))
	}
	k.ClientID, _ = d.nonEmpty(s, "client-id")
	k.Acks, _ = d.word(s, "acks", "all", "leader", "none")
	k.Compression, _ = d.word(s, "compression", "none", "gzip", "snappy", "lz4", "zstd")
	k.Format, _ = d.word(s, "format", "graphite", "json")
	k.BatchBytes, _ = d.int(s, "batch-bytes", between(1024, 1<<30))
	if linger, ok := d.duration(s, "linger", nonNegative); ok {
		if linger > time.Minute {
			v, from, _ := d.value(s, "linger")
			d.failf(from, "linger", "must be at most 60 seconds, got %s", pyRepr(v))
		}
		k.Linger = linger
	}
	k.Timeout, _ = d.duration(s, "timeout", atLeast(1.0))

	k.TLS, _ = d.bool(s, "tls")
	k.TLSInsecureSkipVerify, _ = d.bool(s, "tls-insecure-skip-verify")
	k.TLSCAFile, _ = d.str(s, "tls-ca-file")
	k.TLSCertFile, _ = d.str(s, "tls-cert-file")
	k.TLSKeyFile, _ = d.str(s, "tls-key-file")
	d.kafkaTLS(k)

	mech, hasMech := d.str(s, "sasl-mechanism")
	k.SASLUsername, _ = d.str(s, "sasl-username")
	k.SASLPassword, _ = d.str(s, "sasl-password")
	switch m := strings.ToUpper(mech); {
	case !hasMech || m == "":
		if k.SASLUsername != "" || k.SASLPassword != "" {
			d.failf(s, "sasl-mechanism", "sasl-username and sasl-password need a sasl-mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
		}
	case m == "PLAIN" || m == "SCRAM-SHA-256" || m == "SCRAM-SHA-512":
		k.SASLMechanism = m
		if k.SASLUsername == "" {
			d.failf(s, "sasl-username", "sasl-mechanism %s needs a user name", m)
		}
		if k.SASLPassword == "" {
			d.failf(s, "sasl-password", "sasl-mechanism %s needs a password", m)
		}
		if m == "PLAIN" && !k.TLS {
			warnings = append(warnings, "[kafka] sasl-mechanism PLAIN without tls sends the password in clear text")
		}
	default:
		d.failf(s, "sasl-mechanism", "must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, got %s", pyRepr(mech))
	}
	if k.TLSInsecureSkipVerify && k.TLS {
		warnings = append(warnings, "[kafka] tls-insecure-skip-verify is on: the brokers' certificates are not checked")
	}
	if len(d.errs) > before {
		return nil, warnings
	}
	return k, warnings
}

// brokers parses a comma-separated list of host:port; empty elements
// (a trailing comma) are ignored.
func (d *decoder) brokers(from, v string) []string {
	var out []string
	bad := false
	for _, b := range strings.Split(v, ",") {
		b = strings.TrimSpace(b)
		if b == "" {
			continue
		}
		host, port, err := net.SplitHostPort(b)
		if err != nil {
			d.failf(from, "brokers", "%s is not host:port", pyRepr(b))
			bad = true
			continue
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || host == "" {
			d.failf(from, "brokers", "%s needs a host and a port between 1 and 65535", pyRepr(b))
			bad = true
			continue
		}
		out = append(out, b)
	}
	if len(out) == 0 && !bad {
		d.fail(fmt.Sprintf("invalid configuration, no value for option 'brokers' in the section '%s'", from))
	}
	return out
}

// word reads an option whose value is one of words (in any case) and
// returns it lower-cased.
func (d *decoder) word(sect, opt string, words ...string) (string, bool) {
	v, from, ok := d.value(sect, opt)
	if !ok {
		return "", false
	}
	for _, w := range words {
		if strings.EqualFold(v, w) {
			return w, true
		}
	}
	d.failf(from, opt, "must be one of %s, got %s", strings.Join(words, ", "), pyRepr(v))
	return "", false
}

// kafkaTLS checks the TLS options of k: the files need tls = true, a
// certificate needs its key and the other way round, and every file named
// must be readable PEM.
func (d *decoder) kafkaTLS(k *Kafka) {
	const s = KafkaSection
	files := []struct{ opt, path string }{
		{"tls-ca-file", k.TLSCAFile},
		{"tls-cert-file", k.TLSCertFile},
		{"tls-key-file", k.TLSKeyFile},
	}
	for _, f := range files {
		if f.path != "" && !k.TLS {
			d.failf(s, f.opt, "is set but tls is off: set tls = true to use it")
		}
	}
	if k.TLSInsecureSkipVerify && !k.TLS {
		d.failf(s, "tls-insecure-skip-verify", "is on but tls is off: set tls = true to use it")
	}
	if !k.TLS {
		return
	}
	if (k.TLSCertFile == "") != (k.TLSKeyFile == "") {
		if k.TLSCertFile == "" {
			d.failf(s, "tls-cert-file", "tls-key-file is set without tls-cert-file")
		} else {
			d.failf(s, "tls-key-file", "tls-cert-file is set without tls-key-file")
		}
	}
	read := func(opt, path string) []byte {
		if path == "" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			d.failf(s, opt, "cannot read: %v", err)
			return nil
		}
		return b
	}
	if ca := read("tls-ca-file", k.TLSCAFile); ca != nil {
		if !x509.NewCertPool().AppendCertsFromPEM(ca) {
			d.failf(s, "tls-ca-file", "no PEM certificate found in %s", pyRepr(k.TLSCAFile))
		}
	}
	cert := read("tls-cert-file", k.TLSCertFile)
	key := read("tls-key-file", k.TLSKeyFile)
	if cert != nil && key != nil {
		if _, err := tls.X509KeyPair(cert, key); err != nil {
			d.failf(s, "tls-cert-file", "cannot use %s with %s: %v", pyRepr(k.TLSCertFile), pyRepr(k.TLSKeyFile), err)
		}
	}
}
