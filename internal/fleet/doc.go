// Package fleet is haproxystats' cluster-level processing over Kafka, on
// haproxystats-process's side ([process] source = kafka).
//
// On every load balancer, haproxystats-pull ships each committed
// snapshot of its spool to the snapshot topic as one record (package
// record's format), keyed by the cluster name (package ship). This
// package reads them back.
//
// A Consumer reads the snapshot topic through a Source (kafka.Consumer,
// in a consumer group), renders every record with the same code as a
// local snapshot (per-host metrics under the host's prefix, see Paths),
// groups the records of a cluster into time buckets (Buckets) and
// renders the union of the hosts' replies of a bucket as one snapshot,
// the cluster aggregate, under <namespace>.<cluster>.haproxy. A big
// record is kept in a file with no name beside the spool, not on the
// heap, while it is needed (Consumer.Spill), and its show stat replies
// are inflated one at a time, when read. The Consumer commits an offset
// only once the per-host metrics of every record up to it were accepted
// by every sink and their buckets were emitted.
package fleet
