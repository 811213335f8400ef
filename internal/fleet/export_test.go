package fleet

// peakInFlight returns the most deliveries that were in flight at once.
func (c *Consumer) peakInFlight() int {
	c.flight.mu.Lock()
	defer c.flight.mu.Unlock()
	return c.flight.peak
}

// Crash makes the consumer read and commit nothing more, and stop when
// its context ends: what a killed process does. It returns the records
// read and not committed then, which a new owner reads again.
func (c *Consumer) Crash() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.crashed = true
	n := 0
	for _, recs := range c.pending {
		n += len(recs)
	}
	return n
}
