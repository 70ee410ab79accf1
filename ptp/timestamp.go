package ptp

import (
	"encoding/binary"
	"math"
	"time"
)

// Timestamp is the wire Timestamp of IEEE 1588-2019 5.3.3: 48 bits of
// seconds and 32 bits of nanoseconds since the PTP epoch (1970-01-01 00:00:00
// TAI under the PTP timescale).
type Timestamp struct {
	Seconds     uint64 // secondsField; only the low 48 bits exist on the wire
	Nanoseconds uint32 // nanosecondsField; below 1e9 in a well-formed message
}

// MaxTimestampSeconds is the largest secondsField a Timestamp can carry.
const MaxTimestampSeconds = 1<<48 - 1

const timestampLen = 10

// TimestampFromTime converts t to a Timestamp, taking t's seconds and
// nanoseconds since the Unix epoch as they are. Times before the epoch or
// beyond 48 bits of seconds are clamped to the representable range.
func TimestampFromTime(t time.Time) Timestamp {
	s := t.Unix()
	switch {
	case s < 0:
		return Timestamp{}
	case s > MaxTimestampSeconds:
		return Timestamp{Seconds: MaxTimestampSeconds, Nanoseconds: 999_999_999}
	}
	return Timestamp{Seconds: uint64(s), Nanoseconds: uint32(t.Nanosecond())}
}

// TimestampFromNanoseconds converts nanoseconds since the epoch.
func TimestampFromNanoseconds(ns int64) Timestamp {
	if ns < 0 {
		return Timestamp{}
	}
	return Timestamp{Seconds: uint64(ns / 1e9), Nanoseconds: uint32(ns % 1e9)}
}

// Time returns the timestamp as a time.Time (seconds and nanoseconds since
// the Unix epoch; no timescale conversion).
func (t Timestamp) Time() time.Time {
	return time.Unix(int64(t.Seconds), int64(t.Nanoseconds))
}

// UnixNano returns the timestamp in nanoseconds since the epoch. Seconds
// beyond what an int64 of nanoseconds holds (about the year 2262) saturate.
func (t Timestamp) UnixNano() int64 {
	if t.Seconds > math.MaxInt64/1_000_000_000-1 {
		return math.MaxInt64
	}
	return int64(t.Seconds)*1e9 + int64(t.Nanoseconds)
}

// IsZero reports whether both fields are zero, as in a Delay_Req whose
// originTimestamp the sender left empty.
func (t Timestamp) IsZero() bool { return t.Seconds == 0 && t.Nanoseconds == 0 }

// Valid reports whether the timestamp fits its wire fields with nanoseconds
// below one second.
func (t Timestamp) Valid() bool { return t.Seconds <= MaxTimestampSeconds && t.Nanoseconds < 1e9 }

func (t *Timestamp) decode(b []byte) {
	_ = b[9]
	t.Seconds = uint64(binary.BigEndian.Uint16(b[0:2]))<<32 | uint64(binary.BigEndian.Uint32(b[2:6]))
	t.Nanoseconds = binary.BigEndian.Uint32(b[6:10])
}

// append writes the 10 wire octets; seconds above 48 bits are cut to their
// low 48 bits, so callers check Seconds first where that matters.
func (t Timestamp) append(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(t.Seconds>>32))
	b = binary.BigEndian.AppendUint32(b, uint32(t.Seconds))
	return binary.BigEndian.AppendUint32(b, t.Nanoseconds)
}

// TimeInterval is the wire TimeInterval of IEEE 1588-2019 5.3.2: signed
// nanoseconds multiplied by 2^16, as in correctionField, meanPathDelay and
// offsetFromMaster.
type TimeInterval int64

// TimeIntervalTooBig is the value IEEE 1588-2019 5.3.2 reserves for an
// interval too large to represent.
const TimeIntervalTooBig TimeInterval = math.MaxInt64

// TimeIntervalFromNanoseconds scales nanoseconds to a TimeInterval,
// saturating at the representable range.
func TimeIntervalFromNanoseconds(ns int64) TimeInterval {
	const limit = math.MaxInt64 >> 16
	switch {
	case ns > limit:
		return TimeIntervalTooBig
	case ns < -limit:
		return math.MinInt64
	}
	return TimeInterval(ns << 16)
}

// TimeIntervalFromDuration converts a time.Duration.
func TimeIntervalFromDuration(d time.Duration) TimeInterval {
	return TimeIntervalFromNanoseconds(int64(d))
}

// Nanoseconds returns the interval in nanoseconds, with the 2^-16 fraction
// kept.
func (ti TimeInterval) Nanoseconds() float64 { return float64(ti) / 65536 }

// Duration returns the interval rounded towards zero to whole nanoseconds.
func (ti TimeInterval) Duration() time.Duration {
	// An arithmetic shift would round negative values towards minus infinity.
	if ti < 0 {
		return -time.Duration(-ti >> 16)
	}
	return time.Duration(ti >> 16)
}
