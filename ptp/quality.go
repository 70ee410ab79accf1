package ptp

import (
	"encoding/binary"
	"fmt"
)

// ClockQuality is the quality a clock announces (IEEE 1588-2019 5.3.7,
// 7.6.2): what BMCA compares after priority1.
type ClockQuality struct {
	ClockClass              uint8
	ClockAccuracy           ClockAccuracy
	OffsetScaledLogVariance uint16
}

const clockQualityLen = 4

func (q *ClockQuality) decode(b []byte) {
	_ = b[3]
	q.ClockClass = b[0]
	q.ClockAccuracy = ClockAccuracy(b[1])
	q.OffsetScaledLogVariance = binary.BigEndian.Uint16(b[2:4])
}

func (q ClockQuality) append(b []byte) []byte {
	b = append(b, q.ClockClass, byte(q.ClockAccuracy))
	return binary.BigEndian.AppendUint16(b, q.OffsetScaledLogVariance)
}

// ClockAccuracy is the clockAccuracy enumeration of IEEE 1588-2019 Table 5.
type ClockAccuracy uint8

// clockAccuracy values (IEEE 1588-2019 Table 5).
const (
	AccuracyWithin1ps   ClockAccuracy = 0x17
	AccuracyWithin2_5ps ClockAccuracy = 0x18
	AccuracyWithin10ps  ClockAccuracy = 0x19
	AccuracyWithin25ps  ClockAccuracy = 0x1a
	AccuracyWithin100ps ClockAccuracy = 0x1b
	AccuracyWithin250ps ClockAccuracy = 0x1c
	AccuracyWithin1ns   ClockAccuracy = 0x1d
	AccuracyWithin2_5ns ClockAccuracy = 0x1e
	AccuracyWithin10ns  ClockAccuracy = 0x1f
	AccuracyWithin25ns  ClockAccuracy = 0x20
	AccuracyWithin100ns ClockAccuracy = 0x21
	AccuracyWithin250ns ClockAccuracy = 0x22
	AccuracyWithin1us   ClockAccuracy = 0x23
	AccuracyWithin2_5us ClockAccuracy = 0x24
	AccuracyWithin10us  ClockAccuracy = 0x25
	AccuracyWithin25us  ClockAccuracy = 0x26
	AccuracyWithin100us ClockAccuracy = 0x27
	AccuracyWithin250us ClockAccuracy = 0x28
	AccuracyWithin1ms   ClockAccuracy = 0x29
	AccuracyWithin2_5ms ClockAccuracy = 0x2a
	AccuracyWithin10ms  ClockAccuracy = 0x2b
	AccuracyWithin25ms  ClockAccuracy = 0x2c
	AccuracyWithin100ms ClockAccuracy = 0x2d
	AccuracyWithin250ms ClockAccuracy = 0x2e
	AccuracyWithin1s    ClockAccuracy = 0x2f
	AccuracyWithin10s   ClockAccuracy = 0x30
	AccuracyBeyond10s   ClockAccuracy = 0x31
	AccuracyUnknown     ClockAccuracy = 0xfe
)

// String prints the value in hex, as pmc does ("0x20").
func (a ClockAccuracy) String() string { return fmt.Sprintf("0x%02x", uint8(a)) }

// TimeSource is the timeSource enumeration of IEEE 1588-2019 Table 6.
type TimeSource uint8

// timeSource values (IEEE 1588-2019 Table 6).
const (
	TimeSourceAtomicClock        TimeSource = 0x10
	TimeSourceGNSS               TimeSource = 0x20
	TimeSourceTerrestrialRadio   TimeSource = 0x30
	TimeSourceSerialTimeCode     TimeSource = 0x39
	TimeSourcePTP                TimeSource = 0x40
	TimeSourceNTP                TimeSource = 0x50
	TimeSourceHandSet            TimeSource = 0x60
	TimeSourceOther              TimeSource = 0x90
	TimeSourceInternalOscillator TimeSource = 0xa0
)

// String prints the value in hex, as pmc does ("0xa0").
func (s TimeSource) String() string { return fmt.Sprintf("0x%02x", uint8(s)) }
