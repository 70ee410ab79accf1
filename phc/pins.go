package phc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Pin is one of a PHC's configurable pins (SDP).
type Pin struct {
	Name     string
	Index    uint32
	Function PinFunction
	Channel  uint32
}

// Pins lists the device's pins and what each does now (PTP_PIN_GETFUNC2).
func (d *Device) Pins() ([]Pin, error) {
	pins := make([]Pin, 0, d.caps.NPins)
	for i := range uint32(max(d.caps.NPins, 0)) {
		desc := ptpPinDesc{Index: i}
		if err := d.ioctl("PTP_PIN_GETFUNC2", iocPtpPinGetfunc2, unsafe.Pointer(&desc)); err != nil {
			return nil, err
		}
		name := desc.Name[:]
		if k := bytes.IndexByte(name, 0); k >= 0 {
			name = name[:k]
		}
		pins = append(pins, Pin{Name: string(name), Index: desc.Index, Function: PinFunction(desc.Func), Channel: desc.Chan})
	}
	return pins, nil
}

// SetPin assigns a function and channel to pin index (PTP_PIN_SETFUNC2),
// for example EXTTS channel 0 for a GNSS receiver's PPS output.
func (d *Device) SetPin(index uint32, f PinFunction, channel uint32) error {
	if int(index) >= int(d.caps.NPins) {
		return fmt.Errorf("%s: pin %d: %w (the device has %d pins)", d.path, index, ErrNotSupported, d.caps.NPins)
	}
	desc := ptpPinDesc{Index: index, Func: uint32(f), Chan: channel}
	return d.ioctl("PTP_PIN_SETFUNC2", iocPtpPinSetfunc2, unsafe.Pointer(&desc))
}

// Edges selects which edges of an external signal are timestamped.
type Edges uint32

// Edges.
const (
	RisingEdge  Edges = ptpRisingEdge
	FallingEdge Edges = ptpFallingEdge
	BothEdges         = RisingEdge | FallingEdge
)

// extTSRequest builds a PTP_EXTTS_REQUEST2 argument.
func extTSRequest(channel uint32, edges Edges, enable bool) ptpExttsRequest {
	r := ptpExttsRequest{Index: channel}
	if enable {
		// Strict: a driver that cannot honour the edges refuses rather
		// than timestamping others.
		r.Flags = ptpEnableFeature | uint32(edges) | ptpStrictFlags
	}
	return r
}

// EnableExtTS starts timestamping edges on an external timestamp channel;
// the events are read with ReadExtTS.
func (d *Device) EnableExtTS(channel uint32, edges Edges) error {
	if int(channel) >= int(d.caps.NExtTS) {
		return fmt.Errorf("%s: EXTTS channel %d: %w (the device has %d)", d.path, channel, ErrNotSupported, d.caps.NExtTS)
	}
	r := extTSRequest(channel, edges, true)
	return d.ioctl("PTP_EXTTS_REQUEST2", iocPtpExttsRequest2, unsafe.Pointer(&r))
}

// DisableExtTS stops an external timestamp channel.
func (d *Device) DisableExtTS(channel uint32) error {
	r := extTSRequest(channel, 0, false)
	return d.ioctl("PTP_EXTTS_REQUEST2", iocPtpExttsRequest2, unsafe.Pointer(&r))
}

// ExtTSEvent is one external timestamp: the PHC's time of an edge on a
// channel.
type ExtTSEvent struct {
	Channel uint32
	Time    int64 // ns since the epoch on the PHC
}

// exttsEventLen is sizeof(struct ptp_extts_event).
const exttsEventLen = int(unsafe.Sizeof(ptpExttsEvent{}))

// decodeExtTSEvents appends the whole events in b to evs; a trailing
// partial record is an error (the kernel never returns one).
func decodeExtTSEvents(b []byte, evs []ExtTSEvent) ([]ExtTSEvent, error) {
	if len(b)%exttsEventLen != 0 {
		return evs, fmt.Errorf("extts: %d bytes is not a whole number of %d-byte events", len(b), exttsEventLen)
	}
	for ; len(b) > 0; b = b[exttsEventLen:] {
		sec := int64(binary.NativeEndian.Uint64(b[0:8]))
		nsec := binary.NativeEndian.Uint32(b[8:12])
		idx := binary.NativeEndian.Uint32(b[16:20])
		evs = append(evs, ExtTSEvent{Channel: idx, Time: sec*1e9 + int64(nsec)})
	}
	return evs, nil
}

// ReadExtTS waits up to timeout for external timestamp events and returns
// those that arrived (none on timeout).
func (d *Device) ReadExtTS(timeout time.Duration) ([]ExtTSEvent, error) {
	buf := make([]byte, 16*exttsEventLen)
	n, rerr := d.k.readEvents(buf, timeout)
	if rerr != nil {
		if errors.Is(rerr, unix.EINTR) {
			return nil, nil
		}
		return nil, fmt.Errorf("%s: reading external timestamps: %w", d.path, rerr)
	}
	return decodeExtTSEvents(buf[:n], nil)
}

// perOutRequest builds a PTP_PEROUT_REQUEST2 argument. With usePhase the
// signal starts at any whole period plus phase; otherwise at start.
func perOutRequest(channel uint32, start, period, phase, on time.Duration, usePhase bool) ptpPeroutRequest {
	ct := func(d time.Duration) ptpClockTime {
		return ptpClockTime{Sec: int64(d / time.Second), Nsec: uint32(d % time.Second)}
	}
	r := ptpPeroutRequest{Index: channel, Period: ct(period)}
	if usePhase {
		r.Flags |= ptpPeroutPhase
		r.StartOrPhase = ct(phase)
	} else {
		r.StartOrPhase = ct(start)
	}
	if on > 0 {
		r.Flags |= ptpPeroutDutyCyc
		r.On = ct(on)
	}
	return r
}

// SetPeriodicOutput drives a periodic signal on a PEROUT channel from
// start (PHC time since the epoch), with the given period and high time
// (0 leaves the duty cycle to the driver). A zero period stops it.
func (d *Device) SetPeriodicOutput(channel uint32, start time.Duration, period, on time.Duration) error {
	if int(channel) >= int(d.caps.NPerOut) {
		return fmt.Errorf("%s: PEROUT channel %d: %w (the device has %d)", d.path, channel, ErrNotSupported, d.caps.NPerOut)
	}
	r := perOutRequest(channel, start, period, 0, on, false)
	return d.ioctl("PTP_PEROUT_REQUEST2", iocPtpPeroutRequest2, unsafe.Pointer(&r))
}

// SetPPSOutput drives one pulse per second on a PEROUT channel, each pulse
// starting phase after the PHC's second, high for width.
func (d *Device) SetPPSOutput(channel uint32, phase, width time.Duration) error {
	if int(channel) >= int(d.caps.NPerOut) {
		return fmt.Errorf("%s: PEROUT channel %d: %w (the device has %d)", d.path, channel, ErrNotSupported, d.caps.NPerOut)
	}
	r := perOutRequest(channel, 0, time.Second, phase, width, true)
	return d.ioctl("PTP_PEROUT_REQUEST2", iocPtpPeroutRequest2, unsafe.Pointer(&r))
}

// EnablePPS turns the PHC's PPS event to the kernel on or off
// (PTP_ENABLE_PPS2), for the kernel's own PPS discipline.
func (d *Device) EnablePPS(on bool) error {
	if !d.caps.PPS {
		return fmt.Errorf("%s: PPS: %w", d.path, ErrNotSupported)
	}
	// The ioctl takes the value itself, not a pointer.
	v := uintptr(0)
	if on {
		v = 1
	}
	if err := d.k.ioctlValue(iocPtpEnablePPS2, v); err != nil {
		return ioctlErr(d.path, "PTP_ENABLE_PPS2", err)
	}
	return nil
}
