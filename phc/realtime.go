package phc

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// System is CLOCK_REALTIME, the clock phc2sys steers from a PHC. Like
// linuxptp it steers the frequency with the kernel's tick length as well
// as its frequency word, so that the range reaches ±10 % instead of the
// frequency word's ±500 ppm.
type System struct {
	hz          int64 // USER_HZ
	nominalTick int64 // µs per tick at the nominal rate
	maxFreq     float64
}

// userHZ is the kernel's USER_HZ, which is 100 on every Linux architecture
// Go supports (sysconf(_SC_CLK_TCK)).
const userHZ = 100

// NewSystem returns CLOCK_REALTIME. It reads the kernel's frequency
// tolerance to learn the clock's range.
func NewSystem() (*System, error) {
	s := &System{hz: userHZ, nominalTick: (1_000_000 + userHZ/2) / userHZ}
	var tx unix.Timex
	if _, err := clockAdjtime(unix.CLOCK_REALTIME, &tx); err != nil {
		return nil, fmt.Errorf("CLOCK_REALTIME: clock_adjtime: %w", err)
	}
	s.maxFreq = float64(tx.Tolerance) / 65.536
	if s.maxFreq == 0 {
		s.maxFreq = 500000
	}
	// With the tick the kernel allows ±10 %.
	if 2*s.maxFreq >= float64(1000*s.hz) {
		s.maxFreq = float64(s.nominalTick/10) * 1000 * float64(s.hz)
	}
	return s, nil
}

// Name implements Clock.
func (s *System) Name() string { return "CLOCK_REALTIME" }

// Now implements Clock.
func (s *System) Now() (time.Time, error) {
	var ts unix.Timespec
	if err := clockGettime(unix.CLOCK_REALTIME, &ts); err != nil {
		return time.Time{}, fmt.Errorf("CLOCK_REALTIME: %w", err)
	}
	return time.Unix(ts.Sec, ts.Nsec), nil
}

// MaxFrequency implements Clock.
func (s *System) MaxFrequency() float64 { return s.maxFreq }

// splitFrequency divides ppb between the tick length (whole µs per tick,
// each worth 1000·hz ppb) and the kernel's frequency word (ppb·65.536),
// rounded to the nearest word so that a frequency read back and printed
// to 10⁻⁶ ppb, as roko-ptpctl and phc_ctl print it, sets the same word.
func (s *System) splitFrequency(ppb float64) (tick int64, freq int64) {
	tick = int64(math.Round(ppb/1e3/float64(s.hz))) + s.nominalTick
	rest := ppb - 1e3*float64(s.hz)*float64(tick-s.nominalTick)
	return tick, int64(math.Round(rest * 65.536))
}

// joinFrequency is splitFrequency's inverse.
func (s *System) joinFrequency(tick, freq int64) float64 {
	f := float64(freq) / 65.536
	if tick != 0 {
		f += 1e3 * float64(s.hz) * float64(tick-s.nominalTick)
	}
	return f
}

// AdjustFrequency implements Clock.
func (s *System) AdjustFrequency(ppb float64) error {
	if math.IsNaN(ppb) || math.Abs(ppb) > s.maxFreq {
		return fmt.Errorf("CLOCK_REALTIME: %.0f ppb: %w (the limit is ±%.0f)", ppb, ErrFrequencyRange, s.maxFreq)
	}
	tick, freq := s.splitFrequency(ppb)
	tx := unix.Timex{Modes: unix.ADJ_TICK | unix.ADJ_FREQUENCY, Tick: tick, Freq: freq}
	if _, err := clockAdjtime(unix.CLOCK_REALTIME, &tx); err != nil {
		return s.adjErr("set the frequency", err)
	}
	return nil
}

// Frequency implements Clock.
func (s *System) Frequency() (float64, error) {
	var tx unix.Timex
	if _, err := clockAdjtime(unix.CLOCK_REALTIME, &tx); err != nil {
		return 0, s.adjErr("read the frequency", err)
	}
	return s.joinFrequency(tx.Tick, tx.Freq), nil
}

// Step implements Clock.
func (s *System) Step(d time.Duration) error {
	tx := unix.Timex{Modes: unix.ADJ_SETOFFSET | unix.ADJ_NANO, Time: stepTimeval(d)}
	if _, err := clockAdjtime(unix.CLOCK_REALTIME, &tx); err != nil {
		return s.adjErr("step", err)
	}
	return nil
}

func (s *System) adjErr(what string, err error) error {
	if errors.Is(err, unix.EPERM) {
		return fmt.Errorf("CLOCK_REALTIME: cannot %s: %w: run as root or grant CAP_SYS_TIME", what, ErrPermission)
	}
	return fmt.Errorf("CLOCK_REALTIME: cannot %s: %w", what, err)
}

// stepTimeval encodes a step for ADJ_SETOFFSET|ADJ_NANO: whole seconds and
// nanoseconds in the microseconds field, which must not be negative, so a
// negative step borrows a second.
func stepTimeval(d time.Duration) unix.Timeval {
	sec := int64(d / time.Second)
	nsec := int64(d % time.Second)
	if nsec < 0 {
		sec--
		nsec += int64(time.Second)
	}
	return unix.Timeval{Sec: sec, Usec: nsec}
}

// Status is the kernel's view of the system clock (adjtimex).
type Status struct {
	Unsynchronized bool          // STA_UNSYNC
	MaxError       time.Duration // maxerror
	EstError       time.Duration // esterror
	TAIOffset      int           // the kernel's UTC−TAI offset (tai), in seconds
	State          int           // TIME_OK, TIME_INS, ... (clock_adjtime's return)
}

// Status reads the kernel's synchronisation status.
func (s *System) Status() (Status, error) {
	var tx unix.Timex
	state, err := clockAdjtime(unix.CLOCK_REALTIME, &tx)
	if err != nil {
		return Status{}, s.adjErr("read the status", err)
	}
	return Status{
		Unsynchronized: tx.Status&unix.STA_UNSYNC != 0,
		MaxError:       time.Duration(tx.Maxerror) * time.Microsecond,
		EstError:       time.Duration(tx.Esterror) * time.Microsecond,
		TAIOffset:      int(tx.Tai),
		State:          state,
	}, nil
}

// SetTAIOffset tells the kernel the UTC−TAI difference (ADJ_TAI), which
// CLOCK_TAI then follows; a grandmaster learns it from GNSS, a client from
// currentUtcOffset.
func (s *System) SetTAIOffset(seconds int) error {
	tx := unix.Timex{Modes: unix.ADJ_TAI, Constant: int64(seconds)}
	if _, err := clockAdjtime(unix.CLOCK_REALTIME, &tx); err != nil {
		return s.adjErr("set the TAI offset", err)
	}
	return nil
}

// ErrNoPrivilege: the process may not steer CLOCK_REALTIME.
var ErrNoPrivilege = errors.New("steering CLOCK_REALTIME needs CAP_SYS_TIME: run as root, or grant the capability (systemd: AmbientCapabilities=CAP_SYS_TIME)")

// capSysTime is CAP_SYS_TIME's bit in the capability sets.
const capSysTime = 25

// CheckSteerable reports, without touching the clock, whether this
// process may steer CLOCK_REALTIME: it reads the effective capability set
// from procStatus (normally /proc/self/status). Finding out at the first
// adjustment instead would let a daemon start, wait for PTP and only then
// fail.
func CheckSteerable(procStatus string) error {
	b, err := os.ReadFile(procStatus)
	if err != nil {
		return fmt.Errorf("reading capabilities: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		hex, ok := strings.CutPrefix(line, "CapEff:")
		if !ok {
			continue
		}
		caps, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		if err != nil {
			return fmt.Errorf("%s: CapEff %q: %w", procStatus, strings.TrimSpace(hex), err)
		}
		if caps&(1<<capSysTime) == 0 {
			return ErrNoPrivilege
		}
		return nil
	}
	return fmt.Errorf("%s: no CapEff line", procStatus)
}
