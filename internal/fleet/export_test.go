package fleet

// Crash makes the consumer stop, when its context ends, without
// committing anything more: what a killed process does.
func (c *Consumer) Crash() {
	c.mu.Lock()
	c.crashed = true
	c.mu.Unlock()
}
