// Package kafka holds haproxystats' Kafka clients, and is where the
// options every client shares are made: the seed brokers, the client ID,
// TLS and SASL from [kafka] (ClientOpts), the compression codecs
// (Compression), and the adapter that passes the client's log to slog.
//
// Its clients are those of the fleet mode, on the snapshot topic: the
// Producer that haproxystats-pull ships snapshot records with (package
// ship), and the group Consumer that haproxystats-process reads them with
// (package fleet). The metrics sink of haproxystats-process, which
// produces to [kafka] topic, is package kafkasink: haproxystats-pull
// links this package, not that one.
package kafka
