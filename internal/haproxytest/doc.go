// Package haproxytest holds test helpers shared by several packages: a fake
// HAProxy stats socket (UNIX or TCP) that replays captured replies and can
// misbehave on demand, and a fake carbon listener that records Graphite
// lines. Only _test.go files import it.
package haproxytest
