package transport

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// NIC emulates the timestamping of a network card with a PTP hardware
// clock, on an interface that has none (a veth in a test namespace, a
// developer's laptop). It replaces only the kernel's side of hardware
// timestamping, at the lowest seam: what ETHTOOL_GET_TS_INFO answers, what
// SIOCSHWTSTAMP does, and the raw hardware timestamp the kernel writes
// into each control message. Everything above that, the transport's
// parsing, its matching of transmit timestamps, its timeouts, and the
// daemon's hardware path, is the code that runs on a real NIC.
//
// The kernel is asked for software timestamps, which any interface gives;
// the emulated NIC turns each into a hardware one by mapping the instant
// (CLOCK_REALTIME) onto its PHC's timescale with Clock, plus white noise,
// and can lose transmit timestamps, as a NIC under load or with a driver
// bug does. A one-step NIC writes the transmit time into a one-step Sync
// as it leaves. A NIC is safe for concurrent use by the transports of one
// port.
type NIC struct {
	// PHCIndex is the /dev/ptpN index the interface reports (ethtool -T).
	PHCIndex int
	// Clock maps a CLOCK_REALTIME instant, ns, to the PHC's time at that
	// instant, ns. It must be safe for concurrent use.
	Clock func(realtimeNs int64) int64
	// Noise is the RMS of white noise on each timestamp, ns.
	Noise float64
	// TxLoss is the probability that a transmit timestamp never comes.
	TxLoss float64
	// TxLate is the probability that a transmit timestamp comes late, as
	// from a busy driver's kworker: it is held back for TxLateBy (default
	// 50 ms, which should exceed tx_timestamp_timeout so that the wait
	// gives up on it) and handed over at the socket's next error-queue
	// read after that, where the transport counts it late. Nothing wakes
	// a waiter when it falls due, so a TxLateBy within the timeout makes
	// it as good as lost.
	TxLate   float64
	TxLateBy time.Duration
	// Seed makes the noise and the losses repeatable.
	Seed uint64

	mu       sync.Mutex
	rng      *rand.Rand
	hwtstamp unix.HwTstampConfig
	hwSet    bool
	lost     atomic.Uint64
	late     atomic.Uint64
}

// txVerdict is what becomes of a transmit timestamp on the emulated card.
type txVerdict uint8

const (
	txOnTime txVerdict = iota
	txLost
	txLate
)

// TimestampingInfo is what the emulated card answers to
// ETHTOOL_GET_TS_INFO (see tsInfo), for tools that ask the card itself.
func (n *NIC) TimestampingInfo() unix.EthtoolTsInfo { return *n.tsInfo() }

// tsInfo is what the emulated card answers to ETHTOOL_GET_TS_INFO: hardware
// and software timestamping, one-step Sync, and the PTP receive filters,
// as an i210 or an E810 reports them.
func (n *NIC) tsInfo() *unix.EthtoolTsInfo {
	return &unix.EthtoolTsInfo{
		So_timestamping: unix.SOF_TIMESTAMPING_TX_HARDWARE | unix.SOF_TIMESTAMPING_RX_HARDWARE | unix.SOF_TIMESTAMPING_RAW_HARDWARE |
			unix.SOF_TIMESTAMPING_TX_SOFTWARE | unix.SOF_TIMESTAMPING_RX_SOFTWARE | unix.SOF_TIMESTAMPING_SOFTWARE,
		Phc_index: int32(n.PHCIndex),
		Tx_types:  1<<unix.HWTSTAMP_TX_OFF | 1<<unix.HWTSTAMP_TX_ON | 1<<unix.HWTSTAMP_TX_ONESTEP_SYNC,
		Rx_filters: 1<<unix.HWTSTAMP_FILTER_NONE | 1<<unix.HWTSTAMP_FILTER_ALL | 1<<unix.HWTSTAMP_FILTER_PTP_V2_L4_EVENT |
			1<<unix.HWTSTAMP_FILTER_PTP_V2_L2_EVENT | 1<<unix.HWTSTAMP_FILTER_PTP_V2_EVENT,
	}
}

// setHwTstamp is the emulated SIOCSHWTSTAMP: the card keeps the
// configuration.
func (n *NIC) setHwTstamp(cfg *unix.HwTstampConfig) error {
	n.mu.Lock()
	n.hwtstamp, n.hwSet = *cfg, true
	n.mu.Unlock()
	return nil
}

// HwTstamp returns what SIOCSHWTSTAMP last set, and whether it was set.
func (n *NIC) HwTstamp() (unix.HwTstampConfig, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.hwtstamp, n.hwSet
}

// LostTxTimestamps counts the transmit timestamps the card lost.
func (n *NIC) LostTxTimestamps() uint64 { return n.lost.Load() }

// LateTxTimestamps counts the transmit timestamps the card held back.
func (n *NIC) LateTxTimestamps() uint64 { return n.late.Load() }

// lateBy is how long a late transmit timestamp is held back.
func (n *NIC) lateBy() time.Duration {
	if n.TxLateBy > 0 {
		return n.TxLateBy
	}
	return 50 * time.Millisecond
}

// stamp returns the PHC's timestamp of the CLOCK_REALTIME instant rt, with
// the card's noise, and for a transmit timestamp whether it is lost or
// late.
func (n *NIC) stamp(rt int64, tx bool) (int64, txVerdict) {
	n.mu.Lock()
	if n.rng == nil {
		n.rng = rand.New(rand.NewPCG(n.Seed, 0x1588))
	}
	var noise float64
	if n.Noise > 0 {
		noise = n.Noise * n.rng.NormFloat64()
	}
	v := txOnTime
	if tx {
		switch u := n.rng.Float64(); {
		case u < n.TxLoss:
			v = txLost
		case u < n.TxLoss+n.TxLate:
			v = txLate
		}
	}
	n.mu.Unlock()
	switch v {
	case txLost:
		n.lost.Add(1)
		return 0, v
	case txLate:
		n.late.Add(1)
	}
	return n.Clock(rt) + int64(math.Round(noise)), v
}

// now returns the PHC's time now, for a one-step Sync's origin timestamp.
func (n *NIC) now() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_REALTIME, &ts)
	t, _ := n.stamp(ts.Nano(), false)
	return t
}

// rewriteControl plays the driver's part on a control buffer the kernel
// filled with software timestamps: each scm_timestamping gets the card's
// raw hardware timestamp (ts[2]) for the software one (ts[0]), or none at
// all for a lost transmit timestamp; late says a transmit timestamp is to
// be held back (Conn does that). A buffer the kernel would not write is
// left as it is, for parseControl to refuse.
func (n *NIC) rewriteControl(b []byte, tx bool) (late bool) {
	for len(b) >= cmsgHdrLen {
		level, typ, data, rest, err := nextCmsg(b)
		if err != nil {
			return late
		}
		if level == unix.SOL_SOCKET && (typ == unix.SO_TIMESTAMPING || typ == unix.SO_TIMESTAMPING_NEW) && len(data) >= scmTimestampingLen {
			sec := int64(binary.NativeEndian.Uint64(data[0:]))
			nsec := int64(binary.NativeEndian.Uint64(data[8:]))
			if sec != 0 || nsec != 0 {
				hw, v := n.stamp(sec*1e9+nsec, tx)
				if v == txLost {
					clear(data[:scmTimestampingLen])
				} else {
					binary.NativeEndian.PutUint64(data[32:], uint64(hw/1e9))
					binary.NativeEndian.PutUint64(data[40:], uint64(hw%1e9))
				}
				late = late || v == txLate
			}
		}
		b = rest
	}
	return late
}

// oneStepSync writes the card's transmit time into msg when it is a Sync
// without the twoStep flag, as a one-step NIC does on the wire, and
// reports whether it did. msg must be the caller's copy. The time is taken
// as the message is handed to the kernel, some microseconds (10–30 here)
// before the kernel's own software timestamp: a real card stamps at
// egress, so the emulation's one-step offset carries that bias.
func (n *NIC) oneStepSync(msg []byte) bool {
	if !isOneStepSync(msg) {
		return false
	}
	putOriginTimestamp(msg, n.now())
	return true
}

// isOneStepSync reports whether msg is a Sync without the twoStep flag:
// messageType in the low nibble of byte 0, flagField's twoStep bit in
// byte 6.
func isOneStepSync(msg []byte) bool {
	return len(msg) >= 44 && msg[0]&0x0f == 0 && msg[6]&0x02 == 0
}

// putOriginTimestamp writes ts (ns since the epoch) as a Sync's
// originTimestamp: 48-bit seconds and 32-bit nanoseconds at octet 34.
func putOriginTimestamp(msg []byte, ts int64) {
	sec, ns := ts/1e9, ts%1e9
	binary.BigEndian.PutUint16(msg[34:], uint16(sec>>32))
	binary.BigEndian.PutUint32(msg[36:], uint32(sec))
	binary.BigEndian.PutUint32(msg[40:], uint32(ns))
}
