// Package haproxytest holds test helpers shared by several packages: a fake
// HAProxy stats socket (UNIX or TCP) that replays captured replies and can
// misbehave on demand, a fake carbon listener that records Graphite lines,
// the real haproxy and carbon-c-relay started for a test, a Kafka-protocol
// broker (kfake) and records produced to it, Serve for a fake peer of a
// few lines, and WaitFor, the one way a test against a real process waits
// for an event. Only _test.go files import it.
package haproxytest
