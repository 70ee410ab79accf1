package phc

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// An emulated PHC is a NIC clock without the NIC, for machines that have
// none: phc.Open on its state file returns a Device that runs the same
// code as on /dev/ptpN, with only the kernel's answers (ptpKernel,
// kernel.go) emulated. It answers the same ioctls with the same UAPI
// structs and errno values, and clock_gettime and clock_adjtime as the
// kernel's PHC layer does (ADJ_FREQUENCY in scaled ppm with max_adj,
// ADJ_SETOFFSET, a read of the dialed frequency).
//
// Its oscillator runs on CLOCK_MONOTONIC, as Virtual does, from an offset
// to CLOCK_REALTIME, with a frequency error and a seeded random-walk
// wander; steering rounds to the clock's frequency resolution. Its
// sys-offset ioctls read "the system clock" from the same CLOCK_MONOTONIC
// plus the kernel's constant CLOCK_REALTIME − CLOCK_MONOTONIC
// (monotonic.go), so each method's window and offset are exactly as
// configured. EXTTS edges are injected (InjectEdge) rather than wired;
// the clock has one event queue, which every reader shares, as kernels
// before 6.7 had (a newer kernel gives each open file its own).
//
// Each process measures CLOCK_REALTIME − CLOCK_MONOTONIC itself (to a
// few tens of nanoseconds, monotonic.go), so two processes' conversions
// between the PHC and CLOCK_REALTIME agree to that; the PHC's own time,
// on CLOCK_MONOTONIC, is the same to the nanosecond in every process.
//
// The emulation never touches a real clock: it reads CLOCK_MONOTONIC,
// CLOCK_REALTIME and CLOCK_MONOTONIC_RAW and sets none of them; steering
// an emulated PHC changes only its state file.

// DefaultEmulatedDir is where emulated PHCs' state files live unless the
// caller says otherwise.
const DefaultEmulatedDir = "/run/roko-ptpd/emulated"

// EmulatedPath names an emulated PHC's state file: name ("ptp0") under
// DefaultEmulatedDir, or name itself if it is a path.
func EmulatedPath(name string) string {
	if strings.ContainsRune(name, '/') {
		return name
	}
	return filepath.Join(DefaultEmulatedDir, name)
}

// EmulatedConfig describes an emulated PHC. The zero value is a clock
// with no channels, no pins and instant reads; DefaultEmulatedConfig is
// an Intel i210.
type EmulatedConfig struct {
	// Offset is the clock's initial offset from CLOCK_REALTIME.
	Offset time.Duration
	// FrequencyError is how fast the free-running oscillator runs
	// against CLOCK_REALTIME, ppb (within ±10 %).
	FrequencyError float64
	// Wander is the oscillator's random-walk frequency noise, ppb/√s:
	// every WanderInterval the frequency moves by a normal deviate of
	// Wander·√WanderInterval. Seed makes the walk repeatable.
	Wander         float64
	WanderInterval time.Duration // default 1 s
	Seed           uint64
	// MaxAdj is the largest frequency adjustment, ppb (default 62499999,
	// an i210's).
	MaxAdj int32
	// FrequencyStep is the oscillator's frequency resolution in ppb,
	// for NICs whose hardware rounds the kernel's request; 0 keeps the
	// kernel's unit, 1/65.536 ppb. The dialed value still reads back as
	// set, as from the kernel.
	FrequencyStep float64
	// External timestamp channels, periodic outputs and pins (pins are
	// named SDP0, SDP1, ... and start with no function). With pins, a
	// channel must have a pin assigned before it can be enabled, as on
	// an i210.
	NExtTS, NPerOut, NPins int
	// PPS is the caps' pps: the clock can feed the kernel's PPS.
	PPS bool
	// CrossTimestamping makes PTP_SYS_OFFSET_PRECISE work: an exact
	// cross timestamp of the clock and CLOCK_REALTIME.
	CrossTimestamping bool
	// NoExtended refuses PTP_SYS_OFFSET_EXTENDED (EOPNOTSUPP), as a
	// driver without gettimex64 does.
	NoExtended bool
	// How long each sys-offset read takes: PRECISE's whole call, and
	// the system-clock window around each PHC read for EXTENDED and
	// basic PTP_SYS_OFFSET (at most 40 µs).
	PreciseDelay, ExtendedDelay, BasicDelay time.Duration
}

// DefaultEmulatedConfig is an Intel i210: max_adj 62499999, 2 EXTTS, 2
// PEROUT, 4 pins, PPS, no cross timestamping, EXTENDED reads with a 1 µs
// window and basic ones with 3 µs.
func DefaultEmulatedConfig() EmulatedConfig {
	return EmulatedConfig{
		MaxAdj: 62_499_999, NExtTS: 2, NPerOut: 2, NPins: 4, PPS: true,
		PreciseDelay: 200 * time.Nanosecond, ExtendedDelay: time.Microsecond, BasicDelay: 3 * time.Microsecond,
	}
}

// state builds a new clock's state at monotonic time m.
func (c EmulatedConfig) state(m, off int64) (*emuState, []uint64, error) {
	if c.MaxAdj == 0 {
		c.MaxAdj = 62_499_999
	}
	if c.WanderInterval == 0 {
		c.WanderInterval = time.Second
	}
	b01 := func(b bool) uint32 {
		if b {
			return 1
		}
		return 0
	}
	switch {
	case c.NExtTS < 0 || c.NExtTS > emuMaxExtTS, c.NPerOut < 0 || c.NPerOut > emuMaxPerOut, c.NPins < 0 || c.NPins > emuMaxPins:
		return nil, nil, fmt.Errorf("emulated PHC: %d EXTTS, %d PEROUT, %d pins: at most %d, %d and %d", c.NExtTS, c.NPerOut, c.NPins, emuMaxExtTS, emuMaxPerOut, emuMaxPins)
	}
	buf := make([]uint64, (emuStateSize+7)/8)
	b := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), emuStateSize)
	s := (*emuState)(unsafe.Pointer(&b[0]))
	copy(s.Magic[:], emuMagic)
	s.Version, s.Size = emuVersion, uint32(emuStateSize)
	s.MaxAdj, s.NExtTS, s.NPerOut, s.NPins = c.MaxAdj, uint32(c.NExtTS), uint32(c.NPerOut), uint32(c.NPins)
	s.CrossTimestamping, s.NoExtended, s.PPS = b01(c.CrossTimestamping), b01(c.NoExtended), b01(c.PPS)
	s.FreqStep, s.FreqError, s.Wander, s.WanderInterval = c.FrequencyStep, c.FrequencyError, c.Wander, int64(c.WanderInterval)
	s.PreciseDelay, s.ExtendedDelay, s.BasicDelay = int64(c.PreciseDelay), int64(c.ExtendedDelay), int64(c.BasicDelay)
	s.M0, s.V0 = m, m+off+int64(c.Offset)
	s.Rng, s.WanderNext = c.Seed, m+s.WanderInterval
	for i := range s.Pins[:c.NPins] {
		copy(s.Pins[i].Name[:], fmt.Sprintf("SDP%d", i))
	}
	if err := s.check(); err != nil {
		return nil, nil, fmt.Errorf("emulated PHC: %v", err)
	}
	return s, buf, nil
}

// Emulated is a handle on an emulated PHC's state for what a real PHC's
// surroundings would do: a signal on its EXTTS input (InjectEdge), a look
// at its PEROUT output (PerOut), and the clock's true error, which no
// real PHC can report. Open its Path with Open to use the clock itself.
type Emulated struct {
	k *emuKernel
}

// CreateEmulated makes a new emulated PHC at path (see EmulatedPath),
// replacing any clock there: the state file is written whole and renamed
// into place, so a process that opens the path sees the old clock or the
// new one, and one that had the old one open keeps it.
func CreateEmulated(path string, cfg EmulatedConfig) (*Emulated, error) {
	off, err := realtimeOffset()
	if err != nil {
		return nil, err
	}
	_, buf, err := cfg.state(readMono(), off)
	if err != nil {
		return nil, err
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), emuStateSize)
	if err := writeStateFile(path, "emulated PHC", b); err != nil {
		return nil, err
	}
	return OpenEmulated(path)
}

// OpenEmulated opens an existing emulated PHC's state.
func OpenEmulated(path string) (*Emulated, error) {
	k, err := openEmulatedKernel(path)
	if err != nil {
		return nil, err
	}
	return &Emulated{k: k}, nil
}

// Path is the state file's path, which Open takes.
func (e *Emulated) Path() string { return e.k.path }

// Close releases the handle; the clock stays.
func (e *Emulated) Close() error { return e.k.close() }

// InjectEdge presents an edge (RisingEdge or FallingEdge) on an EXTTS
// channel's input at CLOCK_REALTIME time rt. If the channel is enabled
// for that edge, the clock timestamps it on its own timescale and the
// event is queued for Device.ReadExtTS, and InjectEdge returns true;
// otherwise the edge is lost, as in hardware. The conversion is exact for
// an edge since the clock's rate last changed, and extrapolates at the
// current rate for one before.
func (e *Emulated) InjectEdge(channel uint32, edge Edges, rt int64) (bool, error) {
	off, err := realtimeOffset()
	if err != nil {
		return false, err
	}
	var ok bool
	var word *uint32
	err = e.k.with(func(s *emuState, _ int64) error {
		ok, err = s.inject(channel, edge, s.atNs(rt-off))
		word = low32(&s.QTail)
		return err
	})
	if ok {
		futexWake(word)
	}
	return ok, err
}

// InjectEdgeAt is InjectEdge for an edge given on the PHC's own
// timescale (a signal the clock itself generated, or one a test places
// exactly).
func (e *Emulated) InjectEdgeAt(channel uint32, edge Edges, phcTime int64) (bool, error) {
	var ok bool
	var word *uint32
	err := e.k.with(func(s *emuState, _ int64) (err error) {
		ok, err = s.inject(channel, edge, phcTime)
		word = low32(&s.QTail)
		return err
	})
	if ok {
		futexWake(word)
	}
	return ok, err
}

// inject queues an edge if its channel is enabled for it.
func (s *emuState) inject(channel uint32, edge Edges, t int64) (bool, error) {
	if edge != RisingEdge && edge != FallingEdge {
		return false, fmt.Errorf("emulated PHC: an edge is RisingEdge or FallingEdge, not %#x", uint32(edge))
	}
	if channel >= s.NExtTS {
		return false, fmt.Errorf("emulated PHC: EXTTS channel %d: %w (the device has %d)", channel, ErrNotSupported, s.NExtTS)
	}
	f := s.ExtTS[channel]
	if f&ptpEnableFeature == 0 || f&uint32(edge) == 0 {
		return false, nil
	}
	s.push(emuEvent{T: t, Index: channel, Edge: uint32(edge)})
	return true, nil
}

// PerOutState is a PEROUT channel's last request, as the emulated
// hardware received it.
type PerOutState struct {
	Channel uint32
	// Period is zero when the output is stopped.
	Period time.Duration
	// Start is the PHC time of the first edge, or with Phase the offset
	// of every edge from a whole number of periods.
	Start time.Duration
	Phase bool
	// On is the high time with DutyCycle.
	On        time.Duration
	DutyCycle bool
	OneShot   bool
	// Requests counts the PEROUT requests the channel has received.
	Requests uint64
}

// PerOut reports what a PEROUT channel was last asked to do.
func (e *Emulated) PerOut(channel uint32) (PerOutState, error) {
	var p PerOutState
	err := e.k.with(func(s *emuState, _ int64) error {
		if channel >= s.NPerOut {
			return fmt.Errorf("emulated PHC: PEROUT channel %d: %w (the device has %d)", channel, ErrNotSupported, s.NPerOut)
		}
		r := s.PerOut[channel]
		p = PerOutState{Channel: channel, Period: time.Duration(r.Period), Start: time.Duration(r.StartOrPhase),
			Phase: r.Flags&ptpPeroutPhase != 0, On: time.Duration(r.On), DutyCycle: r.Flags&ptpPeroutDutyCyc != 0,
			OneShot: r.Flags&ptpPeroutOneShot != 0, Requests: r.Requests}
		return nil
	})
	return p, err
}

// ExtTSEnabled reports which edges an EXTTS channel timestamps now (0:
// disabled).
func (e *Emulated) ExtTSEnabled(channel uint32) (Edges, error) {
	var ed Edges
	err := e.k.with(func(s *emuState, _ int64) error {
		if channel >= s.NExtTS {
			return fmt.Errorf("emulated PHC: EXTTS channel %d: %w", channel, ErrNotSupported)
		}
		if f := s.ExtTS[channel]; f&ptpEnableFeature != 0 {
			ed = Edges(f) & BothEdges
		}
		return nil
	})
	return ed, err
}

// FromRealtime converts a CLOCK_REALTIME time (a kernel software
// timestamp) to the clock's timescale, as Virtual.FromRealtime does: how
// an emulated NIC's hardware timestamps are made.
func (e *Emulated) FromRealtime(rt int64) (int64, error) {
	off, err := realtimeOffset()
	if err != nil {
		return 0, err
	}
	var v int64
	err = e.k.with(func(s *emuState, _ int64) error { v = s.atNs(rt - off); return nil })
	return v, err
}

// TrueError is the clock minus CLOCK_REALTIME now, exactly (no reading of
// two clocks at once), as Virtual.TrueError.
func (e *Emulated) TrueError() (time.Duration, error) {
	off, err := realtimeOffset()
	if err != nil {
		return 0, err
	}
	var d time.Duration
	err = e.k.with(func(s *emuState, m int64) error { d = time.Duration(s.atNs(m) - (m + off)); return nil })
	return d, err
}

// Rate is the clock's frequency against CLOCK_REALTIME now, ppb: the
// oscillator's error and wander plus the steering in effect.
func (e *Emulated) Rate() (float64, error) {
	var r float64
	err := e.k.with(func(s *emuState, _ int64) error { r = s.rate(); return nil })
	return r, err
}

// emuKernel answers a Device's kernel calls from a mapped state file.
type emuKernel struct {
	*sharedMap
}

// openEmulatedKernel maps the state file at path.
func openEmulatedKernel(path string) (*emuKernel, error) {
	sm, err := openSharedMap(path, "emulated PHC")
	if err != nil {
		return nil, err
	}
	k := &emuKernel{sm}
	if err := k.with(func(*emuState, int64) error { return nil }); err != nil {
		k.close()
		return nil, err
	}
	return k, nil
}

// with runs fn on the checked state under the file lock, with the
// monotonic time read inside the lock and the random walk advanced to it.
func (k *emuKernel) with(fn func(s *emuState, m int64) error) error {
	return k.sharedMap.with(func(mem []byte) error {
		s, err := stateOf(mem)
		if err != nil {
			return fmt.Errorf("%s: %w", k.path, err)
		}
		m := readMono()
		s.advance(m)
		return fn(s, m)
	})
}

func (k *emuKernel) ioctl(req uintptr, arg unsafe.Pointer) error {
	off, err := realtimeOffset()
	if err != nil {
		return err
	}
	return k.with(func(s *emuState, m int64) error { return s.ioctl(req, arg, m, off) })
}

func (k *emuKernel) ioctlValue(req, v uintptr) error {
	return k.with(func(s *emuState, _ int64) error {
		switch req {
		case iocPtpEnablePPS, iocPtpEnablePPS2:
			if s.PPS == 0 {
				return unix.EOPNOTSUPP
			}
			s.PPSEnabled = uint32(min(v, 1))
			return nil
		}
		return unix.ENOTTY
	})
}

func (k *emuKernel) clockGettime(ts *unix.Timespec) error {
	return k.with(func(s *emuState, m int64) error {
		*ts = unix.NsecToTimespec(s.atNs(m))
		return nil
	})
}

func (k *emuKernel) clockAdjtime(tx *unix.Timex) (int, error) {
	return 0, k.with(func(s *emuState, m int64) error { return s.adjtime(tx, m) })
}

func (k *emuKernel) readEvents(buf []byte, timeout time.Duration) (int, error) {
	// poll(2) takes whole milliseconds, and waits forever for fewer than
	// none.
	forever := timeout.Milliseconds() < 0
	deadline := time.Now().Add(time.Duration(timeout.Milliseconds()) * time.Millisecond)
	for {
		var n int
		var word *uint32
		var tail uint32
		if err := k.with(func(s *emuState, _ int64) error {
			n, word, tail = s.pop(buf), low32(&s.QTail), uint32(s.QTail)
			return nil
		}); err != nil || n > 0 {
			return n, err
		}
		left := time.Until(deadline)
		if forever {
			left = futexMaxWait
		}
		if left <= 0 {
			return 0, nil
		}
		futexWait(word, tail, left)
	}
}

// pop moves whole queued events into buf as struct ptp_extts_event.
func (s *emuState) pop(buf []byte) int {
	n := 0
	for s.QHead < s.QTail && len(buf)-n >= exttsEventLen {
		e := s.Queue[s.QHead%emuQueueLen]
		s.QHead++
		ev := (*ptpExttsEvent)(unsafe.Pointer(&buf[n]))
		*ev = ptpExttsEvent{T: ptpTime(e.T), Index: e.Index}
		n += exttsEventLen
	}
	return n
}

// ptpTime is a struct ptp_clock_time of ns since the epoch: the seconds
// carry the sign, the nanoseconds are always positive.
func ptpTime(ns int64) ptpClockTime {
	sec, nsec := ns/1e9, ns%1e9
	if nsec < 0 {
		sec--
		nsec += 1e9
	}
	return ptpClockTime{Sec: sec, Nsec: uint32(nsec)}
}

// maxSec bounds seconds that convert to int64 ns.
const maxSec = math.MaxInt64/1_000_000_000 - 1

// durOf reads a ptp_clock_time as a duration; ok false if nsec is out of
// range.
func durOf(t ptpClockTime) (int64, bool) {
	if t.Nsec >= 1e9 || t.Sec > maxSec || t.Sec < -maxSec {
		return 0, false
	}
	return t.Sec*1e9 + int64(t.Nsec), true
}

// adjtime is the PHC layer's clock_adjtime: a step, a frequency, or (with
// no modes) a read of the dialed frequency.
func (s *emuState) adjtime(tx *unix.Timex, m int64) error {
	switch {
	case tx.Modes&unix.ADJ_SETOFFSET != 0:
		nsec := tx.Time.Usec
		if tx.Modes&unix.ADJ_NANO == 0 {
			nsec *= 1000
		}
		if nsec < 0 || nsec >= 1e9 || tx.Time.Sec > maxSec || tx.Time.Sec < -maxSec {
			return unix.EINVAL
		}
		s.V0 += tx.Time.Sec*1e9 + nsec
		s.Steps++
		return nil
	case tx.Modes&unix.ADJ_FREQUENCY != 0:
		// The kernel's scaled_ppm_to_ppb, then its max_adj check.
		ppb := ((1 + tx.Freq) * 125) >> 13
		if ppb > int64(s.MaxAdj) || ppb < -int64(s.MaxAdj) {
			return unix.ERANGE
		}
		eff := scaledPPMToPPB(tx.Freq)
		if s.FreqStep > 0 {
			eff = math.Round(eff/s.FreqStep) * s.FreqStep
		}
		s.reanchor(m)
		s.Adj, s.Dialed = eff, tx.Freq
		return nil
	case tx.Modes&unix.ADJ_OFFSET != 0:
		return unix.EOPNOTSUPP
	case tx.Modes == 0:
		tx.Freq = s.Dialed
		return nil
	}
	return unix.EOPNOTSUPP
}

// Valid request flags (linux/ptp_clock.h).
const (
	exttsValidFlags  = ptpEnableFeature | ptpRisingEdge | ptpFallingEdge | ptpStrictFlags
	exttsV1Flags     = ptpEnableFeature | ptpRisingEdge | ptpFallingEdge
	peroutValidFlags = ptpPeroutOneShot | ptpPeroutDutyCyc | ptpPeroutPhase
)

// hasPin reports whether a pin does f on channel ch.
func (s *emuState) hasPin(f PinFunction, ch uint32) bool {
	for i := range s.Pins[:s.NPins] {
		if s.Pins[i].Func == uint32(f) && s.Pins[i].Chan == ch {
			return true
		}
	}
	return false
}

// ioctl answers one PTP clock ioctl, reading and filling arg as the
// kernel does. off is CLOCK_REALTIME − CLOCK_MONOTONIC.
func (s *emuState) ioctl(req uintptr, arg unsafe.Pointer, m, off int64) error {
	switch req {
	case iocPtpClockGetcaps, iocPtpClockGetcaps2:
		c := (*ptpClockCaps)(arg)
		*c = ptpClockCaps{MaxAdj: s.MaxAdj, NExtTS: int32(s.NExtTS), NPerOut: int32(s.NPerOut), PPS: int32(s.PPS),
			NPins: int32(s.NPins), CrossTimestamping: int32(s.CrossTimestamping)}
		return nil

	case iocPtpExttsRequest, iocPtpExttsRequest2:
		r := (*ptpExttsRequest)(arg)
		flags := r.Flags
		if req == iocPtpExttsRequest2 {
			if flags&^exttsValidFlags != 0 || r.Rsv != [2]uint32{} {
				return unix.EINVAL
			}
		} else {
			flags &= exttsV1Flags
		}
		if r.Index >= s.NExtTS {
			return unix.EINVAL
		}
		if flags&ptpEnableFeature == 0 {
			s.ExtTS[r.Index] = 0
			return nil
		}
		if s.NPins > 0 && !s.hasPin(PinExtTS, r.Index) {
			return unix.EBUSY
		}
		if flags&(ptpRisingEdge|ptpFallingEdge) == 0 {
			flags |= ptpRisingEdge // what drivers do with no edge named
		}
		s.ExtTS[r.Index] = flags
		return nil

	case iocPtpPeroutRequest, iocPtpPeroutRequest2:
		r := (*ptpPeroutRequest)(arg)
		flags := r.Flags
		on := r.On
		if req == iocPtpPeroutRequest2 {
			if flags&^peroutValidFlags != 0 || (flags&ptpPeroutDutyCyc == 0 && on != ptpClockTime{}) {
				return unix.EINVAL
			}
		} else {
			flags, on = 0, ptpClockTime{}
		}
		if r.Index >= s.NPerOut {
			return unix.EINVAL
		}
		start, ok1 := durOf(r.StartOrPhase)
		period, ok2 := durOf(r.Period)
		onNs, ok3 := durOf(on)
		if !ok1 || !ok2 || !ok3 || period < 0 || onNs < 0 {
			return unix.EINVAL
		}
		if flags&ptpPeroutDutyCyc != 0 && onNs > period {
			return unix.ERANGE
		}
		if flags&ptpPeroutPhase != 0 && (start < 0 || start >= period) && period != 0 {
			return unix.ERANGE
		}
		if period != 0 && s.NPins > 0 && !s.hasPin(PinPerOut, r.Index) {
			return unix.EBUSY
		}
		p := &s.PerOut[r.Index]
		*p = emuPerOut{StartOrPhase: start, Period: period, On: onNs, Flags: flags, Requests: p.Requests + 1}
		return nil

	case iocPtpSysOffsetReq, iocPtpSysOffset2:
		r := (*ptpSysOffset)(arg)
		if r.NSamples > ptpMaxSamples {
			return unix.EINVAL
		}
		d := s.BasicDelay
		for i := range int64(r.NSamples) {
			t := m + i*d
			r.TS[2*i] = ptpTime(t + off)
			r.TS[2*i+1] = ptpTime(s.atNs(t + d/2))
		}
		end := m + int64(r.NSamples)*d
		r.TS[2*r.NSamples] = ptpTime(end + off)
		spinUntil(end)
		return nil

	case iocPtpSysOffsetExtReq, iocPtpSysOffsetExtended2:
		if s.NoExtended != 0 {
			return unix.EOPNOTSUPP
		}
		r := (*ptpSysOffsetExtended)(arg)
		if r.NSamples > ptpMaxSamples || r.Rsv != [3]uint32{} {
			return unix.EINVAL
		}
		d := s.ExtendedDelay
		for i := range int64(r.NSamples) {
			t := m + i*d
			r.TS[i] = [3]ptpClockTime{ptpTime(t + off), ptpTime(s.atNs(t + d/2)), ptpTime(t + d + off)}
		}
		spinUntil(m + int64(r.NSamples)*d)
		return nil

	case iocPtpSysOffsetPreciseReq, iocPtpSysOffsetPrecise2:
		if s.CrossTimestamping == 0 {
			return unix.EOPNOTSUPP
		}
		r := (*ptpSysOffsetPrecise)(arg)
		t := m + s.PreciseDelay/2
		var raw unix.Timespec
		_ = clockGettime(unix.CLOCK_MONOTONIC_RAW, &raw)
		*r = ptpSysOffsetPrecise{Device: ptpTime(s.atNs(t)), SysRealtime: ptpTime(t + off), SysMonoraw: ptpTime(raw.Nano())}
		spinUntil(m + s.PreciseDelay)
		return nil

	case iocPtpPinGetfunc, iocPtpPinGetfunc2, iocPtpPinSetfunc, iocPtpPinSetfunc2:
		r := (*ptpPinDesc)(arg)
		if (req == iocPtpPinGetfunc2 || req == iocPtpPinSetfunc2) && r.Rsv != [5]uint32{} {
			return unix.EINVAL
		}
		if r.Index >= s.NPins {
			return unix.EINVAL
		}
		pin := &s.Pins[r.Index]
		if req == iocPtpPinGetfunc || req == iocPtpPinGetfunc2 {
			r.Name, r.Func, r.Chan = pin.Name, pin.Func, pin.Chan
			return nil
		}
		return s.setPin(r.Index, PinFunction(r.Func), r.Chan)
	}
	return unix.ENOTTY
}

// setPin is the kernel's ptp_set_pinfunc: the channel must exist; a pin
// that had this function and channel loses it; the pin's old function
// stops.
func (s *emuState) setPin(index uint32, f PinFunction, ch uint32) error {
	switch f {
	case PinNone:
		ch = 0
	case PinExtTS:
		if ch >= s.NExtTS {
			return unix.EINVAL
		}
	case PinPerOut:
		if ch >= s.NPerOut {
			return unix.EINVAL
		}
	case PinPhySync:
		if ch != 0 {
			return unix.EINVAL
		}
	default:
		return unix.EINVAL
	}
	if f != PinNone {
		for i := range s.Pins[:s.NPins] {
			if p := &s.Pins[i]; uint32(i) != index && p.Func == uint32(f) && p.Chan == ch {
				p.Func, p.Chan = uint32(PinNone), 0
			}
		}
	}
	pin := &s.Pins[index]
	switch PinFunction(pin.Func) {
	case PinExtTS:
		if pin.Chan < s.NExtTS {
			s.ExtTS[pin.Chan] = 0
		}
	case PinPerOut:
		if pin.Chan < s.NPerOut {
			s.PerOut[pin.Chan].Period = 0
		}
	}
	pin.Func, pin.Chan = uint32(f), ch
	return nil
}

// spinUntil waits, without sleeping, until CLOCK_MONOTONIC reaches m: an
// emulated read takes as long as it says it did.
func spinUntil(m int64) {
	for readMono() < m {
	}
}
