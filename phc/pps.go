package phc

import (
	"errors"
	"fmt"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// PPS is a /dev/ppsN source (RFC 2783 as Linux implements it): the kernel
// timestamps each pulse on CLOCK_REALTIME. It is also the handle on an
// emulated source (CreateEmulatedPPS), which answers the same ioctls.
type PPS struct {
	path string
	k    ppsKernel
}

// ppsKernel is the lowest seam of a PPS source: its ioctls, answered by a
// real /dev/ppsN (fileKernel) or by the emulation (emulated_pps.go) with
// the same UAPI structs and errno values.
type ppsKernel interface {
	ioctl(req uintptr, arg unsafe.Pointer) error
	close() error
}

// PPSParams are a source's parameters (PPS_GETPARAMS/SETPARAMS).
type PPSParams struct {
	Mode         int32         // PPSCapture*, PPSOffset*, PPSEcho*, PPSTsfmt*
	AssertOffset time.Duration // compensation for assert events
	ClearOffset  time.Duration // compensation for clear events
}

// PPSEvent is what PPS_FETCH returns: the last assert and clear edges and
// their sequence numbers.
type PPSEvent struct {
	AssertSequence uint32
	Assert         int64 // ns since the epoch, CLOCK_REALTIME
	ClearSequence  uint32
	Clear          int64
	Mode           int32
}

// PPSOpenFlags is how OpenPPS opens /dev/ppsN: read-only, as phc2sys does.
// The kernel checks no access mode on the PPS ioctls (PPS_SETPARAMS and
// PPS_KC_BIND want CAP_SYS_TIME instead), so writing is never needed, and
// a read-only open is what dist/systemd's DeviceAllow=char-pps r grants.
const PPSOpenFlags = os.O_RDONLY

// OpenPPS opens a PPS source: /dev/ppsN, or a regular file that is an
// emulated source's state file (CreateEmulatedPPS), recognised by its
// magic, for which only the kernel's answers are emulated.
func OpenPPS(path string) (*PPS, error) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		k, err := openEmulatedPPSKernel(path)
		if err != nil {
			return nil, err
		}
		return &PPS{path: path, k: k}, nil
	}
	f, err := os.OpenFile(path, PPSOpenFlags, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, missingError{path + ": no such PPS source: load the driver that provides it (pps-gpio, pps-ldisc) or timestamp the pulse on the PHC's EXTTS pin instead"}
		}
		return nil, openErr(path, err)
	}
	// A read-only open succeeds on a directory, which O_RDWR refused:
	// refuse anything that is not a device here instead.
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		f.Close()
		return nil, fmt.Errorf("%s: not a PPS source: neither a character device (/dev/ppsN) nor an emulated source's state file", path)
	}
	return &PPS{path: path, k: &fileKernel{f: f, clockid: -1}}, nil
}

// missingError is ErrNoDevice in words that fit a PPS source.
type missingError struct{ msg string }

func (e missingError) Error() string { return e.msg }
func (e missingError) Unwrap() error { return ErrNoDevice }

// Close closes the source.
func (p *PPS) Close() error { return p.k.close() }

func (p *PPS) ioctl(name string, req uintptr, arg unsafe.Pointer) error {
	if err := p.k.ioctl(req, arg); err != nil {
		var e unix.Errno
		if errors.As(err, &e) {
			return ioctlErr(p.path, name, e)
		}
		return err
	}
	return nil
}

// Caps returns the source's capability bits (PPS_GETCAP).
func (p *PPS) Caps() (int32, error) {
	var c int32
	err := p.ioctl("PPS_GETCAP", ppsGetcap, unsafe.Pointer(&c))
	return c, err
}

func ktimeNs(k ppsKtime) int64 { return k.Sec*1e9 + int64(k.Nsec) }
func nsKtime(d time.Duration) ppsKtime {
	return ppsKtime{Sec: int64(d / time.Second), Nsec: int32(d % time.Second)}
}
func durKtime(k ppsKtime) time.Duration { return time.Duration(ktimeNs(k)) }

// Params reads the parameters.
func (p *PPS) Params() (PPSParams, error) {
	var k ppsKparams
	if err := p.ioctl("PPS_GETPARAMS", ppsGetparams, unsafe.Pointer(&k)); err != nil {
		return PPSParams{}, err
	}
	return PPSParams{Mode: k.Mode, AssertOffset: durKtime(k.AssertOffTu), ClearOffset: durKtime(k.ClearOffTu)}, nil
}

// SetParams sets the parameters (needs CAP_SYS_TIME).
func (p *PPS) SetParams(pp PPSParams) error {
	k := ppsKparams{APIVersion: ppsAPIVers1, Mode: pp.Mode, AssertOffTu: nsKtime(pp.AssertOffset), ClearOffTu: nsKtime(pp.ClearOffset)}
	return p.ioctl("PPS_SETPARAMS", ppsSetparams, unsafe.Pointer(&k))
}

// fetchArg builds PPS_FETCH's argument: a negative timeout waits forever.
func fetchArg(timeout time.Duration) ppsFdata {
	var f ppsFdata
	if timeout < 0 {
		f.Timeout.Flags = ppsTimeInvalid
	} else {
		f.Timeout = nsKtime(timeout)
	}
	return f
}

func decodeFetch(f *ppsFdata) PPSEvent {
	return PPSEvent{
		AssertSequence: f.Info.AssertSequence, Assert: ktimeNs(f.Info.AssertTu),
		ClearSequence: f.Info.ClearSequence, Clear: ktimeNs(f.Info.ClearTu), Mode: f.Info.CurrentMode,
	}
}

// Fetch waits up to timeout (negative: forever) for the next event and
// returns the latest edges (PPS_FETCH).
func (p *PPS) Fetch(timeout time.Duration) (PPSEvent, error) {
	f := fetchArg(timeout)
	if err := p.ioctl("PPS_FETCH", ppsFetch, unsafe.Pointer(&f)); err != nil {
		if errors.Is(err, unix.ETIMEDOUT) {
			return PPSEvent{}, fmt.Errorf("%s: no pulse within %v: %w", p.path, timeout, err)
		}
		return PPSEvent{}, err
	}
	return decodeFetch(&f), nil
}
