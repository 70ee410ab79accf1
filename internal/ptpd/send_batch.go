package ptpd

import (
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
	"github.com/roko-network/roko-ptpd/transport"
)

// Batched sends. On a port whose transport sends in batches
// (transport.Batcher), general messages are queued and the loop flushes
// them, once after it has read what woke it and once after the engine's
// timers ran, with one sendmmsg a queue: the Delay_Resp of every
// Delay_Req one wake-up read, a slice of a unicast round's Follow_Ups and
// Announces. Event messages go out as the executor batches them
// (SendEvents): a slice of a round's Syncs in sendmmsg calls of
// transport.EventBatchLen, their transmit timestamps read back in bulk.

// batchState is the daemon's scratch for batched sends.
type batchState struct {
	// queueFail is Daemon.queueFailed, made once (a method value made at
	// each send would allocate).
	queueFail func(tag uint64, err error)
	ts        [transport.EventBatchLen]int64
	errs      [transport.EventBatchLen]error
	// unstampedSyncs counts unicast Syncs without transmit timestamp
	// since the last log line about them, at unstampedLogged.
	unstampedSyncs  uint64
	unstampedLogged int64
}

// eventBatchLen is how many event messages go out in one sendmmsg under
// the timestamping mode. Software timestamps: transport.EventBatchLen,
// the kernel stamps every one. Hardware and one-step: 1, as before
// batching. Many NICs (igb's i210/i350, ixgbe, e1000e, older igc, i40e and
// bnxt) hold one transmit timestamp in flight and skip the stamp of any
// other packet sent meanwhile (igb counts tx_hwtstamp_skipped): a batch
// of 64 Syncs would get one timestamp and 63 clients no Follow_Up. The
// emulated NIC has no such limit, so no test here would show it.
func eventBatchLen(ts ptp.Timestamping) int {
	if ts == ptp.TimestampingSoftware {
		return transport.EventBatchLen
	}
	return 1
}

// queueTag names a queued message for queueFailed: its port and type.
func queueTag(port int, t ptp.MessageType) uint64 { return uint64(port)<<8 | uint64(t) }

// queueFailed reports a queued general message the kernel refused.
func (d *Daemon) queueFailed(tag uint64, err error) {
	a := engine.Action{Kind: engine.Send, Port: int(tag >> 8), MessageType: ptp.MessageType(tag & 0xff)}
	d.Failed(&a, err)
}

// flush sends every port's queued general messages.
func (d *Daemon) flush() {
	for i := range d.ports {
		if b := d.ports[i].batch; b != nil {
			b.Flush(d.queueFail)
		}
	}
}

// SendEvents implements engine.BatchNetwork: each run of acts on one
// port whose transport batches goes out in one sendmmsg, and its transmit
// timestamps are read back together, with one tx_timestamp_timeout for
// the run. A lone message, or a port that does not batch, goes through
// Send.
func (d *Daemon) SendEvents(acts []*engine.Action, res []engine.SendResult) {
	limit := eventBatchLen(d.set.Timestamping)
	for i := 0; i < len(acts); {
		j := i + 1
		for j < len(acts) && acts[j].Port == acts[i].Port && j-i < limit {
			j++
		}
		p := &d.ports[acts[i].Port]
		if p.batch == nil || j-i == 1 {
			for k := i; k < j; k++ {
				r := &res[k]
				r.TS, r.Stamped, r.Err = d.Send(acts[k])
			}
			i = j
			continue
		}
		queued := d.ts[:0] // which of acts[i:j] were queued, by index
		idx := [transport.EventBatchLen]int{}
		for k := i; k < j; k++ {
			a := acts[k]
			msg, err := d.sign(a.Port, a.Msg)
			if err == nil {
				err = p.batch.QueueEvent(msg, d.destination(p, a))
			}
			if err != nil {
				res[k].Err = err
				continue
			}
			idx[len(queued)] = k
			queued = append(queued, 0)
		}
		n := len(queued)
		p.batch.FlushEvents(d.ts[:n], d.errs[:n])
		for q := range n {
			r := &res[idx[q]]
			if d.errs[q] != nil {
				r.Err = d.errs[q]
				d.errs[q] = nil
				continue
			}
			r.TS, r.Stamped = d.toClock(d.ts[q]), true
		}
		i = j
	}
}
