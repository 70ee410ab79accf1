package phc

import (
	"encoding/binary"
	"errors"
	"os"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests cover the /dev/ptpN and /dev/ppsN paths without the
// hardware: the arguments each ioctl gets, the decoding of what each
// returns, and the errors for devices that are not there.

func TestFdToClockID(t *testing.T) {
	// FD_TO_CLOCKID(fd) = (~(clockid_t)fd << 3) | CLOCKFD, CLOCKFD = 3.
	assert.Equal(t, int32(-29), fdToClockID(3))
	assert.Equal(t, int32(-85), fdToClockID(10))
}

func TestScaledPPM(t *testing.T) {
	for _, tc := range []struct {
		ppb    float64
		scaled int64
	}{{1000, 65536}, {-1000, -65536}, {1, 66}, {62_499_999, 4_095_999_934}, {0, 0}} {
		assert.Equal(t, tc.scaled, ppbToScaledPPM(tc.ppb), "%v ppb", tc.ppb)
		assert.InDelta(t, tc.ppb, scaledPPMToPPB(tc.scaled), 0.01)
	}
	err := checkFrequency("/dev/ptp0", 62_500_001, 62_499_999)
	require.ErrorIs(t, err, ErrFrequencyRange)
	assert.Contains(t, err.Error(), "/dev/ptp0")
	assert.Contains(t, err.Error(), "max_adj 62499999")
	assert.NoError(t, checkFrequency("/dev/ptp0", -62_499_999, 62_499_999))
}

func TestDecodeCaps(t *testing.T) {
	raw := ptpClockCaps{MaxAdj: 999_999_999, NExtTS: 2, NPerOut: 4, PPS: 1, NPins: 4, CrossTimestamping: 1, AdjustPhase: 1, MaxPhaseAdj: 32767}
	assert.Equal(t, Caps{MaxAdj: 999_999_999, NExtTS: 2, NPerOut: 4, PPS: true, NPins: 4, CrossTimestamping: true, AdjustPhase: true, MaxPhaseAdj: 32767}, decodeCaps(&raw))
}

func ct(ns int64) ptpClockTime { return ptpClockTime{Sec: ns / 1e9, Nsec: uint32(ns % 1e9)} }

func TestSysOffsetSelection(t *testing.T) {
	base := int64(1_700_000_000) * 1e9
	t.Run("extended", func(t *testing.T) {
		var r ptpSysOffsetExtended
		r.NSamples = 3
		// (sys, phc, sys): windows 800, 200 and 500 ns; the phc is 37 s +
		// 1000 ns ahead in the 200 ns one.
		r.TS[0] = [3]ptpClockTime{ct(base), ct(base + 37e9 + 5000), ct(base + 800)}
		r.TS[1] = [3]ptpClockTime{ct(base + 1000), ct(base + 37e9 + 2100), ct(base + 1200)}
		r.TS[2] = [3]ptpClockTime{ct(base + 2000), ct(base + 37e9 + 9000), ct(base + 2500)}
		o, ok := fromExtended(&r)
		require.True(t, ok)
		assert.Equal(t, MethodExtended, o.Method)
		assert.Equal(t, 200*time.Nanosecond, o.Delay)
		assert.Equal(t, 37*time.Second+1000*time.Nanosecond, o.Offset)
		assert.Equal(t, base+1100, o.Time)
	})
	t.Run("basic", func(t *testing.T) {
		var r ptpSysOffset
		r.NSamples = 2
		for i, v := range []int64{base, base + 100 + 5, base + 300, base + 400 + 10, base + 450} {
			r.TS[i] = ct(v)
		}
		o, ok := fromBasic(&r)
		require.True(t, ok)
		assert.Equal(t, MethodBasic, o.Method)
		assert.Equal(t, 150*time.Nanosecond, o.Delay, "the second pair's window, 300..450")
		assert.Equal(t, time.Duration(base+410-(base+375)), o.Offset)
	})
	t.Run("backwards windows are skipped", func(t *testing.T) {
		var r ptpSysOffsetExtended
		r.NSamples = 1
		r.TS[0] = [3]ptpClockTime{ct(base + 10), ct(base), ct(base)}
		_, ok := fromExtended(&r)
		assert.False(t, ok)
	})
	t.Run("n_samples beyond the array is clamped", func(t *testing.T) {
		var r ptpSysOffsetExtended
		r.NSamples = 1000
		_, ok := fromExtended(&r)
		assert.True(t, ok)
	})
}

// fixedClock reads a fixed offset from the system clock.
type fixedClock struct {
	off time.Duration
	System
}

func (f *fixedClock) Now() (time.Time, error) { return time.Now().Add(f.off), nil }
func (f *fixedClock) Name() string            { return "fixed" }

func TestCompareClocks(t *testing.T) {
	sys, err := NewSystem()
	require.NoError(t, err)
	o, err := CompareClocks(&fixedClock{off: 5 * time.Millisecond}, sys, 10)
	require.NoError(t, err)
	assert.Equal(t, MethodRead, o.Method)
	assert.InDelta(t, float64(5*time.Millisecond), float64(o.Offset), float64(20*time.Microsecond))
	v, err := NewVirtual(VirtualConfig{Offset: -2 * time.Second})
	require.NoError(t, err)
	o, err = CompareClocks(v, sys, 10)
	require.NoError(t, err)
	assert.InDelta(t, float64(-2*time.Second), float64(o.Offset), float64(5*time.Microsecond))
	assert.Less(t, o.Delay, 100*time.Microsecond)
	_, err = CompareClocks(v, sys, 0)
	assert.Error(t, err)
}

func TestExtTS(t *testing.T) {
	r := extTSRequest(1, RisingEdge, true)
	assert.Equal(t, ptpExttsRequest{Index: 1, Flags: ptpEnableFeature | ptpRisingEdge | ptpStrictFlags}, r)
	assert.Equal(t, ptpExttsRequest{Index: 1}, extTSRequest(1, BothEdges, false))

	b := make([]byte, 2*exttsEventLen)
	put := func(b []byte, sec int64, nsec, idx uint32) {
		binary.NativeEndian.PutUint64(b[0:], uint64(sec))
		binary.NativeEndian.PutUint32(b[8:], nsec)
		binary.NativeEndian.PutUint32(b[16:], idx)
	}
	put(b, 1_700_000_000, 999_999_999, 0)
	put(b[exttsEventLen:], 1_700_000_001, 12, 1)
	evs, err := decodeExtTSEvents(b, nil)
	require.NoError(t, err)
	assert.Equal(t, []ExtTSEvent{{0, 1_700_000_000_999_999_999}, {1, 1_700_000_001_000_000_012}}, evs)
	_, err = decodeExtTSEvents(b[:exttsEventLen+3], nil)
	assert.Error(t, err)
	assert.Equal(t, 32, exttsEventLen)
}

func TestPerOut(t *testing.T) {
	r := perOutRequest(2, 0, time.Second, 250*time.Millisecond, 100*time.Millisecond, true)
	assert.Equal(t, uint32(2), r.Index)
	assert.Equal(t, uint32(ptpPeroutPhase|ptpPeroutDutyCyc), r.Flags)
	assert.Equal(t, ptpClockTime{Sec: 1}, r.Period)
	assert.Equal(t, ptpClockTime{Nsec: 250_000_000}, r.StartOrPhase)
	assert.Equal(t, ptpClockTime{Nsec: 100_000_000}, r.On)
	r = perOutRequest(0, 1_700_000_002*time.Second, 500*time.Millisecond, 0, 0, false)
	assert.Zero(t, r.Flags)
	assert.Equal(t, ptpClockTime{Sec: 1_700_000_002}, r.StartOrPhase)
}

func TestPPSFetchArgs(t *testing.T) {
	f := fetchArg(-1)
	assert.Equal(t, uint32(ppsTimeInvalid), f.Timeout.Flags, "wait forever")
	f = fetchArg(1500 * time.Millisecond)
	assert.Equal(t, ppsKtime{Sec: 1, Nsec: 500_000_000}, f.Timeout)
	f.Info = ppsKinfo{AssertSequence: 7, AssertTu: ppsKtime{Sec: 1_700_000_000, Nsec: 12}, ClearSequence: 6, ClearTu: ppsKtime{Sec: 1_699_999_999, Nsec: 500_000_000}, CurrentMode: PPSCaptureAssert | PPSTsfmtTspec}
	e := decodeFetch(&f)
	assert.Equal(t, PPSEvent{AssertSequence: 7, Assert: 1_700_000_000_000_000_012, ClearSequence: 6, Clear: 1_699_999_999_500_000_000, Mode: PPSCaptureAssert | PPSTsfmtTspec}, e)
	assert.Equal(t, uintptr(48), unsafe.Sizeof(ppsKinfo{}))
}

func TestMissingDevices(t *testing.T) {
	_, err := Open("/dev/ptp99")
	require.ErrorIs(t, err, ErrNoDevice)
	assert.Contains(t, err.Error(), "/dev/ptp99")
	assert.Contains(t, err.Error(), "software timestamping (-S)")

	_, err = OpenPPS("/dev/pps99")
	require.ErrorIs(t, err, ErrNoDevice)
	assert.Contains(t, err.Error(), "/dev/pps99")

	// A character device that is no PHC answers the caps ioctl with ENOTTY.
	_, err = Open(os.DevNull)
	require.ErrorIs(t, err, ErrNotSupported)
	assert.Contains(t, err.Error(), "/dev/null is not a PTP hardware clock")

	_, err = OpenInterface("nosuch0")
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrNoDevice), "%v", err)

	// The loopback interface has no PHC.
	info, err := InterfaceTimestamping("lo")
	require.NoError(t, err)
	assert.Equal(t, -1, info.PHCIndex)
	_, err = OpenInterface("lo")
	require.ErrorIs(t, err, ErrNotSupported)
	assert.Equal(t, "no PTP hardware clock for lo: not supported by the device: the driver reports none; use software timestamping (-S) or the virtual clock (virtual_clock 1)", err.Error())
}

// TestErrorMapping: what an unprivileged caller or an unsupported ioctl
// gets back, without needing either situation on this machine.
func TestErrorMapping(t *testing.T) {
	err := openErr("/dev/ptp0", os.ErrPermission)
	require.ErrorIs(t, err, ErrPermission)
	assert.Contains(t, err.Error(), "run as root or grant CAP_SYS_TIME")
	err = ioctlErr("/dev/ptp0", "PTP_SYS_OFFSET_EXTENDED2", unix.EOPNOTSUPP)
	require.ErrorIs(t, err, ErrNotSupported)
	assert.Contains(t, err.Error(), "/dev/ptp0: PTP_SYS_OFFSET_EXTENDED2")
	err = ioctlErr("/dev/ptp0", "PTP_PIN_SETFUNC2", unix.EPERM)
	require.ErrorIs(t, err, ErrPermission)
	d := &Device{path: "/dev/ptp0"}
	err = d.adjErr("set the frequency", unix.EPERM)
	require.ErrorIs(t, err, ErrPermission)
	assert.Equal(t, "/dev/ptp0: cannot set the frequency: permission denied: run as root or grant CAP_SYS_TIME", err.Error())
	s := &System{}
	require.ErrorIs(t, s.adjErr("step", unix.EPERM), ErrPermission)
	// Channels the device does not have are refused before any ioctl.
	d.caps = Caps{NExtTS: 1, NPerOut: 1, NPins: 2}
	assert.ErrorIs(t, d.EnableExtTS(1, RisingEdge), ErrNotSupported)
	assert.ErrorIs(t, d.SetPPSOutput(3, 0, time.Millisecond), ErrNotSupported)
	assert.ErrorIs(t, d.SetPin(2, PinExtTS, 0), ErrNotSupported)
	assert.ErrorIs(t, d.EnablePPS(true), ErrNotSupported)
}
