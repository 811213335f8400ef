package kafka

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/haproxystats-go/haproxystats/internal/config"
)

// ClientOpts returns the options every client of cfg shares, producer or
// consumer: the seed brokers, the client ID, the client's log passed to
// log (warnings and errors; informational messages too when log is
// enabled at debug level), and the TLS and SASL settings. Callers append
// the options of their role. It refuses a timeout under one second, an
// unknown SASL mechanism and TLS files that cannot be read.
func ClientOpts(cfg config.Kafka, log *slog.Logger) ([]kgo.Opt, error) {
	if cfg.Timeout < time.Second {
		return nil, fmt.Errorf("kafka: timeout %v is less than 1s", cfg.Timeout)
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ClientID(cfg.ClientID),
		kgo.WithLogger(logger{log}),
	}
	sec, err := securityOpts(cfg)
	if err != nil {
		return nil, err
	}
	return append(opts, sec...), nil
}

// securityOpts returns the client options of cfg's TLS and SASL settings.
func securityOpts(cfg config.Kafka) ([]kgo.Opt, error) {
	var opts []kgo.Opt
	if cfg.TLS {
		tc, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	switch cfg.SASLMechanism {
	case "":
	case "PLAIN":
		opts = append(opts, kgo.SASL(plain.Auth{User: cfg.SASLUsername, Pass: cfg.SASLPassword}.AsMechanism()))
	case "SCRAM-SHA-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: cfg.SASLUsername, Pass: cfg.SASLPassword}.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: cfg.SASLUsername, Pass: cfg.SASLPassword}.AsSha512Mechanism()))
	default:
		return nil, fmt.Errorf("kafka: unknown sasl-mechanism %q", cfg.SASLMechanism)
	}
	return opts, nil
}

func tlsConfig(cfg config.Kafka) (*tls.Config, error) {
	return config.ClientTLS("kafka", cfg.TLSCAFile, cfg.TLSCertFile, cfg.TLSKeyFile, cfg.TLSInsecureSkipVerify)
}

var codecs = map[string]kgo.CompressionCodec{
	"none":   kgo.NoCompression(),
	"":       kgo.NoCompression(),
	"gzip":   kgo.GzipCompression(),
	"snappy": kgo.SnappyCompression(),
	"lz4":    kgo.Lz4Compression(),
	"zstd":   kgo.ZstdCompression(),
}

// Compression returns the codec of a [kafka] compression word: "none"
// (or ""), "gzip", "snappy", "lz4" or "zstd". Producers compress their
// record batches with it.
func Compression(name string) (kgo.CompressionCodec, error) {
	codec, ok := codecs[name]
	if !ok {
		return kgo.CompressionCodec{}, fmt.Errorf("kafka: unknown compression %q", name)
	}
	return codec, nil
}

// logger passes the client's warnings and errors (and, at debug level,
// its informational messages) to slog.
type logger struct{ log *slog.Logger }

func (l logger) Level() kgo.LogLevel {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		return kgo.LogLevelInfo
	}
	return kgo.LogLevelWarn
}

func (l logger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lv := slog.LevelDebug
	switch level {
	case kgo.LogLevelError:
		lv = slog.LevelError
	case kgo.LogLevelWarn:
		lv = slog.LevelWarn
	case kgo.LogLevelInfo:
		lv = slog.LevelInfo
	}
	l.log.Log(context.Background(), lv, msg, keyvals...)
}
