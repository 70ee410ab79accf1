package engine

import "github.com/roko-network/roko-ptpd/ptp"

// The engine decides and returns Actions; an Executor carries them out.
// There is one Executor, and the daemon on real sockets, the pcap replay
// and the simulated network all use it, so that what they test is what
// runs: only the Network and the Steering behind it differ.

// Network sends a clock's messages. It is the edge between the engine and
// a transport (sockets, a simulated link, a recording).
type Network interface {
	// Send sends the message of a (a Send action) where a.Dest and a.To
	// say. For an event message it returns the transmit timestamp on the
	// steered clock's timescale with stamped true when the timestamp is
	// known at once (a socket's error queue); a network that learns it
	// later returns stamped false and hands it to Executor.TxTimestamp
	// then. a.Msg aliases engine memory that the next call into the
	// engine overwrites: Send must copy what it keeps.
	Send(a *Action) (ts int64, stamped bool, err error)
}

// BatchNetwork is a Network that sends many event messages at once (a
// unicast grandmaster's round of Syncs): one system call for the lot, and
// their transmit timestamps read back together, with one timeout for the
// batch rather than one each.
type BatchNetwork interface {
	Network
	// SendEvents sends the event messages of acts, in order, and sets
	// res[i] to what Send would have returned for acts[i].
	SendEvents(acts []*Action, res []SendResult)
}

// SendResult is the outcome of one message of BatchNetwork.SendEvents.
type SendResult struct {
	TS      int64
	Stamped bool
	Err     error
}

// maxEventBatch bounds the event messages handed to SendEvents at once.
const maxEventBatch = 64

// Steering applies the engine's decisions to the clock it steers.
type Steering interface {
	// AdjustFrequency sets the clock's frequency offset, ppb.
	AdjustFrequency(ppb float64) error
	// Step moves the clock by ns at once.
	Step(ns int64) error
	// SetTAIOffset tells the kernel the UTC offset (only a clock that
	// keeps UTC has one to tell; others do nothing).
	SetTAIOffset(offset int16) error
}

// Reporter receives what the engine says and how carrying it out went.
// Every method may be called often on the hot path: implementations must
// not block, and should not allocate.
type Reporter interface {
	// Record is a log line or fault report of the engine's.
	Record(r LogRecord)
	// Failed says an action could not be carried out (a send, a clock
	// adjustment); err says why. For a transmit timestamp that never came
	// err wraps the transport's timeout error, and the port has faulted.
	Failed(a *Action, err error)
}

// Executor carries out a Clock's actions: it sends through Net, steers
// through Steer, reports through Report, and hands transmit timestamps
// back to the engine. It runs on the clock's one event loop.
type Executor struct {
	// Engine is the clock whose actions are carried out.
	Engine *Clock
	// Net sends its messages.
	Net Network
	// Steer applies its frequency adjustments, steps and UTC offset.
	Steer Steering
	// Report receives its log records and every failure.
	Report Reporter
	// Relay, when set, receives management responses the engine relays
	// to the UNIX socket's client (ToUDS actions).
	Relay func(msg []byte)
	// Watch, when set, sees every batch of actions before it is carried
	// out (the daemon sends SUBSCRIBE_EVENTS_NP notifications from it).
	Watch func(acts []Action)
	// Now reads the monotonic time that drives the engine's timers.
	Now func() int64

	// pend holds the transmit timestamps of the batches being carried
	// out: a batch appends after those of the batches it is nested in
	// (a Follow_Up's batch runs inside its Sync's), and truncates back
	// when done, so that a unicast server's round of thousands of Syncs
	// costs no allocation once the slice has grown.
	pend []txPending
	// batch and res are the event sends of a batch that go to a
	// BatchNetwork together, and their outcomes.
	batch []*Action
	res   []SendResult
}

// txPending is a transmit timestamp to hand back to the engine once
// every message of the batch has left.
type txPending struct {
	port int
	typ  ptp.MessageType
	seq  uint16
	ts   int64
	err  error
	fwd  bool
	dest Dest
}

// Apply carries out acts. Messages alias engine memory until the next call
// into the engine, so every message is sent before any transmit timestamp
// goes back in (which calls the engine and may send more).
func (x *Executor) Apply(acts []Action) {
	if x.Watch != nil {
		x.Watch(acts)
	}
	base := len(x.pend)
	bn, batching := x.Net.(BatchNetwork)
	x.batch = x.batch[:0]
	for i := range acts {
		a := &acts[i]
		switch a.Kind {
		case Send:
			if batching && a.Event {
				// Event messages go in batches; the rest at once (which
				// may reorder an event message after a general one that
				// followed it: they leave by different sockets anyway).
				if x.batch = append(x.batch, a); len(x.batch) == maxEventBatch {
					x.sendBatch(bn)
				}
				continue
			}
			ts, stamped, err := x.Net.Send(a)
			x.sent(a, ts, stamped, err)
		case AdjustFrequency:
			if err := x.Steer.AdjustFrequency(a.PPB); err != nil {
				x.Report.Failed(a, err)
			}
		case Step:
			if err := x.Steer.Step(a.StepNs); err != nil {
				x.Report.Failed(a, err)
			}
		case SetTAIOffset:
			if err := x.Steer.SetTAIOffset(a.TAIOffset); err != nil {
				x.Report.Failed(a, err)
			}
		case Log, Fault:
			x.Report.Record(a.Log)
		case ToUDS:
			if x.Relay != nil {
				x.Relay(a.Msg)
			}
		}
	}
	if len(x.batch) > 0 {
		x.sendBatch(bn)
	}
	end := len(x.pend)
	for i := base; i < end; i++ {
		t := x.pend[i] // a copy: nested batches may move x.pend
		if t.err != nil {
			// No transmit timestamp: the port cannot measure, and faults
			// (ptp4l does the same on a timeout or a failed send), unless
			// it was one unicast client's Sync, which costs that client
			// its Follow_Up (Clock.TxTimestampLost). The action is
			// rebuilt here from the pending record.
			failed := &Action{Kind: Send, Port: t.port, Event: true, Dest: t.dest, MessageType: t.typ, SequenceID: t.seq}
			x.Report.Failed(failed, t.err)
			x.Apply(x.Engine.TxTimestampLost(t.port, t.typ, t.seq, t.dest, x.Now()))
			continue
		}
		if t.fwd {
			x.ForwardedTxTimestamp(t.port, t.typ, t.seq, t.ts)
			continue
		}
		x.TxTimestamp(t.port, t.typ, t.seq, t.ts)
	}
	x.pend = x.pend[:base]
}

// sent records the outcome of sending a: an event message's timestamp (or
// its failure) waits for the end of the batch.
func (x *Executor) sent(a *Action, ts int64, stamped bool, err error) {
	switch {
	case a.Event && (stamped || err != nil):
		x.pend = append(x.pend, txPending{a.Port, a.MessageType, a.SequenceID, ts, err, a.Forwarded, a.Dest})
	case err != nil:
		x.Report.Failed(a, err)
	}
}

// sendBatch sends the event messages gathered in x.batch.
func (x *Executor) sendBatch(bn BatchNetwork) {
	if cap(x.res) < len(x.batch) {
		x.res = make([]SendResult, maxEventBatch)
	}
	res := x.res[:len(x.batch)]
	clear(res)
	bn.SendEvents(x.batch, res)
	for i, a := range x.batch {
		x.sent(a, res[i].TS, res[i].Stamped, res[i].Err)
	}
	x.batch = x.batch[:0]
}

// ForwardedTxTimestamp hands a transparent clock the transmit timestamp
// of an event message it forwarded on port (an Action with Forwarded
// set), and carries out what follows (the Follow_Up or Delay_Resp that
// carries the residence time).
func (x *Executor) ForwardedTxTimestamp(port int, typ ptp.MessageType, seq uint16, ts int64) {
	x.Apply(x.Engine.ForwardedTxTimestamp(port, typ, seq, ts, x.Now()))
}

// TxTimestamp hands the engine the transmit timestamp of an event message
// it sent on port, and carries out what follows (a Follow_Up, a
// Delay_Resp_Follow_Up ...).
func (x *Executor) TxTimestamp(port int, typ ptp.MessageType, seq uint16, ts int64) {
	x.Apply(x.Engine.TxTimestamp(port, typ, seq, ts, x.Now()))
}

// Receive hands the engine a message received on port at local time rx
// from from, and carries out what follows.
func (x *Executor) Receive(port int, msg []byte, rx int64, from Addr) {
	x.Apply(x.Engine.Receive(port, msg, rx, from, x.Now()))
}

// Start starts the clock's ports and carries out what follows.
func (x *Executor) Start() { x.Apply(x.Engine.Start(x.Now())) }

// Tick runs the engine's timers that are due and carries out what
// follows; it does nothing before the engine's deadline.
func (x *Executor) Tick() {
	now := x.Now()
	if d := x.Engine.Deadline(); d != 0 && now >= d {
		x.Apply(x.Engine.Tick(now))
	}
}
