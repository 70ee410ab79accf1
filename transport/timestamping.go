package transport

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Timestamping is the time_stamping mode of ptp4l.conf.
type Timestamping uint8

// Timestamping modes.
const (
	// Software timestamps are taken by the kernel as the packet passes the
	// driver (SOF_TIMESTAMPING_TX/RX_SOFTWARE).
	Software Timestamping = iota + 1
	// Hardware timestamps are taken by the NIC's PTP hardware clock.
	Hardware
	// OneStep is hardware timestamping with one-step Sync: the NIC writes
	// the transmit time into the Sync as it leaves.
	OneStep
)

// String returns ptp4l's name of the mode.
func (m Timestamping) String() string {
	switch m {
	case Software:
		return "software"
	case Hardware:
		return "hardware"
	case OneStep:
		return "onestep"
	}
	return fmt.Sprintf("Timestamping(%d)", uint8(m))
}

// sockFlags are the SO_TIMESTAMPING flags for a mode. OPT_ID tags each
// transmit timestamp with a per-socket packet counter so that it can be
// matched to its packet; OPT_TSONLY returns the timestamp without a copy of
// the packet, which the error queue would otherwise hold on to.
func sockFlags(m Timestamping) uint32 {
	const opt = unix.SOF_TIMESTAMPING_OPT_ID | unix.SOF_TIMESTAMPING_OPT_TSONLY
	if m == Software {
		return unix.SOF_TIMESTAMPING_TX_SOFTWARE | unix.SOF_TIMESTAMPING_RX_SOFTWARE |
			unix.SOF_TIMESTAMPING_SOFTWARE | opt
	}
	return unix.SOF_TIMESTAMPING_TX_HARDWARE | unix.SOF_TIMESTAMPING_RX_HARDWARE |
		unix.SOF_TIMESTAMPING_RAW_HARDWARE | opt
}

// cmsg layout on Linux: struct cmsghdr { size_t len; int level; int type; }
// followed by the data, each aligned to the size of a word.
const (
	cmsgHdrLen = 16
	cmsgAlign  = 8
)

// scmTimestampingLen is struct scm_timestamping(64): three timespecs of two
// 64-bit words.
const scmTimestampingLen = 48

// sockExtendedErrLen is struct sock_extended_err.
const sockExtendedErrLen = 16

// controlInfo is what a control message buffer told us.
type controlInfo struct {
	ts      int64 // ns since the epoch; 0 if none
	hasTS   bool
	hasErr  bool
	errInfo unix.SockExtendedErr
}

// errBadControl is returned for a control buffer the kernel would not
// write: it signals a bug or memory corruption, not a network condition.
var errBadControl = errors.New("transport: malformed control message")

// parseControl walks a control buffer and picks out the timestamp (the raw
// hardware one when hardware is set, else the software one) and a
// sock_extended_err. It allocates nothing.
func parseControl(b []byte, hardware bool, ci *controlInfo) error {
	*ci = controlInfo{}
	for len(b) >= cmsgHdrLen {
		level, typ, data, rest, err := nextCmsg(b)
		if err != nil {
			return err
		}
		switch {
		case level == unix.SOL_SOCKET && (typ == unix.SO_TIMESTAMPING || typ == unix.SO_TIMESTAMPING_NEW):
			if len(data) < scmTimestampingLen {
				return errBadControl
			}
			i := 0 // ts[0]: software
			if hardware {
				i = 2 // ts[2]: raw hardware
			}
			sec := int64(binary.NativeEndian.Uint64(data[i*16:]))
			nsec := int64(binary.NativeEndian.Uint64(data[i*16+8:]))
			if sec != 0 || nsec != 0 {
				ci.ts, ci.hasTS = sec*1e9+nsec, true
			}
		case level == unix.SOL_IP && typ == unix.IP_RECVERR,
			level == unix.SOL_IPV6 && typ == unix.IPV6_RECVERR,
			level == unix.SOL_PACKET && typ == unix.PACKET_TX_TIMESTAMP:
			if len(data) < sockExtendedErrLen {
				return errBadControl
			}
			ci.errInfo = unix.SockExtendedErr{
				Errno:  binary.NativeEndian.Uint32(data[0:4]),
				Origin: data[4],
				Type:   data[5],
				Code:   data[6],
				Pad:    data[7],
				Info:   binary.NativeEndian.Uint32(data[8:12]),
				Data:   binary.NativeEndian.Uint32(data[12:16]),
			}
			ci.hasErr = true
		}
		b = rest
	}
	return nil
}

// nextCmsg splits the first control message off b (at least cmsgHdrLen
// long): its level, type and data, and the messages after it (empty after
// the last). A length the kernel would not write is errBadControl.
func nextCmsg(b []byte) (level, typ int32, data, rest []byte, err error) {
	l := binary.NativeEndian.Uint64(b[0:8])
	level = int32(binary.NativeEndian.Uint32(b[8:12]))
	typ = int32(binary.NativeEndian.Uint32(b[12:16]))
	if l < cmsgHdrLen || l > uint64(len(b)) {
		return 0, 0, nil, nil, errBadControl
	}
	if next := (l + cmsgAlign - 1) &^ (cmsgAlign - 1); next < uint64(len(b)) {
		rest = b[next:]
	}
	return level, typ, b[cmsgHdrLen:l], rest, nil
}

// isTxTimestamp reports whether an error-queue entry is a transmit
// timestamp (rather than, say, an ICMP error) and returns its OPT_ID key.
func (ci *controlInfo) isTxTimestamp() (key uint32, ok bool) {
	e := &ci.errInfo
	if !ci.hasErr || !ci.hasTS || e.Origin != unix.SO_EE_ORIGIN_TIMESTAMPING || e.Errno != uint32(unix.ENOMSG) {
		return 0, false
	}
	return e.Data, e.Info == unix.SCM_TSTAMP_SND
}
