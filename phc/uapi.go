package phc

import "unsafe"

// Mirrors of the kernel's user API for PTP hardware clocks
// (linux/ptp_clock.h) and PPS sources (linux/pps.h). layout_test.go checks
// every size, offset and number here against the installed headers.

// ptpClockTime is struct ptp_clock_time.
type ptpClockTime struct {
	Sec      int64
	Nsec     uint32
	Reserved uint32
}

// ptpClockCaps is struct ptp_clock_caps. MaxPhaseAdj (kernel 6.2+) sits in
// what older headers call rsv[0].
type ptpClockCaps struct {
	MaxAdj            int32
	NAlarm            int32
	NExtTS            int32
	NPerOut           int32
	PPS               int32
	NPins             int32
	CrossTimestamping int32
	AdjustPhase       int32
	MaxPhaseAdj       int32
	Rsv               [11]int32
}

// ptpExttsRequest is struct ptp_extts_request.
type ptpExttsRequest struct {
	Index uint32
	Flags uint32
	Rsv   [2]uint32
}

// ptpPeroutRequest is struct ptp_perout_request; StartOrPhase is the
// start/phase union, On the on/rsv union.
type ptpPeroutRequest struct {
	StartOrPhase ptpClockTime
	Period       ptpClockTime
	Index        uint32
	Flags        uint32
	On           ptpClockTime
}

// ptpMaxSamples is PTP_MAX_SAMPLES.
const ptpMaxSamples = 25

// ptpSysOffset is struct ptp_sys_offset: n_samples pairs of (system, phc)
// readings and a final system reading, interleaved.
type ptpSysOffset struct {
	NSamples uint32
	Rsv      [3]uint32
	TS       [2*ptpMaxSamples + 1]ptpClockTime
}

// ptpSysOffsetExtended is struct ptp_sys_offset_extended: (system, phc,
// system) triples.
type ptpSysOffsetExtended struct {
	NSamples uint32
	Rsv      [3]uint32
	TS       [ptpMaxSamples][3]ptpClockTime
}

// ptpSysOffsetPrecise is struct ptp_sys_offset_precise.
type ptpSysOffsetPrecise struct {
	Device      ptpClockTime
	SysRealtime ptpClockTime
	SysMonoraw  ptpClockTime
	Rsv         [4]uint32
}

// ptpPinDesc is struct ptp_pin_desc.
type ptpPinDesc struct {
	Name  [64]byte
	Index uint32
	Func  uint32
	Chan  uint32
	Rsv   [5]uint32
}

// ptpExttsEvent is struct ptp_extts_event, as read(2) returns them.
type ptpExttsEvent struct {
	T     ptpClockTime
	Index uint32
	Flags uint32
	Rsv   [2]uint32
}

// Flags of PTP_EXTTS_REQUEST and PTP_PEROUT_REQUEST.
const (
	ptpEnableFeature = 1 << 0 // PTP_ENABLE_FEATURE
	ptpRisingEdge    = 1 << 1 // PTP_RISING_EDGE
	ptpFallingEdge   = 1 << 2 // PTP_FALLING_EDGE
	ptpStrictFlags   = 1 << 3 // PTP_STRICT_FLAGS
	ptpPeroutOneShot = 1 << 0 // PTP_PEROUT_ONE_SHOT
	ptpPeroutDutyCyc = 1 << 1 // PTP_PEROUT_DUTY_CYCLE
	ptpPeroutPhase   = 1 << 2 // PTP_PEROUT_PHASE
)

// PinFunction is enum ptp_pin_function.
type PinFunction uint32

// Pin functions.
const (
	PinNone    PinFunction = 0 // PTP_PF_NONE
	PinExtTS   PinFunction = 1 // PTP_PF_EXTTS: timestamp an external signal
	PinPerOut  PinFunction = 2 // PTP_PF_PEROUT: drive a periodic signal
	PinPhySync PinFunction = 3 // PTP_PF_PHYSYNC
)

// String names the function as testptp does.
func (f PinFunction) String() string {
	switch f {
	case PinNone:
		return "none"
	case PinExtTS:
		return "extts"
	case PinPerOut:
		return "perout"
	case PinPhySync:
		return "physync"
	}
	return "unknown"
}

// ioctl request encoding (asm-generic/ioctl.h).
const (
	iocWrite = 1
	iocRead  = 2
)

const ptpClkMagic = '='

// PTP clock ioctls: the "2" generation, which checks reserved fields and
// flags strictly, and the originals.
const (
	iocPtpClockGetcaps        = (iocRead)<<30 | unsafe.Sizeof(ptpClockCaps{})<<16 | ptpClkMagic<<8 | 1
	iocPtpExttsRequest        = (iocWrite)<<30 | unsafe.Sizeof(ptpExttsRequest{})<<16 | ptpClkMagic<<8 | 2
	iocPtpPeroutRequest       = (iocWrite)<<30 | unsafe.Sizeof(ptpPeroutRequest{})<<16 | ptpClkMagic<<8 | 3
	iocPtpEnablePPS           = (iocWrite)<<30 | unsafe.Sizeof(int32(0))<<16 | ptpClkMagic<<8 | 4
	iocPtpSysOffsetReq        = (iocWrite)<<30 | unsafe.Sizeof(ptpSysOffset{})<<16 | ptpClkMagic<<8 | 5
	iocPtpPinGetfunc          = (iocRead|iocWrite)<<30 | unsafe.Sizeof(ptpPinDesc{})<<16 | ptpClkMagic<<8 | 6
	iocPtpPinSetfunc          = (iocWrite)<<30 | unsafe.Sizeof(ptpPinDesc{})<<16 | ptpClkMagic<<8 | 7
	iocPtpSysOffsetPreciseReq = (iocRead|iocWrite)<<30 | unsafe.Sizeof(ptpSysOffsetPrecise{})<<16 | ptpClkMagic<<8 | 8
	iocPtpSysOffsetExtReq     = (iocRead|iocWrite)<<30 | unsafe.Sizeof(ptpSysOffsetExtended{})<<16 | ptpClkMagic<<8 | 9

	iocPtpClockGetcaps2      = (iocRead)<<30 | unsafe.Sizeof(ptpClockCaps{})<<16 | ptpClkMagic<<8 | 10
	iocPtpExttsRequest2      = (iocWrite)<<30 | unsafe.Sizeof(ptpExttsRequest{})<<16 | ptpClkMagic<<8 | 11
	iocPtpPeroutRequest2     = (iocWrite)<<30 | unsafe.Sizeof(ptpPeroutRequest{})<<16 | ptpClkMagic<<8 | 12
	iocPtpEnablePPS2         = (iocWrite)<<30 | unsafe.Sizeof(int32(0))<<16 | ptpClkMagic<<8 | 13
	iocPtpSysOffset2         = (iocWrite)<<30 | unsafe.Sizeof(ptpSysOffset{})<<16 | ptpClkMagic<<8 | 14
	iocPtpPinGetfunc2        = (iocRead|iocWrite)<<30 | unsafe.Sizeof(ptpPinDesc{})<<16 | ptpClkMagic<<8 | 15
	iocPtpPinSetfunc2        = (iocWrite)<<30 | unsafe.Sizeof(ptpPinDesc{})<<16 | ptpClkMagic<<8 | 16
	iocPtpSysOffsetPrecise2  = (iocRead|iocWrite)<<30 | unsafe.Sizeof(ptpSysOffsetPrecise{})<<16 | ptpClkMagic<<8 | 17
	iocPtpSysOffsetExtended2 = (iocRead|iocWrite)<<30 | unsafe.Sizeof(ptpSysOffsetExtended{})<<16 | ptpClkMagic<<8 | 18
)

// ppsKtime is struct pps_ktime.
type ppsKtime struct {
	Sec   int64
	Nsec  int32
	Flags uint32
}

// ppsKinfo is struct pps_kinfo.
type ppsKinfo struct {
	AssertSequence uint32
	ClearSequence  uint32
	AssertTu       ppsKtime
	ClearTu        ppsKtime
	CurrentMode    int32
	_              [4]byte // the kernel's struct is padded to 8 octets
}

// ppsKparams is struct pps_kparams.
type ppsKparams struct {
	APIVersion  int32
	Mode        int32
	AssertOffTu ppsKtime
	ClearOffTu  ppsKtime
}

// ppsFdata is struct pps_fdata.
type ppsFdata struct {
	Info    ppsKinfo
	Timeout ppsKtime
}

// PPS mode bits (RFC 2783 as linux/pps.h spells them).
const (
	PPSCaptureAssert = 0x01   // PPS_CAPTUREASSERT
	PPSCaptureClear  = 0x02   // PPS_CAPTURECLEAR
	PPSOffsetAssert  = 0x10   // PPS_OFFSETASSERT
	PPSOffsetClear   = 0x20   // PPS_OFFSETCLEAR
	PPSEchoAssert    = 0x40   // PPS_ECHOASSERT
	PPSEchoClear     = 0x80   // PPS_ECHOCLEAR
	PPSCanWait       = 0x100  // PPS_CANWAIT
	PPSCanPoll       = 0x200  // PPS_CANPOLL
	PPSTsfmtTspec    = 0x1000 // PPS_TSFMT_TSPEC
	PPSTsfmtNtpfp    = 0x2000 // PPS_TSFMT_NTPFP
	ppsTimeInvalid   = 1 << 0 // PPS_TIME_INVALID: no timeout
	ppsAPIVers1      = 1      // PPS_API_VERS_1
)

// PPS ioctls. The kernel declares their argument as a pointer type, so the
// size encoded is a pointer's, not the struct's.
const (
	ppsGetparams = (iocRead)<<30 | unsafe.Sizeof(uintptr(0))<<16 | 'p'<<8 | 0xa1
	ppsSetparams = (iocWrite)<<30 | unsafe.Sizeof(uintptr(0))<<16 | 'p'<<8 | 0xa2
	ppsGetcap    = (iocRead)<<30 | unsafe.Sizeof(uintptr(0))<<16 | 'p'<<8 | 0xa3
	ppsFetch     = (iocRead|iocWrite)<<30 | unsafe.Sizeof(uintptr(0))<<16 | 'p'<<8 | 0xa4
)
