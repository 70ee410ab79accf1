package phc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// An emulated PPS source is a /dev/ppsN without the pulse hardware, for
// machines that have none: OpenPPS on its state file returns a PPS that
// runs the same code as on a real source, with only the kernel's answers
// (ppsKernel) emulated. The emulation answers PPS_GETCAP, PPS_GETPARAMS,
// PPS_SETPARAMS and PPS_FETCH as the kernel's PPS core does
// (drivers/pps/pps.c and kapi.c): the same structs, the same checks and
// errno values, the offsets added the same way, PPS_FETCH's timeout
// counted in jiffies. Edges come from whoever plays the pulse's source
// (EmulatedPPS.Assert and Clear, an emulated GPS receiver in tests), each
// with the CLOCK_REALTIME time the kernel would have stamped on it.
//
// The source has the capabilities of pps-gpio with capture-clear wired,
// without echo: assert and clear capture and offsets, PPS_CANWAIT and
// timespec timestamps. Like pps-gpio it starts capturing assert edges
// only (PPS_CAPTUREASSERT|PPS_OFFSETASSERT) until the parameters ask for
// clear edges too.
//
// One difference from the kernel, not visible to a caller that keeps to
// RFC 2783: PPS_SETPARAMS needs no CAP_SYS_TIME (the state file's
// permissions say who may use it). A waiting PPS_FETCH sleeps on a futex
// in the state file's mapping, which an edge wakes (futex.go), as the
// kernel's wakes its wait queue. A fetch waiting forever returns EBADF
// when its handle is closed.
//
// The emulation never touches a real clock: the timestamps are whatever
// the edges' source says they are.

// emuPPSMagic opens every emulated PPS source's state file.
const emuPPSMagic = "RokoPPS\x00"

// emuPPSVersion is the PPS state file format this build reads and writes.
const emuPPSVersion = 1

// emuPPSHz is the kernel's tick rate that PPS_FETCH counts its timeout
// in: Debian's CONFIG_HZ_250. A timeout shorter than one tick does not
// wait at all, as in the kernel.
const emuPPSHz = 250

// Capabilities and initial parameters of an emulated source.
const (
	emuPPSCaps          = PPSCaptureAssert | PPSCaptureClear | PPSOffsetAssert | PPSOffsetClear | PPSCanWait | PPSTsfmtTspec
	emuPPSDefaultParams = PPSCaptureAssert | PPSOffsetAssert
)

// emuPPSState is the PPS state file's layout (format version 1), in the
// host's byte order, shared under flock like the emulated PHC's
// (emustate.go): the 8 octets "RokoPPS\x00", a uint32 version and a uint32
// size, then the source as the kernel's struct pps_device keeps it.
type emuPPSState struct {
	Magic   [8]byte
	Version uint32
	Size    uint32

	Caps int32 // info.mode: what PPS_GETCAP reports
	_    int32

	Params      ppsKparams // as PPS_SETPARAMS left them
	AssertSeq   uint32
	ClearSeq    uint32
	AssertTu    ppsKtime // the last captured edges, offsets applied
	ClearTu     ppsKtime
	CurrentMode int32  // params.mode at the last edge
	LastEv      uint32 // counts captures; PPS_FETCH waits for it to move

	// Edges presented, captured or not: for tests and diagnostics.
	Asserts uint64
	Clears  uint64
}

// emuPPSStateSize is the size of a version 1 PPS state file.
const emuPPSStateSize = int(unsafe.Sizeof(emuPPSState{}))

// ppsStateOf checks b as a PPS state file and returns the state it
// holds. b must be 8-byte aligned.
func ppsStateOf(b []byte) (*emuPPSState, error) {
	if len(b) < 16 || string(b[:8]) != emuPPSMagic {
		return nil, fmt.Errorf("not an emulated PPS state file (no %q magic): %w", emuPPSMagic[:7], errCorrupt)
	}
	if uintptr(unsafe.Pointer(&b[0]))%8 != 0 {
		return nil, errors.New("emulated PPS state: misaligned buffer")
	}
	version, size := binary.NativeEndian.Uint32(b[8:12]), binary.NativeEndian.Uint32(b[12:16])
	if version != emuPPSVersion {
		return nil, fmt.Errorf("emulated PPS state file format version %d, this build reads version %d: recreate it with this build: %w", version, emuPPSVersion, errCorrupt)
	}
	if int(size) != emuPPSStateSize || len(b) < emuPPSStateSize {
		return nil, fmt.Errorf("emulated PPS state file: %d bytes (header says %d), version %d has %d: %w", len(b), size, emuPPSVersion, emuPPSStateSize, errCorrupt)
	}
	return (*emuPPSState)(unsafe.Pointer(&b[0])), nil
}

// newPPSState builds a new source's state file contents.
func newPPSState() []uint64 {
	buf := make([]uint64, (emuPPSStateSize+7)/8)
	s := (*emuPPSState)(unsafe.Pointer(&buf[0]))
	copy(s.Magic[:], emuPPSMagic)
	s.Version, s.Size = emuPPSVersion, uint32(emuPPSStateSize)
	s.Caps = emuPPSCaps
	s.Params = ppsKparams{APIVersion: ppsAPIVers1, Mode: emuPPSDefaultParams}
	return buf
}

// EmulatedPPS is a handle on an emulated PPS source's state for what its
// signal's source would do: present assert and clear edges. Open its Path
// with OpenPPS to use the source as a daemon does.
type EmulatedPPS struct {
	k *emuPPSKernel
}

// CreateEmulatedPPS makes a new emulated PPS source at path, replacing
// any there (written whole and renamed into place, as CreateEmulated
// does), and opens a handle on it.
func CreateEmulatedPPS(path string) (*EmulatedPPS, error) {
	buf := newPPSState()
	if err := writeStateFile(path, "emulated PPS source", unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), emuPPSStateSize)); err != nil {
		return nil, err
	}
	return OpenEmulatedPPS(path)
}

// OpenEmulatedPPS opens an existing emulated PPS source's state.
func OpenEmulatedPPS(path string) (*EmulatedPPS, error) {
	k, err := openEmulatedPPSKernel(path)
	if err != nil {
		return nil, err
	}
	return &EmulatedPPS{k: k}, nil
}

// Path is the state file's path, which OpenPPS takes.
func (e *EmulatedPPS) Path() string { return e.k.path }

// Close releases the handle; the source stays.
func (e *EmulatedPPS) Close() error { return e.k.close() }

// Assert presents an assert edge (the pulse's leading edge) that the
// kernel stamped at CLOCK_REALTIME time rt ns. If the parameters capture
// assert edges, it becomes the source's latest assert, with the assert
// offset added under PPS_OFFSETASSERT and the sequence number advanced,
// waiting fetches return, and Assert returns true; otherwise the edge is
// ignored, as pps_event ignores it.
func (e *EmulatedPPS) Assert(rt int64) (bool, error) { return e.k.event(rt, PPSCaptureAssert) }

// Clear presents a clear edge (the pulse's trailing edge) stamped at
// CLOCK_REALTIME time rt, as Assert does an assert edge.
func (e *EmulatedPPS) Clear(rt int64) (bool, error) { return e.k.event(rt, PPSCaptureClear) }

// Presented counts the assert and clear edges presented so far, captured
// or not.
func (e *EmulatedPPS) Presented() (asserts, clears uint64, err error) {
	err = e.k.with(func(s *emuPPSState) error {
		asserts, clears = s.Asserts, s.Clears
		return nil
	})
	return asserts, clears, err
}

// emuPPSKernel answers a PPS's ioctls from a mapped state file.
type emuPPSKernel struct {
	*sharedMap
}

// openEmulatedPPSKernel maps the PPS state file at path.
func openEmulatedPPSKernel(path string) (*emuPPSKernel, error) {
	sm, err := openSharedMap(path, "emulated PPS source")
	if err != nil {
		return nil, err
	}
	k := &emuPPSKernel{sm}
	if err := k.with(func(*emuPPSState) error { return nil }); err != nil {
		k.close()
		return nil, err
	}
	return k, nil
}

// with runs fn on the checked state under the file lock.
func (k *emuPPSKernel) with(fn func(s *emuPPSState) error) error {
	return k.sharedMap.with(func(mem []byte) error {
		s, err := ppsStateOf(mem)
		if err != nil {
			return fmt.Errorf("%s: %w", k.path, err)
		}
		return fn(s)
	})
}

// event presents an edge to the source.
func (k *emuPPSKernel) event(rt int64, ev int32) (bool, error) {
	var captured bool
	var word *uint32
	err := k.with(func(s *emuPPSState) error { captured, word = s.event(rt, ev), &s.LastEv; return nil })
	if captured {
		futexWake(word)
	}
	return captured, err
}

// event is the kernel's pps_event for one edge: the current mode is the
// parameters' mode, the edge is captured if the mode captures its kind,
// with its offset added if the mode says so, and a capture wakes the
// waiting fetches.
func (s *emuPPSState) event(rt int64, ev int32) bool {
	if ev == PPSCaptureAssert {
		s.Asserts++
	} else {
		s.Clears++
	}
	s.CurrentMode = s.Params.Mode
	ts := ppsKtimeOf(rt)
	captured := false
	if ev&s.Params.Mode&PPSCaptureAssert != 0 {
		if s.Params.Mode&PPSOffsetAssert != 0 {
			ts = ppsAddOffset(ts, s.Params.AssertOffTu)
		}
		s.AssertTu = ts
		s.AssertSeq++
		captured = true
	}
	if ev&s.Params.Mode&PPSCaptureClear != 0 {
		if s.Params.Mode&PPSOffsetClear != 0 {
			ts = ppsAddOffset(ts, s.Params.ClearOffTu)
		}
		s.ClearTu = ts
		s.ClearSeq++
		captured = true
	}
	if captured {
		s.LastEv++
	}
	return captured
}

// ppsKtimeOf is ns since the epoch as the kernel's timespec64 turned
// pps_ktime: the nanoseconds are never negative.
func ppsKtimeOf(ns int64) ppsKtime {
	sec, nsec := ns/1e9, ns%1e9
	if nsec < 0 {
		sec--
		nsec += 1e9
	}
	return ppsKtime{Sec: sec, Nsec: int32(nsec)}
}

// ppsAddOffset is the kernel's pps_add_offset: the nanoseconds are added
// and normalised, then the seconds added.
func ppsAddOffset(ts, off ppsKtime) ppsKtime {
	ts.Nsec += off.Nsec
	for ts.Nsec >= 1e9 {
		ts.Nsec -= 1e9
		ts.Sec++
	}
	for ts.Nsec < 0 {
		ts.Nsec += 1e9
		ts.Sec--
	}
	ts.Sec += off.Sec
	return ts
}

func (k *emuPPSKernel) ioctl(req uintptr, arg unsafe.Pointer) error {
	switch req {
	case ppsGetcap:
		return k.with(func(s *emuPPSState) error { *(*int32)(arg) = s.Caps; return nil })
	case ppsGetparams:
		return k.with(func(s *emuPPSState) error { *(*ppsKparams)(arg) = s.Params; return nil })
	case ppsSetparams:
		p := *(*ppsKparams)(arg)
		return k.with(func(s *emuPPSState) error { return s.setParams(p) })
	case ppsFetch:
		return k.fetch((*ppsFdata)(arg))
	}
	return unix.ENOTTY
}

// setParams is PPS_SETPARAMS: a capture mode must be given and every bit
// must be a capability; the time format defaults to timespec, PPS_CANWAIT
// and the API version are the source's, and the offsets' flags are
// cleared.
func (s *emuPPSState) setParams(p ppsKparams) error {
	if p.Mode&(PPSCaptureAssert|PPSCaptureClear) == 0 || p.Mode&^s.Caps != 0 {
		return unix.EINVAL
	}
	if p.Mode&(PPSTsfmtTspec|PPSTsfmtNtpfp) == 0 {
		p.Mode |= PPSTsfmtTspec
	}
	if s.Caps&PPSCanWait != 0 {
		p.Mode |= PPSCanWait
	}
	p.APIVersion = ppsAPIVers1
	p.AssertOffTu.Flags, p.ClearOffTu.Flags = 0, 0
	s.Params = p
	return nil
}

// fetch is PPS_FETCH: with PPS_TIME_INVALID it waits for the next capture
// however long it takes; otherwise for the timeout in whole jiffies, none
// at all if that is less than one, and ETIMEDOUT if nothing came. Then it
// returns the latest edges.
func (k *emuPPSKernel) fetch(f *ppsFdata) error {
	var ev uint32
	var word *uint32
	if err := k.with(func(s *emuPPSState) error { ev, word = s.LastEv, &s.LastEv; return nil }); err != nil {
		return err
	}
	forever := f.Timeout.Flags&ppsTimeInvalid != 0
	ticks := f.Timeout.Sec*emuPPSHz + int64(f.Timeout.Nsec/(1e9/emuPPSHz))
	if !forever && ticks < 0 {
		// The kernel's schedule_timeout refuses a negative timeout and
		// returns at once, which PPS_FETCH reports as a timeout.
		return unix.ETIMEDOUT
	}
	if forever || ticks > 0 {
		deadline := time.Now().Add(time.Duration(ticks) * (time.Second / emuPPSHz))
		for {
			var moved bool
			if err := k.with(func(s *emuPPSState) error { moved = s.LastEv != ev; return nil }); err != nil {
				return err
			}
			if moved {
				break
			}
			left := time.Until(deadline)
			if !forever && left <= 0 {
				return unix.ETIMEDOUT
			}
			if forever {
				left = futexMaxWait
			}
			futexWait(word, ev, left)
		}
	}
	return k.with(func(s *emuPPSState) error {
		f.Info = ppsKinfo{AssertSequence: s.AssertSeq, ClearSequence: s.ClearSeq, AssertTu: s.AssertTu,
			ClearTu: s.ClearTu, CurrentMode: s.CurrentMode}
		return nil
	})
}
