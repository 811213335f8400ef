package fleet

// peakInFlight returns the most deliveries that were in flight at once.
func (c *Consumer) peakInFlight() int {
	c.flight.mu.Lock()
	defer c.flight.mu.Unlock()
	return c.flight.peak
}

// pendingAt is a record read and not committed: partition and offset,
// and whether its per-host metrics were accepted by every sink.
type pendingAt struct {
	Partition int32
	Offset    int64
	Delivered bool
}

// Crash makes the consumer read, deliver and commit nothing more, and
// stop when its context ends: what a killed process does. It stops the
// world before it counts: it waits for the commit in progress to be
// answered and for the deliveries in flight to be accepted, then
// returns the records read and not committed, which a new owner reads
// again; those Delivered are in the sinks twice once it did.
func (c *Consumer) Crash() []pendingAt {
	c.commitMu.Lock() // the commit in progress is answered; none starts after
	c.mu.Lock()
	c.crashed = true // start begins no delivery any more
	c.mu.Unlock()
	c.commitMu.Unlock()
	c.deliveries.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []pendingAt
	for p, recs := range c.pending {
		for _, r := range recs {
			out = append(out, pendingAt{Partition: p, Offset: r.offset, Delivered: r.hostDone})
		}
	}
	return out
}
