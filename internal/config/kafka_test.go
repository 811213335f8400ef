package config

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const kafkaOK = "[kafka]\nbrokers = 127.0.0.1:9092\n"

func TestKafkaAbsent(t *testing.T) {
	cfg, _, err := load(t, "").Config(ProcessProgram)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Kafka != nil {
		t.Errorf("Kafka = %+v without a [kafka] section, want nil", cfg.Kafka)
	}
}

func TestKafkaDefaults(t *testing.T) {
	// [DEFAULT]'s timeout does not reach [kafka]: its built-in one wins,
	// as for [pull] and [graphite].
	cfg, warnings, err := load(t, "[DEFAULT]\ntimeout = 1\n"+kafkaOK).Config(ProcessProgram)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) > 0 {
		t.Errorf("warnings: %q", warnings)
	}
	want := DefaultKafka()
	want.Brokers = []string{"127.0.0.1:9092"}
	if !reflect.DeepEqual(*cfg.Kafka, want) {
		t.Errorf("Kafka =\n%+v\nwant\n%+v", *cfg.Kafka, want)
	}
}

func TestKafkaOptions(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writePKI(t, dir)
	conf := "[kafka]\n" +
		"brokers = k1.example.com:9093, [::1]:9094,\n" +
		"topic = ${paths:base-dir}\n" +
		"client-id = lb-01\n" +
		"acks = Leader\n" +
		"compression = ZSTD\n" +
		"batch-bytes = 65536\n" +
		"linger = 0\n" +
		"timeout = 2.5\n" +
		"format = json\n" +
		"tls = yes\n" +
		"tls-ca-file = " + ca + "\n" +
		"tls-cert-file = " + cert + "\n" +
		"tls-key-file = " + key + "\n" +
		"sasl-mechanism = scram-sha-512\n" +
		"sasl-username = hs\n" +
		"sasl-password = se$$cret\n" +
		"session-timeout = 10\n" +
		"rebalance-timeout = 20.5\n" +
		"records-in-flight = 8\n" +
		"[paths]\nbase-dir = metrics.haproxy\n"
	cfg, warnings, err := load(t, conf).Config(ProcessProgram)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) > 0 {
		t.Errorf("warnings: %q", warnings)
	}
	want := Kafka{
		Brokers: []string{"k1.example.com:9093", "[::1]:9094"}, Topic: "metrics.haproxy", ClientID: "lb-01",
		Acks: "leader", Compression: "zstd", BatchBytes: 65536, Linger: 0, Timeout: 2500 * time.Millisecond,
		Format: "json", TLS: true, TLSCAFile: ca, TLSCertFile: cert, TLSKeyFile: key,
		SASLMechanism: "SCRAM-SHA-512", SASLUsername: "hs", SASLPassword: "se$cret",
		SnapshotTopic: "haproxystats-snapshots", Group: "haproxystats-process", MetricsSink: true,
		SessionTimeout: 10 * time.Second, RebalanceTimeout: 20500 * time.Millisecond, RecordsInFlight: 8,
	}
	if !reflect.DeepEqual(*cfg.Kafka, want) {
		t.Errorf("Kafka =\n%+v\nwant\n%+v", *cfg.Kafka, want)
	}
}

func TestKafkaErrors(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writePKI(t, dir)
	missing := filepath.Join(dir, "missing.pem")
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello\n"), 0o644)
	tests := []struct {
		name, conf, want string
	}{
		{"missing brokers", "[kafka]\ntopic = t\n",
			"invalid configuration, no value for option 'brokers' in the section 'kafka'"},
		{"short session", "[kafka]\nbrokers = k:9092\nsession-timeout = 5\n",
			"invalid configuration, section:'kafka' option:'session-timeout' error:must be between 6 and 1800 seconds, the bounds brokers allow by default, got '5'"},
		{"no records in flight", "[kafka]\nbrokers = k:9092\nrecords-in-flight = 0\n",
			"invalid configuration, section:'kafka' option:'records-in-flight' error:must be between 1 and 4096, got '0'"},
		{"long rebalance", "[kafka]\nbrokers = k:9092\nrebalance-timeout = 7200\n",
			"invalid configuration, section:'kafka' option:'rebalance-timeout' error:must be between 1 and 3600 seconds, got '7200'"},
		{"empty brokers", "[kafka]\nbrokers = ,\n",
			"invalid configuration, no value for option 'brokers' in the section 'kafka'"},
		{"broker without port", "[kafka]\nbrokers = k1\n",
			"invalid configuration, section:'kafka' option:'brokers' error:'k1' is not host:port"},
		{"broker port 0", "[kafka]\nbrokers = k1:0\n",
			"invalid configuration, section:'kafka' option:'brokers' error:'k1:0' needs a host and a port between 1 and 65535"},
		{"bad acks", kafkaOK + "acks = 2\n",
			"invalid configuration, section:'kafka' option:'acks' error:must be one of all, leader, none, got '2'"},
		{"bad compression", kafkaOK + "compression = brotli\n",
			"invalid configuration, section:'kafka' option:'compression' error:must be one of none, gzip, snappy, lz4, zstd, got 'brotli'"},
		{"bad format", kafkaOK + "format = avro\n",
			"invalid configuration, section:'kafka' option:'format' error:must be one of graphite, json, got 'avro'"},
		{"bad topic", kafkaOK + "topic = a/b\n",
			"invalid configuration, section:'kafka' option:'topic' error:a topic name is 1 to 249 of the characters a-z A-Z 0-9 . _ - (and not '.' or '..'), got 'a/b'"},
		{"empty client-id", kafkaOK + "client-id =\n",
			"invalid configuration, no value for option 'client-id' in the section 'kafka'"},
		{"small batch-bytes", kafkaOK + "batch-bytes = 100\n",
			"invalid configuration, section:'kafka' option:'batch-bytes' error:must be between 1024 and 1073741824, got '100'"},
		{"long linger", kafkaOK + "linger = 61\n",
			"invalid configuration, section:'kafka' option:'linger' error:must be at most 60 seconds, got '61'"},
		{"short timeout", kafkaOK + "timeout = 0.5\n",
			"invalid configuration, section:'kafka' option:'timeout' error:must be at least 1, got '0.5'"},
		{"bad tls", kafkaOK + "tls = maybe\n",
			"invalid configuration, section:'kafka' option:'tls' error:Not a boolean: maybe"},
		{"tls file missing", kafkaOK + "tls = on\ntls-ca-file = " + missing + "\n",
			"invalid configuration, section:'kafka' option:'tls-ca-file' error:cannot read: open " + missing + ": no such file or directory"},
		{"tls-ca-file not PEM", kafkaOK + "tls = on\ntls-ca-file = " + notPEM + "\n",
			"invalid configuration, section:'kafka' option:'tls-ca-file' error:no PEM certificate found in '" + notPEM + "'"},
		{"tls file without tls", kafkaOK + "tls-ca-file = " + ca + "\n",
			"invalid configuration, section:'kafka' option:'tls-ca-file' error:is set but tls is off: set tls = true to use it"},
		{"insecure without tls", kafkaOK + "tls-insecure-skip-verify = true\n",
			"invalid configuration, section:'kafka' option:'tls-insecure-skip-verify' error:is on but tls is off: set tls = true to use it"},
		{"cert without key", kafkaOK + "tls = on\ntls-cert-file = " + cert + "\n",
			"invalid configuration, section:'kafka' option:'tls-key-file' error:tls-cert-file is set without tls-key-file"},
		{"key without cert", kafkaOK + "tls = on\ntls-key-file = " + key + "\n",
			"invalid configuration, section:'kafka' option:'tls-cert-file' error:tls-key-file is set without tls-cert-file"},
		{"key does not match", kafkaOK + "tls = on\ntls-cert-file = " + cert + "\ntls-key-file = " + ca + "\n",
			"invalid configuration, section:'kafka' option:'tls-cert-file' error:cannot use '" + cert + "' with '" + ca + "': tls: found a certificate rather than a key in the PEM for the private key"},
		{"sasl without user", kafkaOK + "sasl-mechanism = PLAIN\nsasl-password = p\n",
			"invalid configuration, section:'kafka' option:'sasl-username' error:sasl-mechanism PLAIN needs a user name"},
		{"sasl without password", kafkaOK + "sasl-mechanism = SCRAM-SHA-256\nsasl-username = u\n",
			"invalid configuration, section:'kafka' option:'sasl-password' error:sasl-mechanism SCRAM-SHA-256 needs a password"},
		{"bad sasl mechanism", kafkaOK + "sasl-mechanism = GSSAPI\nsasl-username = u\nsasl-password = p\n",
			"invalid configuration, section:'kafka' option:'sasl-mechanism' error:must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, got 'GSSAPI'"},
		{"user without mechanism", kafkaOK + "sasl-username = u\n",
			"invalid configuration, section:'kafka' option:'sasl-mechanism' error:sasl-username and sasl-password need a sasl-mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := load(t, tt.conf).Config(ProcessProgram)
			if got := errLines(err); len(got) != 1 || got[0] != tt.want {
				t.Errorf("errors:\n got %q\nwant %q", got, tt.want)
			}
			if cfg != nil {
				t.Error("cfg != nil with an error")
			}
		})
	}
}

// The pull program never reads [kafka].
func TestKafkaPullIgnores(t *testing.T) {
	if _, w, err := load(t, pullOK+"[kafka]\nacks = some\n").Config(PullProgram); err != nil || len(w) > 0 {
		t.Errorf("Config(pull) = %v, warnings %q", err, w)
	}
}

func TestKafkaAllProblems(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "ca.pem")
	conf := "[kafka]\nacks = most\nformat = xml\ntls = true\ntls-ca-file = " + missing + "\nsasl-mechanism = PLAIN\n"
	_, _, err := load(t, conf).Config(ProcessProgram)
	want := []string{
		"invalid configuration, no value for option 'brokers' in the section 'kafka'",
		"invalid configuration, section:'kafka' option:'acks' error:must be one of all, leader, none, got 'most'",
		"invalid configuration, section:'kafka' option:'format' error:must be one of graphite, json, got 'xml'",
		"invalid configuration, section:'kafka' option:'tls-ca-file' error:cannot read: open " + missing + ": no such file or directory",
		"invalid configuration, section:'kafka' option:'sasl-username' error:sasl-mechanism PLAIN needs a user name",
		"invalid configuration, section:'kafka' option:'sasl-password' error:sasl-mechanism PLAIN needs a password",
	}
	if got := errLines(err); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n got %q\nwant %q", got, want)
	}
}

func TestKafkaWarnings(t *testing.T) {
	conf := kafkaOK + "sasl-mechanism = PLAIN\nsasl-username = u\nsasl-password = p\nbatch_bytes = 1\n"
	_, warnings, err := load(t, conf).Config(ProcessProgram)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"[kafka] unknown option 'batch_bytes' ignored",
		"[kafka] sasl-mechanism PLAIN without tls sends the password in clear text",
	}
	if !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings:\n got %q\nwant %q", warnings, want)
	}
}

// -P shows [kafka] with its built-in defaults; -p does not show it (it
// is the original's output, and the section is off by default).
func TestKafkaPrint(t *testing.T) {
	var b bytes.Buffer
	if err := load(t, kafkaOK+"acks = none\n").Print(&b, ProcessProgram); err != nil {
		t.Fatal(err)
	}
	const want = `[kafka]
acks = none
batch-bytes = 1048576
brokers = 127.0.0.1:9092
client-id = haproxystats
compression = none
format = graphite
interval = 2
linger = 0.05
loglevel = info
retries = 2
timeout = 10
tls = false
tls-insecure-skip-verify = false
topic = haproxystats

`
	if out := b.String(); !strings.Contains(out, want) {
		t.Errorf("-P output has no\n%s\nin\n%s", want, out)
	}
	b.Reset()
	PrintDefaults(&b, ProcessProgram)
	if strings.Contains(b.String(), "kafka") {
		t.Errorf("-p shows kafka:\n%s", b.String())
	}
}

// writePKI writes a self-signed CA certificate, and a certificate and key
// it signed, as PEM files in dir.
func writePKI(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "haproxystats"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &k.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", der), write("key.pem", "PRIVATE KEY", keyDER)
}
