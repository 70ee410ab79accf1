package phc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unsafe"
)

// The emulated PHC's state file.
//
// One emulated clock is one small file, by default
// /run/roko-ptpd/emulated/ptpN (EmulatedPath), that every process using
// the clock maps into memory: a ptp4l-like daemon steering it, a phc2sys
// reading it, a test or an emulated GPS receiver pulsing its EXTTS
// input. It holds the clock's whole state, so that two Devices opened on
// it, in one process or two, see and steer one clock, as two opens of a
// real /dev/ptpN do.
//
// Format: the bytes of emuState below, in the host's byte order (the file
// is shared between processes on one machine, never carried between
// machines). It starts with the 8 octets "RokoPHC\x00", a uint32 format
// version (emuVersion) and a uint32 size (sizeof emuState for that
// version). A reader refuses a file whose magic, version or size it does
// not know, with an error that says so, and checks every count, index and
// number before using it (checkState), so that a corrupt file is an
// error, never a panic. A change to the layout bumps emuVersion; there is
// no in-place upgrade: a new build recreates the file (CreateEmulated).
//
// Locking: every access, read or write, holds flock(LOCK_EX) on the file
// for its duration (plus a mutex within the process, since flock is per
// open file), and reads CLOCK_MONOTONIC inside the lock, so accesses are
// totally ordered and the clock never runs backwards between processes.

// emuMagic opens every state file.
const emuMagic = "RokoPHC\x00"

// emuVersion is the state file format this build reads and writes.
const emuVersion = 1

// Limits of the format.
const (
	emuMaxExtTS  = 8
	emuMaxPerOut = 8
	emuMaxPins   = 16
	emuQueueLen  = 128 // the kernel's PTP_MAX_TIMESTAMPS
)

// emuPerOut is a PEROUT channel's last request.
type emuPerOut struct {
	StartOrPhase int64 // ns
	Period       int64 // ns; 0: stopped
	On           int64 // ns
	Flags        uint32
	_            uint32
	Requests     uint64
}

// emuPin is a pin's name and function.
type emuPin struct {
	Name [64]byte
	Func uint32
	Chan uint32
}

// emuEvent is a queued external timestamp.
type emuEvent struct {
	T     int64 // PHC time, ns
	Index uint32
	Edge  uint32 // ptpRisingEdge or ptpFallingEdge
}

// emuState is the state file's layout (format version 1). Times are ns;
// m is CLOCK_MONOTONIC; the clock reads
//
//	v(m) = V0 + V0Frac + (m − M0)·(1 + (FreqError + WanderPPB + Adj)/1e9)
//
// and is re-anchored at (M0, V0) whenever its rate changes.
type emuState struct {
	Magic   [8]byte
	Version uint32
	Size    uint32

	// Configuration, fixed at creation.
	MaxAdj            int32
	NExtTS            uint32
	NPerOut           uint32
	NPins             uint32
	CrossTimestamping uint32 // PTP_SYS_OFFSET_PRECISE answered
	NoExtended        uint32 // PTP_SYS_OFFSET_EXTENDED refused
	PPS               uint32
	_                 uint32
	FreqStep          float64 // ppb; 0: the kernel's scaled-ppm unit
	FreqError         float64 // ppb
	Wander            float64 // ppb/√s
	WanderInterval    int64
	PreciseDelay      int64
	ExtendedDelay     int64
	BasicDelay        int64

	// The clock.
	M0         int64
	V0         int64
	V0Frac     float64
	Adj        float64 // steering in effect, ppb (FreqStep applied)
	Dialed     int64   // the scaled-ppm word last set, as read back
	WanderPPB  float64 // the random walk's frequency now, ppb
	WanderNext int64   // m of the walk's next step
	Rng        uint64  // splitmix64 state of the walk
	Steps      uint64  // ADJ_SETOFFSET count
	PPSEnabled uint32
	_          uint32

	// Channels and pins.
	ExtTS  [emuMaxExtTS]uint32 // request flags in effect; 0: disabled
	PerOut [emuMaxPerOut]emuPerOut
	Pins   [emuMaxPins]emuPin

	// EXTTS events not yet read: Queue[i%emuQueueLen] for QHead <= i <
	// QTail. When full the oldest is dropped, as the kernel does.
	QHead   uint64
	QTail   uint64
	Dropped uint64
	Queue   [emuQueueLen]emuEvent
}

// emuStateSize is the size of a version 1 state file.
const emuStateSize = int(unsafe.Sizeof(emuState{}))

// errCorrupt marks a state file that is not, or no longer, a valid one.
var errCorrupt = errors.New("emulated PHC state file is corrupt")

// stateOf checks b as a state file and returns the state it holds. b must
// be 8-byte aligned (a mapping, or a buffer of uint64).
func stateOf(b []byte) (*emuState, error) {
	if len(b) < 16 || string(b[:8]) != emuMagic {
		return nil, fmt.Errorf("not an emulated PHC state file (no %q magic): %w", emuMagic[:7], errCorrupt)
	}
	if uintptr(unsafe.Pointer(&b[0]))%8 != 0 {
		return nil, errors.New("emulated PHC state: misaligned buffer")
	}
	version, size := binary.NativeEndian.Uint32(b[8:12]), binary.NativeEndian.Uint32(b[12:16])
	if version != emuVersion {
		return nil, fmt.Errorf("emulated PHC state file format version %d, this build reads version %d: recreate it with this build: %w", version, emuVersion, errCorrupt)
	}
	if int(size) != emuStateSize || len(b) < emuStateSize {
		return nil, fmt.Errorf("emulated PHC state file: %d bytes (header says %d), version %d has %d: %w", len(b), size, emuVersion, emuStateSize, errCorrupt)
	}
	s := (*emuState)(unsafe.Pointer(&b[0]))
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("emulated PHC state file: %v: %w", err, errCorrupt)
	}
	return s, nil
}

// check verifies every number the emulation indexes with or computes
// from.
func (s *emuState) check() error {
	finite := func(x, lim float64) bool { return !math.IsNaN(x) && math.Abs(x) <= lim }
	switch {
	case s.MaxAdj <= 0:
		return fmt.Errorf("max_adj %d", s.MaxAdj)
	case s.NExtTS > emuMaxExtTS || s.NPerOut > emuMaxPerOut || s.NPins > emuMaxPins:
		return fmt.Errorf("channels %d/%d/%d beyond %d/%d/%d", s.NExtTS, s.NPerOut, s.NPins, emuMaxExtTS, emuMaxPerOut, emuMaxPins)
	case !finite(s.FreqStep, 1e6) || s.FreqStep < 0, !finite(s.FreqError, 1e8), !finite(s.Wander, 1e6) || s.Wander < 0:
		return fmt.Errorf("oscillator %v/%v/%v", s.FreqStep, s.FreqError, s.Wander)
	case s.WanderInterval < int64(1e6) || s.WanderInterval > int64(3600e9):
		return fmt.Errorf("wander interval %d ns", s.WanderInterval)
	case s.PreciseDelay < 0 || s.PreciseDelay > 1e9, s.ExtendedDelay < 0 || s.ExtendedDelay > 1e9/ptpMaxSamples,
		s.BasicDelay < 0 || s.BasicDelay > 1e9/ptpMaxSamples:
		return fmt.Errorf("read delays %d/%d/%d ns", s.PreciseDelay, s.ExtendedDelay, s.BasicDelay)
	case !finite(s.Adj, float64(s.MaxAdj)+1e6), !finite(s.WanderPPB, 1e8), !(s.V0Frac >= 0 && s.V0Frac < 1):
		return fmt.Errorf("clock %v/%v/%v", s.Adj, s.WanderPPB, s.V0Frac)
	case s.QTail-s.QHead > emuQueueLen:
		return fmt.Errorf("event queue %d..%d", s.QHead, s.QTail)
	}
	for i := range s.Pins {
		if s.Pins[i].Func > uint32(PinPhySync) {
			return fmt.Errorf("pin %d function %d", i, s.Pins[i].Func)
		}
	}
	return nil
}

// rate is the clock's frequency against CLOCK_MONOTONIC, ppb.
func (s *emuState) rate() float64 { return s.FreqError + s.WanderPPB + s.Adj }

// at is the clock at monotonic time m, as whole ns and a fraction.
func (s *emuState) at(m int64) (int64, float64) {
	return extrapolate(m, s.M0, s.V0, s.V0Frac, s.rate())
}

// atNs is at rounded to a nanosecond.
func (s *emuState) atNs(m int64) int64 { return nearestNs(s.at(m)) }

// reanchor moves the anchor to m without moving the clock.
func (s *emuState) reanchor(m int64) {
	s.V0, s.V0Frac = s.at(m)
	s.M0 = m
}

// splitmix64 advances *x and returns the next of its pseudo-random
// sequence.
func splitmix64(x *uint64) uint64 {
	*x += 0x9e3779b97f4a7c15
	z := *x
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// normal returns a standard normal deviate from *x (Box–Muller).
func normal(x *uint64) float64 {
	u1 := (float64(splitmix64(x)>>11) + 0.5) / (1 << 53)
	u2 := float64(splitmix64(x)>>11) / (1 << 53)
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// emuMaxWalk bounds the random-walk steps taken at once; beyond it (a
// clock left alone for most of a day at 1 s steps) the walk skips ahead.
const emuMaxWalk = 1 << 16

// advance takes the random walk's steps due by m: at each step the clock
// is re-anchored and its frequency moves by a normal deviate of
// Wander·√interval ppb. The walk depends only on the seed and the step
// count, not on when the clock is read.
func (s *emuState) advance(m int64) {
	if s.Wander == 0 || s.WanderNext > m {
		return
	}
	sigma := s.Wander * math.Sqrt(float64(s.WanderInterval)/1e9)
	for range emuMaxWalk {
		if s.WanderNext > m {
			return
		}
		if s.WanderNext > s.M0 {
			s.reanchor(s.WanderNext)
		}
		s.WanderPPB = max(-1e8, min(1e8, s.WanderPPB+sigma*normal(&s.Rng)))
		s.WanderNext += s.WanderInterval
	}
	s.reanchor(m)
	s.WanderNext = m + s.WanderInterval
}

// push queues an external timestamp, dropping the oldest when full.
func (s *emuState) push(e emuEvent) {
	if s.QTail-s.QHead >= emuQueueLen {
		s.QHead++
		s.Dropped++
	}
	s.Queue[s.QTail%emuQueueLen] = e
	s.QTail++
}
