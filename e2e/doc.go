// Package e2e holds the end-to-end tests: the two built commands against
// real haproxy processes and a real carbon-c-relay, all on 127.0.0.1.
package e2e
