package process

import (
	"container/heap"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/haproxystats-go/haproxystats/internal/spool"
)

// queue holds the snapshots waiting to be processed, oldest first, each
// once: a snapshot announced again (by a rescan) while it waits or is
// being processed is ignored. It is unbounded because its entries are
// directories already on disk, bounded by pull's queue-size.
type queue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	items  snapHeap        // guarded by mu
	known  map[string]bool // waiting or in hand; guarded by mu
	closed bool            // guarded by mu
	// size is len(known), for readers that must not wait for mu (the
	// health probes).
	size atomic.Int64
}

type snap struct {
	ts   int64
	path string
}

func newQueue() *queue {
	q := &queue{known: map[string]bool{}}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// push adds path unless it is known already. It reports whether it did.
func (q *queue) push(path string) bool {
	ts, ok := spool.ParseName(filepath.Base(path))
	if !ok {
		return false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.known[path] || q.closed {
		return false
	}
	q.known[path] = true
	q.size.Store(int64(len(q.known)))
	heap.Push(&q.items, snap{ts, path})
	q.cond.Signal()
	return true
}

// requeue puts back a snapshot that is in hand (it stays known).
func (q *queue) requeue(path string) {
	ts, _ := spool.ParseName(filepath.Base(path))
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		delete(q.known, path)
		q.size.Store(int64(len(q.known)))
		return
	}
	heap.Push(&q.items, snap{ts, path})
	q.cond.Signal()
}

// pop blocks for the oldest waiting snapshot; false once closed.
func (q *queue) pop() (string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return "", false
	}
	return heap.Pop(&q.items).(snap).path, true
}

// done forgets a snapshot that left the queue for good.
func (q *queue) done(path string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.known, path)
	q.size.Store(int64(len(q.known)))
}

// close wakes every pop; snapshots still waiting stay on disk for the
// next start.
func (q *queue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.cond.Broadcast()
}

// held returns how many snapshots are waiting, in hand or waiting for
// a retry: those in src-dir the processor knows of. It does not wait for
// mu.
func (q *queue) held() int { return int(q.size.Load()) }

// waiting returns how many snapshots wait, not counting those in hand.
func (q *queue) waiting() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

type snapHeap []snap

func (h snapHeap) Len() int { return len(h) }
func (h snapHeap) Less(i, j int) bool {
	if h[i].ts != h[j].ts {
		return h[i].ts < h[j].ts
	}
	return h[i].path < h[j].path
}
func (h snapHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *snapHeap) Push(x any)   { *h = append(*h, x.(snap)) }
func (h *snapHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
