package phc

import (
	"testing"
	"unsafe"

	"github.com/roko-network/roko-ptpd/internal/testenv"
)

// layoutProgram prints, for every constant, struct size and field offset
// the Go mirrors depend on, the kernel headers' value.
const layoutProgram = `#include <stdio.h>
#include <stddef.h>
#include <linux/ptp_clock.h>
#include <linux/pps.h>
#define V(name, expr) printf("%s %lu\n", name, (unsigned long)(expr))
#define S(t) V("sizeof " #t, sizeof(struct t))
#define O(t, f) V("offsetof " #t "." #f, offsetof(struct t, f))
int main(void) {
	S(ptp_clock_time); O(ptp_clock_time, sec); O(ptp_clock_time, nsec); O(ptp_clock_time, reserved);
	S(ptp_clock_caps); O(ptp_clock_caps, max_adj); O(ptp_clock_caps, n_alarm); O(ptp_clock_caps, n_ext_ts);
	O(ptp_clock_caps, n_per_out); O(ptp_clock_caps, pps); O(ptp_clock_caps, n_pins);
	O(ptp_clock_caps, cross_timestamping); O(ptp_clock_caps, adjust_phase);
	/* max_phase_adj (kernel 6.2+) follows adjust_phase, where older headers start rsv. */
	V("offsetof ptp_clock_caps.max_phase_adj", offsetof(struct ptp_clock_caps, adjust_phase) + sizeof(int));
	S(ptp_extts_request); O(ptp_extts_request, index); O(ptp_extts_request, flags);
	S(ptp_perout_request); O(ptp_perout_request, start); O(ptp_perout_request, phase); O(ptp_perout_request, period);
	O(ptp_perout_request, index); O(ptp_perout_request, flags); O(ptp_perout_request, on);
	S(ptp_sys_offset); O(ptp_sys_offset, n_samples); O(ptp_sys_offset, ts);
	S(ptp_sys_offset_extended); O(ptp_sys_offset_extended, n_samples); O(ptp_sys_offset_extended, ts);
	S(ptp_sys_offset_precise); O(ptp_sys_offset_precise, device); O(ptp_sys_offset_precise, sys_realtime); O(ptp_sys_offset_precise, sys_monoraw);
	S(ptp_pin_desc); O(ptp_pin_desc, name); O(ptp_pin_desc, index); O(ptp_pin_desc, func); O(ptp_pin_desc, chan);
	S(ptp_extts_event); O(ptp_extts_event, t); O(ptp_extts_event, index); O(ptp_extts_event, flags);
	V("PTP_MAX_SAMPLES", PTP_MAX_SAMPLES);
	V("PTP_ENABLE_FEATURE", PTP_ENABLE_FEATURE); V("PTP_RISING_EDGE", PTP_RISING_EDGE);
	V("PTP_FALLING_EDGE", PTP_FALLING_EDGE); V("PTP_STRICT_FLAGS", PTP_STRICT_FLAGS);
	V("PTP_PEROUT_ONE_SHOT", PTP_PEROUT_ONE_SHOT); V("PTP_PEROUT_DUTY_CYCLE", PTP_PEROUT_DUTY_CYCLE);
	V("PTP_PEROUT_PHASE", PTP_PEROUT_PHASE);
	V("PTP_PF_NONE", PTP_PF_NONE); V("PTP_PF_EXTTS", PTP_PF_EXTTS); V("PTP_PF_PEROUT", PTP_PF_PEROUT); V("PTP_PF_PHYSYNC", PTP_PF_PHYSYNC);
	V("PTP_CLOCK_GETCAPS", PTP_CLOCK_GETCAPS); V("PTP_EXTTS_REQUEST", PTP_EXTTS_REQUEST);
	V("PTP_PEROUT_REQUEST", PTP_PEROUT_REQUEST); V("PTP_ENABLE_PPS", PTP_ENABLE_PPS);
	V("PTP_SYS_OFFSET", PTP_SYS_OFFSET); V("PTP_PIN_GETFUNC", PTP_PIN_GETFUNC); V("PTP_PIN_SETFUNC", PTP_PIN_SETFUNC);
	V("PTP_SYS_OFFSET_PRECISE", PTP_SYS_OFFSET_PRECISE); V("PTP_SYS_OFFSET_EXTENDED", PTP_SYS_OFFSET_EXTENDED);
	V("PTP_CLOCK_GETCAPS2", PTP_CLOCK_GETCAPS2); V("PTP_EXTTS_REQUEST2", PTP_EXTTS_REQUEST2);
	V("PTP_PEROUT_REQUEST2", PTP_PEROUT_REQUEST2); V("PTP_ENABLE_PPS2", PTP_ENABLE_PPS2);
	V("PTP_SYS_OFFSET2", PTP_SYS_OFFSET2); V("PTP_PIN_GETFUNC2", PTP_PIN_GETFUNC2); V("PTP_PIN_SETFUNC2", PTP_PIN_SETFUNC2);
	V("PTP_SYS_OFFSET_PRECISE2", PTP_SYS_OFFSET_PRECISE2); V("PTP_SYS_OFFSET_EXTENDED2", PTP_SYS_OFFSET_EXTENDED2);
	S(pps_ktime); O(pps_ktime, sec); O(pps_ktime, nsec); O(pps_ktime, flags);
	S(pps_kinfo); O(pps_kinfo, assert_sequence); O(pps_kinfo, clear_sequence); O(pps_kinfo, assert_tu);
	O(pps_kinfo, clear_tu); O(pps_kinfo, current_mode);
	S(pps_kparams); O(pps_kparams, api_version); O(pps_kparams, mode); O(pps_kparams, assert_off_tu); O(pps_kparams, clear_off_tu);
	S(pps_fdata); O(pps_fdata, info); O(pps_fdata, timeout);
	V("PPS_CAPTUREASSERT", PPS_CAPTUREASSERT); V("PPS_CAPTURECLEAR", PPS_CAPTURECLEAR);
	V("PPS_OFFSETASSERT", PPS_OFFSETASSERT); V("PPS_OFFSETCLEAR", PPS_OFFSETCLEAR);
	V("PPS_ECHOASSERT", PPS_ECHOASSERT); V("PPS_ECHOCLEAR", PPS_ECHOCLEAR);
	V("PPS_CANWAIT", PPS_CANWAIT); V("PPS_CANPOLL", PPS_CANPOLL);
	V("PPS_TSFMT_TSPEC", PPS_TSFMT_TSPEC); V("PPS_TSFMT_NTPFP", PPS_TSFMT_NTPFP);
	V("PPS_TIME_INVALID", PPS_TIME_INVALID); V("PPS_API_VERS_1", PPS_API_VERS_1);
	V("PPS_GETPARAMS", PPS_GETPARAMS); V("PPS_SETPARAMS", PPS_SETPARAMS);
	V("PPS_GETCAP", PPS_GETCAP); V("PPS_FETCH", PPS_FETCH);
	return 0;
}
`

// goLayout is what the Go side believes, under the C program's names.
func goLayout() map[string]uint64 {
	var (
		ct ptpClockTime
		cc ptpClockCaps
		er ptpExttsRequest
		pr ptpPeroutRequest
		so ptpSysOffset
		se ptpSysOffsetExtended
		sp ptpSysOffsetPrecise
		pd ptpPinDesc
		ev ptpExttsEvent
		kt ppsKtime
		ki ppsKinfo
		kp ppsKparams
		fd ppsFdata
	)
	u := func(v uintptr) uint64 { return uint64(v) }
	return map[string]uint64{
		"sizeof ptp_clock_time": u(unsafe.Sizeof(ct)), "offsetof ptp_clock_time.sec": u(unsafe.Offsetof(ct.Sec)),
		"offsetof ptp_clock_time.nsec": u(unsafe.Offsetof(ct.Nsec)), "offsetof ptp_clock_time.reserved": u(unsafe.Offsetof(ct.Reserved)),
		"sizeof ptp_clock_caps": u(unsafe.Sizeof(cc)), "offsetof ptp_clock_caps.max_adj": u(unsafe.Offsetof(cc.MaxAdj)),
		"offsetof ptp_clock_caps.n_alarm": u(unsafe.Offsetof(cc.NAlarm)), "offsetof ptp_clock_caps.n_ext_ts": u(unsafe.Offsetof(cc.NExtTS)),
		"offsetof ptp_clock_caps.n_per_out": u(unsafe.Offsetof(cc.NPerOut)), "offsetof ptp_clock_caps.pps": u(unsafe.Offsetof(cc.PPS)),
		"offsetof ptp_clock_caps.n_pins": u(unsafe.Offsetof(cc.NPins)), "offsetof ptp_clock_caps.cross_timestamping": u(unsafe.Offsetof(cc.CrossTimestamping)),
		"offsetof ptp_clock_caps.adjust_phase": u(unsafe.Offsetof(cc.AdjustPhase)), "offsetof ptp_clock_caps.max_phase_adj": u(unsafe.Offsetof(cc.MaxPhaseAdj)),
		"sizeof ptp_extts_request": u(unsafe.Sizeof(er)), "offsetof ptp_extts_request.index": u(unsafe.Offsetof(er.Index)),
		"offsetof ptp_extts_request.flags": u(unsafe.Offsetof(er.Flags)),
		"sizeof ptp_perout_request":        u(unsafe.Sizeof(pr)), "offsetof ptp_perout_request.start": u(unsafe.Offsetof(pr.StartOrPhase)),
		"offsetof ptp_perout_request.phase": u(unsafe.Offsetof(pr.StartOrPhase)), "offsetof ptp_perout_request.period": u(unsafe.Offsetof(pr.Period)),
		"offsetof ptp_perout_request.index": u(unsafe.Offsetof(pr.Index)), "offsetof ptp_perout_request.flags": u(unsafe.Offsetof(pr.Flags)),
		"offsetof ptp_perout_request.on": u(unsafe.Offsetof(pr.On)),
		"sizeof ptp_sys_offset":          u(unsafe.Sizeof(so)), "offsetof ptp_sys_offset.n_samples": u(unsafe.Offsetof(so.NSamples)),
		"offsetof ptp_sys_offset.ts":     u(unsafe.Offsetof(so.TS)),
		"sizeof ptp_sys_offset_extended": u(unsafe.Sizeof(se)), "offsetof ptp_sys_offset_extended.n_samples": u(unsafe.Offsetof(se.NSamples)),
		"offsetof ptp_sys_offset_extended.ts": u(unsafe.Offsetof(se.TS)),
		"sizeof ptp_sys_offset_precise":       u(unsafe.Sizeof(sp)), "offsetof ptp_sys_offset_precise.device": u(unsafe.Offsetof(sp.Device)),
		"offsetof ptp_sys_offset_precise.sys_realtime": u(unsafe.Offsetof(sp.SysRealtime)), "offsetof ptp_sys_offset_precise.sys_monoraw": u(unsafe.Offsetof(sp.SysMonoraw)),
		"sizeof ptp_pin_desc": u(unsafe.Sizeof(pd)), "offsetof ptp_pin_desc.name": u(unsafe.Offsetof(pd.Name)),
		"offsetof ptp_pin_desc.index": u(unsafe.Offsetof(pd.Index)), "offsetof ptp_pin_desc.func": u(unsafe.Offsetof(pd.Func)),
		"offsetof ptp_pin_desc.chan": u(unsafe.Offsetof(pd.Chan)),
		"sizeof ptp_extts_event":     u(unsafe.Sizeof(ev)), "offsetof ptp_extts_event.t": u(unsafe.Offsetof(ev.T)),
		"offsetof ptp_extts_event.index": u(unsafe.Offsetof(ev.Index)), "offsetof ptp_extts_event.flags": u(unsafe.Offsetof(ev.Flags)),
		"PTP_MAX_SAMPLES":    ptpMaxSamples,
		"PTP_ENABLE_FEATURE": ptpEnableFeature, "PTP_RISING_EDGE": ptpRisingEdge, "PTP_FALLING_EDGE": ptpFallingEdge,
		"PTP_STRICT_FLAGS": ptpStrictFlags, "PTP_PEROUT_ONE_SHOT": ptpPeroutOneShot, "PTP_PEROUT_DUTY_CYCLE": ptpPeroutDutyCyc,
		"PTP_PEROUT_PHASE": ptpPeroutPhase,
		"PTP_PF_NONE":      uint64(PinNone), "PTP_PF_EXTTS": uint64(PinExtTS), "PTP_PF_PEROUT": uint64(PinPerOut), "PTP_PF_PHYSYNC": uint64(PinPhySync),
		"PTP_CLOCK_GETCAPS": u(iocPtpClockGetcaps), "PTP_EXTTS_REQUEST": u(iocPtpExttsRequest), "PTP_PEROUT_REQUEST": u(iocPtpPeroutRequest),
		"PTP_ENABLE_PPS": u(iocPtpEnablePPS), "PTP_SYS_OFFSET": u(iocPtpSysOffsetReq), "PTP_PIN_GETFUNC": u(iocPtpPinGetfunc),
		"PTP_PIN_SETFUNC": u(iocPtpPinSetfunc), "PTP_SYS_OFFSET_PRECISE": u(iocPtpSysOffsetPreciseReq), "PTP_SYS_OFFSET_EXTENDED": u(iocPtpSysOffsetExtReq),
		"PTP_CLOCK_GETCAPS2": u(iocPtpClockGetcaps2), "PTP_EXTTS_REQUEST2": u(iocPtpExttsRequest2), "PTP_PEROUT_REQUEST2": u(iocPtpPeroutRequest2),
		"PTP_ENABLE_PPS2": u(iocPtpEnablePPS2), "PTP_SYS_OFFSET2": u(iocPtpSysOffset2), "PTP_PIN_GETFUNC2": u(iocPtpPinGetfunc2),
		"PTP_PIN_SETFUNC2": u(iocPtpPinSetfunc2), "PTP_SYS_OFFSET_PRECISE2": u(iocPtpSysOffsetPrecise2), "PTP_SYS_OFFSET_EXTENDED2": u(iocPtpSysOffsetExtended2),
		"sizeof pps_ktime": u(unsafe.Sizeof(kt)), "offsetof pps_ktime.sec": u(unsafe.Offsetof(kt.Sec)),
		"offsetof pps_ktime.nsec": u(unsafe.Offsetof(kt.Nsec)), "offsetof pps_ktime.flags": u(unsafe.Offsetof(kt.Flags)),
		"sizeof pps_kinfo": u(unsafe.Sizeof(ki)), "offsetof pps_kinfo.assert_sequence": u(unsafe.Offsetof(ki.AssertSequence)),
		"offsetof pps_kinfo.clear_sequence": u(unsafe.Offsetof(ki.ClearSequence)), "offsetof pps_kinfo.assert_tu": u(unsafe.Offsetof(ki.AssertTu)),
		"offsetof pps_kinfo.clear_tu": u(unsafe.Offsetof(ki.ClearTu)), "offsetof pps_kinfo.current_mode": u(unsafe.Offsetof(ki.CurrentMode)),
		"sizeof pps_kparams": u(unsafe.Sizeof(kp)), "offsetof pps_kparams.api_version": u(unsafe.Offsetof(kp.APIVersion)),
		"offsetof pps_kparams.mode": u(unsafe.Offsetof(kp.Mode)), "offsetof pps_kparams.assert_off_tu": u(unsafe.Offsetof(kp.AssertOffTu)),
		"offsetof pps_kparams.clear_off_tu": u(unsafe.Offsetof(kp.ClearOffTu)),
		"sizeof pps_fdata":                  u(unsafe.Sizeof(fd)), "offsetof pps_fdata.info": u(unsafe.Offsetof(fd.Info)),
		"offsetof pps_fdata.timeout": u(unsafe.Offsetof(fd.Timeout)),
		"PPS_CAPTUREASSERT":          PPSCaptureAssert, "PPS_CAPTURECLEAR": PPSCaptureClear, "PPS_OFFSETASSERT": PPSOffsetAssert,
		"PPS_OFFSETCLEAR": PPSOffsetClear, "PPS_ECHOASSERT": PPSEchoAssert, "PPS_ECHOCLEAR": PPSEchoClear,
		"PPS_CANWAIT": PPSCanWait, "PPS_CANPOLL": PPSCanPoll, "PPS_TSFMT_TSPEC": PPSTsfmtTspec, "PPS_TSFMT_NTPFP": PPSTsfmtNtpfp,
		"PPS_TIME_INVALID": ppsTimeInvalid, "PPS_API_VERS_1": ppsAPIVers1,
		"PPS_GETPARAMS": u(ppsGetparams), "PPS_SETPARAMS": u(ppsSetparams), "PPS_GETCAP": u(ppsGetcap), "PPS_FETCH": u(ppsFetch),
	}
}

// TestKernelLayout compiles a C program against the installed kernel
// headers (linux-libc-dev) and checks every ioctl number, flag, struct size
// and field offset of the Go mirrors against it.
func TestKernelLayout(t *testing.T) {
	testenv.CheckKernelLayout(t, layoutProgram, goLayout(), "/usr/include/linux/ptp_clock.h", "/usr/include/linux/pps.h")
}
