package engine

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp"
)

// recorder is a Network, Steering and Reporter that writes down what the
// executor asks of it.
type recorder struct {
	calls   []string
	stamped bool
	sendErr error
	failed  []error
}

func (r *recorder) Send(a *Action) (int64, bool, error) {
	r.calls = append(r.calls, "send "+a.MessageType.String())
	return 1_000, r.stamped, r.sendErr
}
func (r *recorder) AdjustFrequency(float64) error { r.calls = append(r.calls, "freq"); return nil }
func (r *recorder) Step(int64) error              { r.calls = append(r.calls, "step"); return errors.New("no") }
func (r *recorder) SetTAIOffset(int16) error      { r.calls = append(r.calls, "tai"); return nil }
func (r *recorder) Record(l LogRecord)            { r.calls = append(r.calls, "log") }
func (r *recorder) Failed(a *Action, err error) {
	r.calls = append(r.calls, "failed")
	r.failed = append(r.failed, err)
}

// grandmaster returns a clock whose one port is MASTER, so that its Sync
// is answered by a Follow_Up once the Sync's timestamp comes back.
func masterClock(t *testing.T) *Clock {
	t.Helper()
	cc := DefaultClockConfig(cid(1))
	pc := DefaultPortConfig("eth0")
	pc.MasterOnly = true
	c, err := NewClock(cc, []PortConfig{pc}, &testPI{stepLimit: 1e6}, 1)
	require.NoError(t, err)
	return c
}

// executorOn returns a MASTER clock and an Executor that carries out its
// actions through r.
func executorOn(t *testing.T, r *recorder) (*Clock, *Executor) {
	t.Helper()
	c := masterClock(t)
	c.ports[0].state = Master
	return c, &Executor{Engine: c, Net: r, Steer: r, Report: r, Now: func() int64 { return 1 }}
}

// batchExecutorOn is executorOn with a BatchNetwork.
func batchExecutorOn(t *testing.T, r *batchRecorder) (*Clock, *Executor) {
	t.Helper()
	c, x := executorOn(t, &r.recorder)
	x.Net = r
	return c, x
}

func TestExecutor(t *testing.T) {
	t.Run("every send before any transmit timestamp goes back", func(t *testing.T) {
		r := &recorder{stamped: true}
		c, x := executorOn(t, r)
		c.begin()
		c.ports[0].sendSync()
		c.ports[0].sendAnnounce()
		x.Apply(c.acts)
		assert.Equal(t, []string{"send SYNC", "send ANNOUNCE", "send FOLLOW_UP"}, r.calls, "the Follow_Up follows the Sync's timestamp, after the batch")
	})
	t.Run("a timestamp learnt later", func(t *testing.T) {
		r := &recorder{stamped: false}
		c, x := executorOn(t, r)
		c.begin()
		c.ports[0].sendSync()
		x.Apply(c.acts)
		assert.Equal(t, []string{"send SYNC"}, r.calls)
		x.TxTimestamp(0, ptp.MessageSync, 0, 1_000)
		assert.Equal(t, []string{"send SYNC", "send FOLLOW_UP"}, r.calls)
	})
	t.Run("no transmit timestamp faults the port", func(t *testing.T) {
		r := &recorder{sendErr: errors.New("timed out")}
		c, x := executorOn(t, r)
		c.begin()
		c.ports[0].sendSync()
		x.Apply(c.acts)
		require.Len(t, r.failed, 1)
		assert.Equal(t, Faulty, c.Port(0).State())
	})
	t.Run("steering and reports", func(t *testing.T) {
		c := masterClock(t)
		r := &recorder{}
		var relayed [][]byte
		var watched int
		x := Executor{Engine: c, Net: r, Steer: r, Report: r, Now: func() int64 { return 1 },
			Relay: func(b []byte) { relayed = append(relayed, b) }, Watch: func(a []Action) { watched += len(a) }}
		x.Apply([]Action{{Kind: AdjustFrequency}, {Kind: Step}, {Kind: SetTAIOffset}, {Kind: Log}, {Kind: ToUDS, Msg: []byte{1}}})
		assert.Equal(t, []string{"freq", "step", "failed", "tai", "log"}, r.calls)
		assert.Equal(t, [][]byte{{1}}, relayed)
		assert.Equal(t, 5, watched)
	})
}

// batchRecorder is a recorder that is also a BatchNetwork.
type batchRecorder struct {
	recorder
	batches []int
	lose    map[int]bool // which messages of a batch get no timestamp
	// syncTo is where each Sync went, by the timestamp it was given (each
	// its own); followUps, for each Follow_Up, whether it went to the
	// client whose Sync carried its preciseOriginTimestamp.
	syncTo    map[int64]Addr
	followUps []bool
}

func (r *batchRecorder) SendEvents(acts []*Action, res []SendResult) {
	r.batches = append(r.batches, len(acts))
	if r.syncTo == nil {
		r.syncTo = map[int64]Addr{}
	}
	for i, a := range acts {
		r.calls = append(r.calls, "send "+a.MessageType.String())
		ts := int64(len(r.syncTo)+1) * 1_000_000_000
		r.syncTo[ts] = a.To
		res[i] = SendResult{TS: ts, Stamped: true}
		if r.lose[i] {
			res[i] = SendResult{Err: errors.New("timed out")}
		}
	}
}

func (r *batchRecorder) Send(a *Action) (int64, bool, error) {
	if a.MessageType == ptp.MessageFollowUp {
		var f ptp.FollowUp
		ok := f.UnmarshalBinary(a.Msg) == nil
		to, known := r.syncTo[f.PreciseOriginTimestamp.UnixNano()]
		r.followUps = append(r.followUps, ok && known && to == a.To)
	}
	return r.recorder.Send(a)
}

// withUnicastClients makes the MASTER port of c serve n unicast clients
// Sync once a second, and returns the time their first round is due.
func withUnicastClients(t *testing.T, c *Clock, n int) int64 {
	t.Helper()
	p := c.ports[0]
	p.uc = newUnicastService()
	for i := range n {
		r := ptp.RequestUnicastTransmission{MessageType: ptp.MessageSync, DurationField: 60}
		p.uc.grant(Addr{IP: netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 0, byte(i + 1)}), 0)}, ptp.PortIdentity{}, &r, 1)
	}
	return p.uc.deadline()
}

func TestExecutorBatches(t *testing.T) {
	t.Run("event messages in batches, then every timestamp", func(t *testing.T) {
		r := &batchRecorder{}
		c, x := batchExecutorOn(t, r)
		due := withUnicastClients(t, c, 100)
		c.begin()
		c.ports[0].serveUnicast(due)
		x.Apply(c.acts)
		assert.Equal(t, []int{64, 36}, r.batches, "the round's Syncs in two batches")
		assert.Len(t, r.calls, 200, "100 Syncs, then 100 Follow_Ups")
		assert.Equal(t, "send FOLLOW_UP", r.calls[100])
		require.Len(t, r.followUps, 100)
		for i, right := range r.followUps {
			assert.True(t, right, "Follow_Up %d went to the client of the Sync whose timestamp it carries", i)
		}
	})
	t.Run("a lost unicast Sync timestamp costs one Follow_Up", func(t *testing.T) {
		r := &batchRecorder{lose: map[int]bool{1: true}}
		c, x := batchExecutorOn(t, r)
		due := withUnicastClients(t, c, 3)
		c.begin()
		c.ports[0].serveUnicast(due)
		x.Apply(c.acts)
		assert.Equal(t, []string{"send SYNC", "send SYNC", "send SYNC", "send FOLLOW_UP", "failed", "send FOLLOW_UP"}, r.calls)
		assert.Equal(t, Master, c.Port(0).State(), "the port serves on")
		assert.EqualValues(t, 1, c.Port(0).UnicastServiceStats().Unstamped)
	})
	t.Run("a lost multicast Sync timestamp faults the port", func(t *testing.T) {
		r := &batchRecorder{lose: map[int]bool{0: true}}
		c, x := batchExecutorOn(t, r)
		c.begin()
		c.ports[0].sendSync()
		x.Apply(c.acts)
		assert.Equal(t, Faulty, c.Port(0).State())
	})
}

// quiet is a Network, Steering and Reporter that does nothing and always
// has the transmit timestamp: the executor's own cost.
type quiet struct{}

func (quiet) Send(*Action) (int64, bool, error) { return 1_000, true, nil }
func (quiet) AdjustFrequency(float64) error     { return nil }
func (quiet) Step(int64) error                  { return nil }
func (quiet) SetTAIOffset(int16) error          { return nil }
func (quiet) Record(LogRecord)                  {}
func (quiet) Failed(*Action, error)             {}

// TestExecutorAllocatesNothing: carrying out a batch costs no allocation,
// with or without sends (the per-message path of a 128 Hz daemon).
func TestExecutorAllocatesNothing(t *testing.T) {
	c := masterClock(t)
	var q quiet
	x := Executor{Engine: c, Net: q, Steer: q, Report: q, Now: func() int64 { return 1 }}
	c.ports[0].state = Master
	assert.Zero(t, testing.AllocsPerRun(100, func() { x.Apply(nil) }))
	steer := []Action{{Kind: AdjustFrequency}, {Kind: Log}}
	assert.Zero(t, testing.AllocsPerRun(100, func() { x.Apply(steer) }))
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		c.begin()
		c.ports[0].sendSync()
		x.Apply(c.acts) // the Sync, then its Follow_Up once the timestamp is back
	}))
	// A round of unicast Syncs through a BatchNetwork.
	bx := Executor{Engine: c, Net: quietBatch{}, Steer: q, Report: q, Now: func() int64 { return 1 }}
	withUnicastClients(t, c, 100)
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		c.begin()
		c.ports[0].uc.inRound, c.ports[0].uc.next = true, 0
		c.ports[0].serveUnicast(1e9)
		bx.Apply(c.acts)
	}))
}

// quietBatch is quiet as a BatchNetwork.
type quietBatch struct{ quiet }

func (quietBatch) SendEvents(acts []*Action, res []SendResult) {
	for i := range acts {
		res[i] = SendResult{TS: 1_000, Stamped: true}
	}
}

// TestSwitchServo: a new servo takes over unlocked, told the sample
// interval the port last heard, and the next sample goes to it.
func TestSwitchServo(t *testing.T) {
	c := masterClock(t)
	c.ports[0].syncInterval, c.ports[0].haveSyncInterval = -4, true
	c.servoState = ServoLocked
	next := &testPI{stepLimit: 1e6}
	c.SwitchServo(0, next)
	assert.Equal(t, ServoUnlocked, c.servoState)
	assert.Equal(t, 1.0/16, next.interval)
	assert.Same(t, next, c.servo.(*testPI))
}
