package engine

import (
	"math"
	"strconv"

	"github.com/roko-network/roko-ptpd/ptp"
)

// LogKind is the kind of a LogRecord. Each has one line format, in
// linuxptp's words, so that existing log scrapers keep working.
type LogKind uint8

// Log kinds.
const (
	LogStateChange LogKind = iota + 1
	LogOffset
	LogNewForeignMaster
	LogSelectedBest
	LogSelectedLocal
	LogAssumingGrandMaster
	LogDelayReqInterval
	LogTxTimestampTimeout
	LogTimeout
	LogUTCOffset       // "updating UTC offset to %d" (Offset)
	LogNotPTPTimescale // the chosen master keeps the arbitrary timescale
	LogTemporalVortex  // the chosen master's UTC offset is smaller than ours
	LogLinkDown        // "link down": the port's interface lost its link (Clock.LinkChanged)
	LogLinkUp          // "link up": the port's interface has its link again
	// LogUnicastRejected: a unicast master refused a request
	// (MessageType).
	LogUnicastRejected
	// LogUnicastCanceled: a unicast master canceled a grant (MessageType).
	LogUnicastCanceled
)

// LogLevel follows syslog's numbers, as ptp4l's -l does.
type LogLevel uint8

// Levels used by the engine.
const (
	LevelErr     LogLevel = 3
	LevelWarning LogLevel = 4
	LevelNotice  LogLevel = 5
	LevelInfo    LogLevel = 6
	LevelDebug   LogLevel = 7
)

// LogRecord is a log line the engine asks its driver to print, held as
// values so that the per-Sync line costs no allocation until it is
// formatted.
type LogRecord struct {
	Kind  LogKind
	Level LogLevel
	Port  int // index of the port; Format prints PortNumber
	// PortNumber and PortName identify the port in the line.
	PortNumber uint16
	PortName   string
	From, To   State
	Event      Event
	Identity   ptp.PortIdentity
	Clock      ptp.ClockIdentity
	// Offset line: offset, servo state, frequency and path delay.
	Offset     int64
	ServoState ServoState
	Freq       float64
	PathDelay  int64
	Interval   int8
	// MessageType is the message type of a unicast grant.
	MessageType ptp.MessageType
}

// PortStyle chooses how a port is named in log lines: linuxptp 3.x prints
// "port 1:", 4.x prints "port 1 (eth0):".
type PortStyle uint8

// Port styles.
const (
	PortStyleV4 PortStyle = iota // "port 1 (eth0):", linuxptp 4.x (the default)
	PortStyleV3                  // "port 1:", linuxptp 3.x
)

func (r *LogRecord) appendPort(b []byte, style PortStyle) []byte {
	b = append(b, "port "...)
	b = strconv.AppendUint(b, uint64(r.PortNumber), 10)
	if style == PortStyleV4 && r.PortName != "" {
		b = append(b, " ("...)
		b = append(b, r.PortName...)
		b = append(b, ')')
	}
	return append(b, ": "...)
}

// AppendFormat appends the record's line, without ptp4l's "ptp4l[mono]: "
// prefix, in linuxptp's words.
func (r *LogRecord) AppendFormat(b []byte, style PortStyle) []byte {
	switch r.Kind {
	case LogStateChange:
		b = r.appendPort(b, style)
		b = append(b, r.From.String()...)
		b = append(b, " to "...)
		b = append(b, r.To.String()...)
		b = append(b, " on "...)
		b = append(b, r.Event.String()...)
		if r.Event == EventFaultDetected {
			b = append(b, " (FT_UNSPECIFIED)"...)
		}
	case LogOffset:
		// "master offset %10lld s%d freq %+7.0f path delay %9lld". ptp4l
		// prints its servo's output, which is the negation of the
		// frequency it sets on the clock; scrapers and dashboards built on
		// ptp4l expect that sign, so we print it too. 0-x, not -x, keeps
		// a zero as "+0" the way ptp4l shows it.
		// Written by hand rather than with fmt, which would allocate
		// for every Sync (TestOffsetLineMatchesPrintf holds them equal).
		b = append(b, "master offset "...)
		b = appendInt(b, r.Offset, 10)
		b = append(b, " s"...)
		b = strconv.AppendUint(b, uint64(uint8(r.ServoState)), 10)
		b = append(b, " freq "...)
		b = appendFreq(b, 0-r.Freq, 7)
		b = append(b, " path delay "...)
		b = appendInt(b, r.PathDelay, 9)
	case LogNewForeignMaster:
		b = r.appendPort(b, style)
		b = append(b, "new foreign master "...)
		b = append(b, r.Identity.String()...)
	case LogSelectedBest:
		b = append(b, "selected best master clock "...)
		b = append(b, r.Clock.String()...)
	case LogSelectedLocal:
		b = append(b, "selected local clock "...)
		b = append(b, r.Clock.String()...)
		b = append(b, " as best master"...)
	case LogAssumingGrandMaster:
		b = r.appendPort(b, style)
		b = append(b, "assuming the grand master role"...)
	case LogDelayReqInterval:
		b = r.appendPort(b, style)
		b = append(b, "minimum delay request interval 2^"...)
		b = strconv.AppendInt(b, int64(r.Interval), 10)
	case LogTxTimestampTimeout:
		b = r.appendPort(b, style)
		b = append(b, "timed out while polling for tx timestamp"...)
	case LogTimeout:
		b = r.appendPort(b, style)
		b = append(b, "announce timeout"...)
	case LogUTCOffset:
		b = append(b, "updating UTC offset to "...)
		b = strconv.AppendInt(b, r.Offset, 10)
	case LogNotPTPTimescale:
		b = append(b, "foreign master not using PTP timescale"...)
	case LogTemporalVortex:
		b = append(b, "running in a temporal vortex"...)
	case LogLinkDown:
		b = r.appendPort(b, style)
		b = append(b, "link down"...)
	case LogLinkUp:
		b = r.appendPort(b, style)
		b = append(b, "link up"...)
	case LogUnicastRejected:
		b = r.appendPort(b, style)
		b = append(b, "unicast grant of "...)
		b = append(b, r.MessageType.String()...)
		b = append(b, " rejected"...)
	case LogUnicastCanceled:
		b = r.appendPort(b, style)
		b = append(b, "server unilaterally canceled unicast "...)
		b = append(b, r.MessageType.String()...)
		b = append(b, " grant"...)
	}
	return b
}

// String formats the record in linuxptp 4.x style.
func (r LogRecord) String() string { return string(r.AppendFormat(nil, PortStyleV4)) }

// appendInt appends v right-aligned in width columns, as %*d does.
func appendInt(b []byte, v int64, width int) []byte {
	var tmp [24]byte
	d := strconv.AppendInt(tmp[:0], v, 10)
	for i := len(d); i < width; i++ {
		b = append(b, ' ')
	}
	return append(b, d...)
}

// appendFreq appends v rounded to a whole number with its sign,
// right-aligned in width columns, as %+*.0f does.
func appendFreq(b []byte, v float64, width int) []byte {
	var tmp [40]byte
	d := tmp[:0]
	if (!math.Signbit(v) || math.IsNaN(v)) && !math.IsInf(v, 1) {
		d = append(d, '+') // strconv writes +Inf's sign itself
	}
	d = strconv.AppendFloat(d, v, 'f', 0, 64)
	for i := len(d); i < width; i++ {
		b = append(b, ' ')
	}
	return append(b, d...)
}
