package phc

import (
	"errors"
	"fmt"
	"math"
	"time"
	"unsafe"
)

// OffsetMethod says how a PHC-to-system offset was measured, best first.
type OffsetMethod uint8

// Methods.
const (
	// MethodPrecise: PTP_SYS_OFFSET_PRECISE, a cross timestamp the
	// hardware takes of both clocks at one instant (PCIe PTM, ART).
	MethodPrecise OffsetMethod = iota + 1
	// MethodExtended: PTP_SYS_OFFSET_EXTENDED, system readings taken by the
	// driver right around its read of the PHC.
	MethodExtended
	// MethodBasic: PTP_SYS_OFFSET, readings interleaved by the kernel.
	MethodBasic
	// MethodRead: clock_gettime of each clock in turn from user space.
	MethodRead
)

// String names the method as phc2sys's options do.
func (m OffsetMethod) String() string {
	switch m {
	case MethodPrecise:
		return "precise"
	case MethodExtended:
		return "extended"
	case MethodBasic:
		return "basic"
	case MethodRead:
		return "read"
	}
	return "unknown"
}

// SysOffset is one measurement of a clock against another: Offset is the
// clock minus the reference, Delay the width of the reference's reading
// window around it (0 for a cross timestamp), Time the reference's time.
type SysOffset struct {
	Offset time.Duration
	Delay  time.Duration
	Time   int64
	Method OffsetMethod
}

func ns(t ptpClockTime) int64 { return t.Sec*1e9 + int64(t.Nsec) }

// bestTriple picks, from (reference, clock, reference) readings, the one
// with the narrowest reference window: the least disturbed by interrupts
// and scheduling. The clock is taken to have been read in the middle.
func bestTriple(n int, at func(i int) (before, clock, after int64)) (SysOffset, bool) {
	best := SysOffset{Delay: math.MaxInt64}
	found := false
	for i := range n {
		b, c, a := at(i)
		w := a - b
		if w < 0 {
			continue // the reference went backwards: a step in between
		}
		if time.Duration(w) < best.Delay {
			mid := b + w/2
			best = SysOffset{Offset: time.Duration(c - mid), Delay: time.Duration(w), Time: mid}
			found = true
		}
	}
	return best, found
}

// fromExtended reads a PTP_SYS_OFFSET_EXTENDED result.
func fromExtended(r *ptpSysOffsetExtended) (SysOffset, bool) {
	n := min(int(r.NSamples), ptpMaxSamples)
	o, ok := bestTriple(n, func(i int) (int64, int64, int64) {
		return ns(r.TS[i][0]), ns(r.TS[i][1]), ns(r.TS[i][2])
	})
	o.Method = MethodExtended
	return o, ok
}

// fromBasic reads a PTP_SYS_OFFSET result: system, phc, system, phc, ...,
// system.
func fromBasic(r *ptpSysOffset) (SysOffset, bool) {
	n := min(int(r.NSamples), ptpMaxSamples)
	o, ok := bestTriple(n, func(i int) (int64, int64, int64) {
		return ns(r.TS[2*i]), ns(r.TS[2*i+1]), ns(r.TS[2*i+2])
	})
	o.Method = MethodBasic
	return o, ok
}

// errNoReading: every reading of a method had CLOCK_REALTIME go backwards
// (it was stepped meanwhile); SysOffset then tries the next method down.
var errNoReading = errors.New("CLOCK_REALTIME went backwards in every reading")

// SysOffset measures the PHC against CLOCK_REALTIME with the best method
// the device and kernel offer, taking samples readings (at most 25) where
// the method reads more than once.
func (d *Device) SysOffset(samples int) (SysOffset, error) {
	for _, m := range []OffsetMethod{MethodPrecise, MethodExtended, MethodBasic} {
		o, err := d.SysOffsetBy(m, samples)
		switch {
		case err == nil:
			return o, nil
		case m == MethodExtended && !errors.Is(err, ErrNotSupported) && !errors.Is(err, errNoReading):
			return SysOffset{}, err
		}
	}
	return d.SysOffsetBy(MethodRead, samples)
}

// SysOffsetBy measures the PHC against CLOCK_REALTIME with method m, or
// says why it cannot (ErrNotSupported when the device or the kernel lacks
// it). roko-ptpctl selftest measures each method this way.
func (d *Device) SysOffsetBy(m OffsetMethod, samples int) (SysOffset, error) {
	samples = max(1, min(samples, ptpMaxSamples))
	switch m {
	case MethodPrecise:
		if !d.caps.CrossTimestamping {
			return SysOffset{}, fmt.Errorf("%s: PTP_SYS_OFFSET_PRECISE: %w (the device has no cross timestamping)", d.path, ErrNotSupported)
		}
		var p ptpSysOffsetPrecise
		if err := d.ioctl("PTP_SYS_OFFSET_PRECISE2", iocPtpSysOffsetPrecise2, unsafe.Pointer(&p)); err != nil {
			return SysOffset{}, err
		}
		return SysOffset{Offset: time.Duration(ns(p.Device) - ns(p.SysRealtime)), Time: ns(p.SysRealtime), Method: MethodPrecise}, nil
	case MethodExtended:
		var e ptpSysOffsetExtended
		e.NSamples = uint32(samples)
		if err := d.ioctl("PTP_SYS_OFFSET_EXTENDED2", iocPtpSysOffsetExtended2, unsafe.Pointer(&e)); err != nil {
			return SysOffset{}, err
		}
		if o, ok := fromExtended(&e); ok {
			return o, nil
		}
		return SysOffset{}, fmt.Errorf("%s: PTP_SYS_OFFSET_EXTENDED: %w", d.path, errNoReading)
	case MethodBasic:
		var b ptpSysOffset
		b.NSamples = uint32(samples)
		if err := d.ioctl("PTP_SYS_OFFSET2", iocPtpSysOffset2, unsafe.Pointer(&b)); err != nil {
			return SysOffset{}, err
		}
		if o, ok := fromBasic(&b); ok {
			return o, nil
		}
		return SysOffset{}, fmt.Errorf("%s: PTP_SYS_OFFSET: %w", d.path, errNoReading)
	case MethodRead:
		sys, err := NewSystem()
		if err != nil {
			return SysOffset{}, err
		}
		return CompareClocks(d, sys, samples)
	}
	return SysOffset{}, fmt.Errorf("%s: offset method %d: %w", d.path, m, ErrNotSupported)
}

// CompareClocks measures clock a against reference b by reading b, a, b
// in turn, samples times, and keeping the narrowest window. It works for
// any two clocks, for example a virtual clock and CLOCK_REALTIME.
func CompareClocks(a, b Clock, samples int) (SysOffset, error) {
	if samples < 1 {
		return SysOffset{}, fmt.Errorf("CompareClocks: samples %d: want at least 1", samples)
	}
	var err error
	o, ok := bestTriple(samples, func(int) (int64, int64, int64) {
		b1, e1 := b.Now()
		c, e2 := a.Now()
		b2, e3 := b.Now()
		if err == nil {
			err = errors.Join(e1, e2, e3)
		}
		return b1.UnixNano(), c.UnixNano(), b2.UnixNano()
	})
	if err != nil {
		return SysOffset{}, err
	}
	if !ok {
		return SysOffset{}, fmt.Errorf("comparing %s with %s: %s went backwards in every reading", a.Name(), b.Name(), b.Name())
	}
	o.Method = MethodRead
	return o, nil
}
