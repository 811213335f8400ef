package kafka

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
)

const snapshotTopic = "haproxystats-snapshots"

// newCluster starts an in-process Kafka broker on 127.0.0.1 with the
// snapshot topic in one partition.
func newCluster(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	return haproxytest.Broker(t, snapshotTopic, 1, opts...)
}

func testConfig(brokers []string) config.Kafka {
	k := config.DefaultKafka()
	k.Brokers = brokers
	k.SnapshotTopic = snapshotTopic
	k.Timeout = time.Second
	return k
}

// produce produces one record with a Producer for cfg: what every client
// of ClientOpts needs, a connection, and over TLS or SASL when cfg says so.
func produce(t *testing.T, cfg config.Kafka) error {
	t.Helper()
	p, err := NewProducer(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	return p.Produce(context.Background(), []byte("cluster"), []byte("record"))
}

func TestSASL(t *testing.T) {
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			c := newCluster(t, kfake.EnableSASL(), kfake.Superuser(mech, "hs", "secret"))
			cfg := testConfig(c.ListenAddrs())
			cfg.SASLMechanism, cfg.SASLUsername, cfg.SASLPassword = mech, "hs", "secret"
			if err := produce(t, cfg); err != nil {
				t.Fatal(err)
			}
			cfg.SASLPassword = "wrong"
			if err := produce(t, cfg); err == nil {
				t.Error("Produce with a wrong password = nil")
			}
		})
	}
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	ca, server, client := testPKI(t, dir)
	c := newCluster(t, kfake.TLS(server))
	cfg := testConfig(c.ListenAddrs())
	cfg.TLS, cfg.TLSCAFile = true, ca
	if err := produce(t, cfg); err != nil {
		t.Fatalf("TLS with tls-ca-file: %v", err)
	}
	cfg.TLSCertFile, cfg.TLSKeyFile = client[0], client[1]
	if err := produce(t, cfg); err != nil {
		t.Fatalf("TLS with a client certificate: %v", err)
	}
	cfg = testConfig(c.ListenAddrs())
	cfg.TLS = true // system roots: the test CA is unknown
	if err := produce(t, cfg); err == nil {
		t.Error("Produce = nil to a broker whose certificate is not trusted")
	}
	cfg.TLSInsecureSkipVerify = true
	if err := produce(t, cfg); err != nil {
		t.Errorf("TLS with tls-insecure-skip-verify: %v", err)
	}
}

// TestClientOptsRefuses checks the settings ClientOpts refuses before
// any client exists.
func TestClientOptsRefuses(t *testing.T) {
	f := func(name, want string, change func(*config.Kafka)) {
		t.Helper()
		cfg := testConfig([]string{"127.0.0.1:9092"})
		change(&cfg)
		_, err := ClientOpts(cfg, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: ClientOpts error %v, want one saying %q", name, err, want)
		}
	}
	f("short timeout", "less than 1s", func(k *config.Kafka) { k.Timeout = 999 * time.Millisecond })
	f("unknown mechanism", `unknown sasl-mechanism "GSSAPI"`, func(k *config.Kafka) { k.SASLMechanism = "GSSAPI" })
	f("missing tls-ca-file", "missing.pem", func(k *config.Kafka) {
		k.TLS, k.TLSCAFile = true, filepath.Join(t.TempDir(), "missing.pem")
	})
}

// TestCompression checks that every compression word the configuration
// accepts has a codec, and that others are refused.
func TestCompression(t *testing.T) {
	for _, name := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		if _, err := Compression(name); err != nil {
			t.Errorf("Compression(%q): %v", name, err)
		}
	}
	if _, err := Compression("brotli"); err == nil {
		t.Error(`Compression("brotli") = nil error`)
	}
}
