package phc

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Device is a PTP hardware clock, /dev/ptpN: a NIC's clock that the
// network steers and that timestamps packets.
type Device struct {
	path string
	k    ptpKernel // the kernel calls: kernel.go, or emulated.go
	// fk is k when it is the real kernel: called directly, so that the
	// structs the hot paths pass it stay on their callers' stacks (through
	// the interface they would escape to the heap on every call).
	fk      *fileKernel
	clockid int32
	caps    Caps
}

// Caps is what PTP_CLOCK_GETCAPS reports of a PHC.
type Caps struct {
	MaxAdj            int32 // largest frequency adjustment, ppb
	NAlarm            int32 // programmable alarms
	NExtTS            int32 // external timestamp channels (EXTTS, "PPS in")
	NPerOut           int32 // periodic output channels (PEROUT, "PPS out")
	PPS               bool  // can feed the kernel's PPS
	NPins             int32 // configurable pins
	CrossTimestamping bool  // PTP_SYS_OFFSET_PRECISE works
	AdjustPhase       bool  // ADJ_OFFSET phase adjustment works
	MaxPhaseAdj       int32 // largest phase adjustment, ns (kernel 6.2+)
}

func decodeCaps(c *ptpClockCaps) Caps {
	return Caps{
		MaxAdj: c.MaxAdj, NAlarm: c.NAlarm, NExtTS: c.NExtTS, NPerOut: c.NPerOut, PPS: c.PPS != 0,
		NPins: c.NPins, CrossTimestamping: c.CrossTimestamping != 0, AdjustPhase: c.AdjustPhase != 0,
		MaxPhaseAdj: c.MaxPhaseAdj,
	}
}

// fdToClockID is the kernel's FD_TO_CLOCKID: a dynamic POSIX clock id
// naming the clock behind an open character device.
func fdToClockID(fd int) int32 { return int32((^uint32(fd) << 3) | 3) }

// openErr turns an open or ioctl failure into an error that says what is
// missing and what to do.
func openErr(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: %w: check that the NIC driver exposes a PTP hardware clock ('ethtool -T <interface>'), or use software timestamping (-S) or the virtual clock (virtual_clock 1)", path, ErrNoDevice)
	case errors.Is(err, fs.ErrPermission), errors.Is(err, unix.EPERM):
		return fmt.Errorf("%s: %w: run as root or grant CAP_SYS_TIME and access to the device", path, ErrPermission)
	}
	return fmt.Errorf("%s: %w", path, err)
}

// ioctlErr wraps a failed ioctl with its name and the device.
func ioctlErr(path, name string, err error) error {
	switch {
	case errors.Is(err, unix.ENOTTY), errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.EINVAL) && name == "PTP_CLOCK_GETCAPS2":
		return fmt.Errorf("%s: %s: %w (%v)", path, name, ErrNotSupported, err)
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return fmt.Errorf("%s: %s: %w: run as root or grant CAP_SYS_TIME", path, name, ErrPermission)
	}
	return fmt.Errorf("%s: %s: %w", path, name, err)
}

// DeviceOpenFlags is how Open opens /dev/ptpN: read-write, because the
// kernel refuses clock_settime and clock_adjtime on a dynamic clock whose
// file is not open for writing. dist/systemd's units must grant it
// (DeviceAllow=char-ptp rw).
const DeviceOpenFlags = os.O_RDWR

// Open opens a PHC by path (/dev/ptp0) and reads its capabilities. A
// path that names a regular file rather than a character device is an
// emulated PHC's state file (CreateEmulated, emustate.go): the Device then
// runs the same code with only the kernel's answers emulated.
func Open(path string) (*Device, error) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		k, err := openEmulatedKernel(path)
		if err != nil {
			return nil, err
		}
		return newDevice(path, k, -1)
	}
	f, err := os.OpenFile(path, DeviceOpenFlags, 0)
	if err != nil {
		return nil, openErr(path, err)
	}
	id := fdToClockID(int(f.Fd()))
	return newDevice(path, &fileKernel{f: f, clockid: id}, id)
}

// newDevice reads the capabilities of the clock behind k.
func newDevice(path string, k ptpKernel, clockid int32) (*Device, error) {
	d := &Device{path: path, k: k, clockid: clockid}
	d.fk, _ = k.(*fileKernel)
	var caps ptpClockCaps
	if err := d.ioctl("PTP_CLOCK_GETCAPS2", iocPtpClockGetcaps2, unsafe.Pointer(&caps)); err != nil {
		// Kernels before 5.8 know only the first generation.
		if err2 := d.ioctl("PTP_CLOCK_GETCAPS", iocPtpClockGetcaps, unsafe.Pointer(&caps)); err2 != nil {
			k.close()
			if errors.Is(err2, ErrNotSupported) {
				return nil, fmt.Errorf("%s is not a PTP hardware clock: %w", path, err2)
			}
			return nil, err2
		}
	}
	d.caps = decodeCaps(&caps)
	return d, nil
}

// TimestampingInfo is what ETHTOOL_GET_TS_INFO says of an interface, as
// 'ethtool -T' prints it.
type TimestampingInfo struct {
	Interface      string
	SoTimestamping uint32 // SOF_TIMESTAMPING_* capabilities
	PHCIndex       int    // -1: no PHC
	TxTypes        uint32 // 1<<HWTSTAMP_TX_*
	RxFilters      uint32 // 1<<HWTSTAMP_FILTER_*
}

// InterfaceTimestamping asks the driver of ifname what it can timestamp
// and which PHC it has.
func InterfaceTimestamping(ifname string) (TimestampingInfo, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return TimestampingInfo{}, err
	}
	defer unix.Close(fd)
	info, err := unix.IoctlGetEthtoolTsInfo(fd, ifname)
	if err != nil {
		if errors.Is(err, unix.ENODEV) {
			return TimestampingInfo{}, fmt.Errorf("interface %s: %w: check the name with 'ip link'", ifname, ErrNoDevice)
		}
		return TimestampingInfo{}, fmt.Errorf("interface %s: ETHTOOL_GET_TS_INFO: %w", ifname, err)
	}
	return TimestampingInfo{Interface: ifname, SoTimestamping: info.So_timestamping, PHCIndex: int(info.Phc_index),
		TxTypes: info.Tx_types, RxFilters: info.Rx_filters}, nil
}

// OpenInterface opens the PHC of a network interface, as ptp4l -i does
// with hardware timestamping.
func OpenInterface(ifname string) (*Device, error) {
	info, err := InterfaceTimestamping(ifname)
	if err != nil {
		return nil, err
	}
	if info.PHCIndex < 0 {
		return nil, fmt.Errorf("no PTP hardware clock for %s: %w: the driver reports none; use software timestamping (-S) or the virtual clock (virtual_clock 1)", ifname, ErrNotSupported)
	}
	return Open(fmt.Sprintf("/dev/ptp%d", info.PHCIndex))
}

func (d *Device) ioctl(name string, req uintptr, arg unsafe.Pointer) error {
	var err error
	if d.fk != nil {
		err = d.fk.ioctl(req, arg)
	} else {
		// The emulated kernel works on a copy, so that arg does not
		// escape on the real path. An ioctl number carries the size of
		// its argument (_IOC_SIZE).
		size := req >> 16 & 0x3fff
		buf := make([]byte, size)
		copy(buf, unsafe.Slice((*byte)(arg), size))
		err = d.k.ioctl(req, unsafe.Pointer(&buf[0]))
		copy(unsafe.Slice((*byte)(arg), size), buf)
	}
	if err != nil {
		return ioctlErr(d.path, name, err)
	}
	return nil
}

// gettime is clock_gettime on the device's clock, on the caller's stack
// for a real device.
func (d *Device) gettime() (unix.Timespec, error) {
	if d.fk != nil {
		var ts unix.Timespec
		err := d.fk.clockGettime(&ts)
		return ts, err
	}
	ts := new(unix.Timespec)
	err := d.k.clockGettime(ts)
	return *ts, err
}

// adjtime is clock_adjtime on the device's clock with tx, likewise.
func (d *Device) adjtime(tx unix.Timex) (unix.Timex, error) {
	if d.fk != nil {
		_, err := d.fk.clockAdjtime(&tx)
		return tx, err
	}
	p := &unix.Timex{}
	*p = tx
	_, err := d.k.clockAdjtime(p)
	return *p, err
}

// Name implements Clock.
func (d *Device) Name() string { return d.path }

// Caps returns the capabilities read at Open.
func (d *Device) Caps() Caps { return d.caps }

// ClockID returns the dynamic POSIX clock id, for clock_gettime; -1 for
// an emulated PHC, which has none.
func (d *Device) ClockID() int32 { return d.clockid }

// Close closes the device.
func (d *Device) Close() error { return d.k.close() }

// Now implements Clock.
func (d *Device) Now() (time.Time, error) {
	ts, err := d.gettime()
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: clock_gettime: %w", d.path, err)
	}
	return time.Unix(ts.Sec, ts.Nsec), nil
}

// MaxFrequency implements Clock: the device's max_adj.
func (d *Device) MaxFrequency() float64 { return float64(d.caps.MaxAdj) }

// ppbToScaledPPM converts ppb to the kernel's frequency unit, ppm with a
// 16-bit binary fraction: 1 ppb is 65.536/1000 of a unit.
func ppbToScaledPPM(ppb float64) int64 { return int64(math.Round(ppb * 65.536)) }

// scaledPPMToPPB is ppbToScaledPPM's inverse.
func scaledPPMToPPB(v int64) float64 { return float64(v) / 65.536 }

// checkFrequency refuses what the device cannot do, naming it and its
// limit.
func checkFrequency(name string, ppb, max float64) error {
	if math.IsNaN(ppb) || math.Abs(ppb) > max {
		return fmt.Errorf("%s: %.0f ppb: %w (max_adj %.0f)", name, ppb, ErrFrequencyRange, max)
	}
	return nil
}

// AdjustFrequency implements Clock.
func (d *Device) AdjustFrequency(ppb float64) error {
	if err := checkFrequency(d.path, ppb, d.MaxFrequency()); err != nil {
		return err
	}
	if _, err := d.adjtime(unix.Timex{Modes: unix.ADJ_FREQUENCY, Freq: ppbToScaledPPM(ppb)}); err != nil {
		return d.adjErr("set the frequency", err)
	}
	return nil
}

// Frequency implements Clock.
func (d *Device) Frequency() (float64, error) {
	tx, err := d.adjtime(unix.Timex{})
	if err != nil {
		return 0, d.adjErr("read the frequency", err)
	}
	return scaledPPMToPPB(tx.Freq), nil
}

// Step implements Clock.
func (d *Device) Step(delta time.Duration) error {
	if _, err := d.adjtime(unix.Timex{Modes: unix.ADJ_SETOFFSET | unix.ADJ_NANO, Time: stepTimeval(delta)}); err != nil {
		return d.adjErr("step", err)
	}
	return nil
}

func (d *Device) adjErr(what string, err error) error {
	if errors.Is(err, unix.EPERM) {
		return fmt.Errorf("%s: cannot %s: %w: run as root or grant CAP_SYS_TIME", d.path, what, ErrPermission)
	}
	return fmt.Errorf("%s: cannot %s: %w", d.path, what, err)
}

var _ Clock = (*Device)(nil)
