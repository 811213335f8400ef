package fleet

// peakInFlight returns the most deliveries that were in flight at once.
func (c *Consumer) peakInFlight() int {
	c.flight.mu.Lock()
	defer c.flight.mu.Unlock()
	return c.flight.peak
}

// Crash makes the consumer stop, when its context ends, without
// committing anything more: what a killed process does.
func (c *Consumer) Crash() {
	c.mu.Lock()
	c.crashed = true
	c.mu.Unlock()
}
