// Package fleet is haproxystats' cluster-level processing over Kafka.
//
// On every load balancer, haproxystats-pull writes its snapshots to the
// local spool as usual; a Shipper follows that spool, encodes each
// committed snapshot as a Record (snapshot.go) and produces it to the
// snapshot topic, keyed by the cluster name, and removes the directory
// only once the broker acknowledged it: the local spool stays the buffer
// during a broker outage, and queue-size still bounds it.
//
// A Consumer, run by haproxystats-process with source = kafka, reads the
// snapshot topic in a consumer group, renders every record with the
// same code as a local snapshot (per-host metrics under the host's
// prefix), groups the records of a cluster into time buckets (buckets.go)
// and renders the union of the hosts' replies of a bucket as one
// snapshot, the cluster aggregate, under <namespace>.<cluster>.haproxy.
// It commits an offset only once the per-host metrics of every record up
// to it were accepted by every sink and their buckets were emitted.
package fleet
