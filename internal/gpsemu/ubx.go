package gpsemu

import (
	"encoding/binary"
	"time"
)

// gpsEpoch is where GPS time starts: 1980-01-06 00:00:00 UTC.
var gpsEpoch = time.Date(1980, 1, 6, 0, 0, 0, 0, time.UTC)

// UBXTimeGPS is a u-blox UBX-NAV-TIMEGPS frame for the UTC second utc
// with GPS − UTC = leapS seconds, all its fields marked valid: what a
// u-blox receiver sends each second, and how gpsd learns the leap
// seconds that NMEA cannot carry.
func UBXTimeGPS(utc time.Time, leapS int8) []byte {
	gps := utc.Sub(gpsEpoch) + time.Duration(leapS)*time.Second
	const week = 7 * 24 * time.Hour
	// iTOW ms, fTOW ns, week, leapS, valid (tow, week and leapS valid),
	// tAcc ns.
	p := binary.LittleEndian.AppendUint32(nil, uint32((gps%week)/time.Millisecond))
	p = binary.LittleEndian.AppendUint32(p, 0)
	p = binary.LittleEndian.AppendUint16(p, uint16(gps/week))
	p = append(p, byte(leapS), 0x07)
	p = binary.LittleEndian.AppendUint32(p, 20)
	return UBXFrame(0x01, 0x20, p)
}

// UBXFrame frames a UBX message: the sync characters, class, id, length,
// payload and the 8-bit Fletcher checksum over class to payload.
func UBXFrame(class, id byte, payload []byte) []byte {
	f := []byte{0xb5, 0x62, class, id}
	f = binary.LittleEndian.AppendUint16(f, uint16(len(payload)))
	f = append(f, payload...)
	var a, b byte
	for _, c := range f[2:] {
		a += c
		b += a
	}
	return append(f, a, b)
}
