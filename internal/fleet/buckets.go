package fleet

import (
	"slices"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/blob"
	"github.com/haproxystats-go/haproxystats/internal/record"
)

// maxEmitted bounds the emitted buckets remembered per cluster; older
// ones are covered by the cluster's floor.
const maxEmitted = 1024

// Buckets groups the snapshots of each cluster into time buckets and says
// when a bucket is due. A bucket is the epoch rounded down to Interval.
// It is due when every host seen in the cluster's last Window buckets
// reported, or Grace after its first snapshot arrived, or, by the
// records' own time, once records of Window later buckets were seen and
// every host expected either reported or already reported a later
// bucket (a host's records come in order, so it will not report this
// one any more). The last rule closes the buckets of a backlog read at
// once (after an outage of processing, or a takeover) with every host,
// however fast it is read; Grace is for live traffic, where later
// records have not been written yet. Until a cluster has been seen in
// Window buckets, and again after a pause of Window buckets or more, its
// hosts are not known, and its buckets wait for Grace or for the
// records' time. A late snapshot still tells that its host is alive.
//
// A snapshot for a bucket already emitted, or older than every bucket
// still remembered, is late: Add counts it in Late and does not merge it.
// A second snapshot of a host for one bucket (a bucket longer than the
// host's pull-interval, or a record shipped twice) is counted in
// Replaced; the newer one is kept.
// Buckets is not safe for concurrent use.
type Buckets struct {
	Interval time.Duration
	Grace    time.Duration
	Window   int

	Late     int64 // snapshots that arrived after their bucket was emitted
	Replaced int64 // snapshots of a host its bucket already had one of

	clusters map[string]*cluster
}

type cluster struct {
	open    map[int64]*Bucket
	seen    map[string]int64 // host → newest bucket it reported for
	buckets []int64          // distinct buckets seen, newest last, at most Window+1
	emitted map[int64]bool   // at most maxEmitted
	closing map[int64]bool   // returned by Due, not Done yet: later snapshots are late
	floor   int64            // buckets below it count as emitted
	newest  int64            // the newest bucket a snapshot was seen for
}

// Bucket is the snapshots of one cluster in one time bucket.
type Bucket struct {
	Cluster string
	Start   int64                    // epoch of the bucket's start, seconds
	Hosts   map[string]record.Record // one snapshot per host (a newer epoch replaces an older)
	Files   map[string][]blob.Reply  // the replies of each host's snapshot, held
	Expect  []string                 // hosts it waited for, sorted (set by Due)
	first   time.Time
}

// start returns the bucket of epoch.
func (b *Buckets) start(epoch int64) int64 {
	iv := int64(b.Interval / time.Second)
	if iv <= 0 {
		iv = 1
	}
	s := epoch - epoch%iv
	if epoch < 0 && epoch%iv != 0 {
		s -= iv
	}
	return s
}

func (b *Buckets) cluster(name string) *cluster {
	if b.clusters == nil {
		b.clusters = map[string]*cluster{}
	}
	c := b.clusters[name]
	if c == nil {
		c = &cluster{open: map[int64]*Bucket{}, seen: map[string]int64{}, emitted: map[int64]bool{}, closing: map[int64]bool{}, floor: -1 << 62, newest: -1 << 62}
		b.clusters[name] = c
	}
	return c
}

// Bucket returns the bucket start of r.
func (b *Buckets) Bucket(r record.Record) int64 { return b.start(r.Epoch) }

// Add puts r, whose replies are files, into its bucket, received at now,
// and reports false if it is late (then it is counted and not merged).
// It takes over the references of files: they are released when r is
// late or replaced, or with the bucket (Bucket.Release).
func (b *Buckets) Add(r record.Record, files []blob.Reply, now time.Time) bool {
	c := b.cluster(r.Cluster)
	s := b.start(r.Epoch)
	if s > c.seen[r.Host] {
		// A late host is alive too: the next buckets expect it. Were it
		// not counted, a bucket emitted without it (after a pause, by its
		// first host alone) would make every later one the same.
		c.seen[r.Host] = s
	}
	if s < c.floor || c.emitted[s] || c.closing[s] {
		b.Late++
		release(files)
		return false
	}
	c.newest = max(c.newest, s)
	bk := c.open[s]
	if bk == nil {
		bk = &Bucket{Cluster: r.Cluster, Start: s, Hosts: map[string]record.Record{}, Files: map[string][]blob.Reply{}, first: now}
		c.open[s] = bk
	}
	old, ok := bk.Hosts[r.Host]
	if ok {
		b.Replaced++ // two rounds of one host in one bucket, or one shipped twice
	}
	if !ok || r.Epoch >= old.Epoch {
		bk.Hosts[r.Host] = r
		files, bk.Files[r.Host] = bk.Files[r.Host], files
	}
	release(files) // the replaced host's, or r's when older
	if i, found := slices.BinarySearch(c.buckets, s); !found {
		c.buckets = slices.Insert(c.buckets, i, s)
		if len(c.buckets) > b.Window+1 {
			c.buckets = c.buckets[len(c.buckets)-b.Window-1:]
		}
	}
	return true
}

// Emitted reports whether the bucket start of cluster was emitted (or is
// older than every bucket remembered).
func (b *Buckets) Emitted(clusterName string, start int64) bool {
	c := b.clusters[clusterName]
	if c == nil {
		return false
	}
	return start < c.floor || c.emitted[start]
}

// Due removes and returns the buckets due at now, oldest first. The
// caller renders and delivers each, then calls Done with it.
func (b *Buckets) Due(now time.Time) []*Bucket {
	var out []*Bucket
	iv := int64(b.Interval / time.Second)
	if iv <= 0 {
		iv = 1
	}
	for _, c := range b.clusters {
		for s, bk := range c.open {
			known := c.knows(s, b.Window, iv)
			var expect []string
			for h, last := range c.seen {
				if last >= s-int64(b.Window)*iv {
					expect = append(expect, h)
				}
			}
			slices.Sort(expect)
			complete, passed := known, c.newest >= s+int64(b.Window)*iv
			for _, h := range expect {
				if _, ok := bk.Hosts[h]; !ok {
					complete = false
					passed = passed && c.seen[h] > s
				}
			}
			if !complete && !passed && now.Sub(bk.first) < b.Grace {
				continue
			}
			bk.Expect = expect
			out = append(out, bk)
			delete(c.open, s)
			c.closing[s] = true
		}
	}
	slices.SortFunc(out, func(x, y *Bucket) int {
		if x.Start != y.Start {
			return int(x.Start - y.Start)
		}
		if x.Cluster < y.Cluster {
			return -1
		}
		return 1
	})
	return out
}

// knows reports whether the hosts of bucket s are known: the cluster
// was seen in window buckets, and in one of the window before s. After a
// pause longer than that, the hosts seen before it are not expected, and
// the first host back is not all of them: the bucket waits for grace, or
// for the records' time, as the first buckets of a new cluster do.
func (c *cluster) knows(s int64, window int, iv int64) bool {
	if len(c.buckets) <= window {
		return false
	}
	i, _ := slices.BinarySearch(c.buckets, s) // the buckets before s are c.buckets[:i]
	return i > 0 && c.buckets[i-1] >= s-int64(window)*iv
}

// Done marks bk emitted: later snapshots for it are late.
func (b *Buckets) Done(bk *Bucket) {
	c := b.cluster(bk.Cluster)
	delete(c.closing, bk.Start)
	c.emitted[bk.Start] = true
	for len(c.emitted) > maxEmitted {
		oldest := int64(1<<62 - 1)
		for s := range c.emitted {
			oldest = min(oldest, s)
		}
		delete(c.emitted, oldest)
		c.floor = max(c.floor, oldest+1)
	}
}

// Drop forgets the open buckets and the history of cluster, as when its
// partition goes to another consumer.
func (b *Buckets) Drop(clusterName string) {
	if c := b.clusters[clusterName]; c != nil {
		for _, bk := range c.open {
			bk.Release()
		}
	}
	delete(b.clusters, clusterName)
}

// Release lets go of the replies of bk's hosts.
func (bk *Bucket) Release() {
	for h, files := range bk.Files {
		release(files)
		delete(bk.Files, h)
	}
}

// release lets go of files.
func release(files []blob.Reply) {
	for _, f := range files {
		f.Release()
	}
}

// Open returns the number of buckets not yet emitted.
func (b *Buckets) Open() int {
	n := 0
	for _, c := range b.clusters {
		n += len(c.open)
	}
	return n
}
