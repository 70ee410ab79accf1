package engine

// Read-only views for monitoring (the daemon's metrics): each returns a
// copy, and like every other method of the engine must be called from the
// goroutine that drives it.

// ServoState returns the servo's state after its last sample.
func (c *Clock) ServoState() ServoState { return c.servoState }

// SyncSequence returns the port's count of Syncs lost, repeated and
// restarted in its master's sequenceId series (a slave port's view of
// packet loss).
func (p *Port) SyncSequence() SequenceTracker { return p.syncSeq }
