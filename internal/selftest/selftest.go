// Package selftest is roko-ptpctl selftest: what a validator runs on its
// own host before it switches from ptp4l, to learn whether the NIC and its
// driver give roko-ptpd what hardware timestamping needs. Each check says
// PASS, WARN, FAIL or SKIP (not tried, because an earlier check failed),
// what it saw, and on anything but PASS what to do.
//
// It examines the host through the same code the daemon runs (package
// phc and transport), so a PASS means the daemon's own calls work. It
// changes nothing it does not put back: the PHC's frequency is restored,
// the clock is never stepped, and the few PTP frames it sends are in a
// domain and with a majorSdoId that no PTP clock listens to.
package selftest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/transport"
)

// Status is a check's verdict.
type Status string

// Verdicts.
const (
	Pass Status = "PASS"
	Warn Status = "WARN"
	Fail Status = "FAIL"
	Skip Status = "SKIP"
)

// Check is one line of the report.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Report is the whole self-test of one interface.
type Report struct {
	Interface string  `json:"interface"`
	Checks    []Check `json:"checks"`
}

// Failed reports whether any check failed.
func (r *Report) Failed() bool {
	return slices.ContainsFunc(r.Checks, func(c Check) bool { return c.Status == Fail })
}

// WriteText prints the report, a line a check and the fix under it.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "roko-ptpctl selftest %s\n", r.Interface)
	for _, c := range r.Checks {
		fmt.Fprintf(w, "%-4s  %-22s %s\n", c.Status, c.Name, c.Detail)
		if c.Fix != "" {
			fmt.Fprintf(w, "      %-22s fix: %s\n", "", c.Fix)
		}
	}
	verdict := "every check passed"
	if r.Failed() {
		verdict = "FAILED: roko-ptpd cannot use hardware timestamping on " + r.Interface + " as it is"
	}
	fmt.Fprintln(w, verdict)
}

// WriteJSON prints the report as JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// Host is what the self-test examines: the kernel's devices, or emulated
// ones (roko-ptpd's emulated hardware).
type Host struct {
	// Timestamping answers ETHTOOL_GET_TS_INFO.
	Timestamping func(ifname string) (phc.TimestampingInfo, error)
	// OpenPHC opens the PHC with the given index.
	OpenPHC func(index int) (*phc.Device, error)
	// NIC, when set, is the emulated card of the interface; nil is the
	// kernel's.
	NIC *transport.NIC
	// Samples is how many readings each sys-offset method is measured
	// over (100 when 0).
	Samples int
}

// Kernel is the host's real devices.
func Kernel() Host {
	return Host{
		Timestamping: phc.InterfaceTimestamping,
		OpenPHC:      func(i int) (*phc.Device, error) { return phc.Open(fmt.Sprintf("/dev/ptp%d", i)) },
	}
}

// Emulated is the emulated hardware of roko-ptpd's emulated_hardware: the
// emulated PHC in the state file at path, and an emulated card that
// stamps with it.
func Emulated(path string) (Host, error) {
	emu, err := phc.OpenEmulated(path)
	if err != nil {
		return Host{}, err
	}
	nic := &transport.NIC{Clock: func(rt int64) int64 {
		v, err := emu.FromRealtime(rt)
		if err != nil {
			return 0
		}
		return v
	}}
	return Host{
		Timestamping: func(ifname string) (phc.TimestampingInfo, error) {
			i := nic.TimestampingInfo()
			return phc.TimestampingInfo{Interface: ifname, SoTimestamping: i.So_timestamping, PHCIndex: int(i.Phc_index),
				TxTypes: i.Tx_types, RxFilters: i.Rx_filters}, nil
		},
		OpenPHC: func(int) (*phc.Device, error) { return phc.Open(path) },
		NIC:     nic,
	}, nil
}

// Run self-tests ifname on h.
func Run(ifname string, h Host) *Report {
	r := &Report{Interface: ifname}
	add := func(c Check) { r.Checks = append(r.Checks, c) }
	skipRest := func(why string, names ...string) {
		for _, n := range names {
			add(Check{Name: n, Status: Skip, Detail: "not tried: " + why})
		}
	}
	later := []string{"hardware timestamping", "PHC read", "PHC steered", "sys-offset precise", "sys-offset extended",
		"sys-offset basic", "hardware TX timestamps", "EXTTS and PEROUT"}

	info, err := h.Timestamping(ifname)
	if err != nil {
		add(Check{Name: "timestamping", Status: Fail, Detail: err.Error(), Fix: "give the interface PTP runs on, as 'ip link' names it"})
		skipRest("the interface could not be asked", later...)
		return r
	}
	var missing []string
	for _, f := range []struct {
		bit  uint32
		name string
	}{{unix.SOF_TIMESTAMPING_TX_HARDWARE, "hardware-transmit"}, {unix.SOF_TIMESTAMPING_RX_HARDWARE, "hardware-receive"},
		{unix.SOF_TIMESTAMPING_RAW_HARDWARE, "hardware-raw-clock"}} {
		if info.SoTimestamping&f.bit == 0 {
			missing = append(missing, f.name)
		}
	}
	if info.PHCIndex < 0 {
		missing = append(missing, "PTP hardware clock")
	}
	if len(missing) > 0 {
		add(Check{Name: "timestamping", Status: Fail,
			Detail: fmt.Sprintf("the driver of %s reports no %s (ethtool -T %s)", ifname, strings.Join(missing, ", no "), ifname),
			Fix:    "use a NIC whose driver has a PHC (ethtool -T shows 'PTP Hardware Clock: N'), or run roko-ptpd with software timestamps (-S, time_stamping software)"})
		skipRest("no hardware timestamping on "+ifname, later...)
		return r
	}
	add(Check{Name: "timestamping", Status: Pass, Detail: fmt.Sprintf("hardware transmit, receive and raw clock; PHC /dev/ptp%d", info.PHCIndex)})

	tr, filter, err := openHardware(ifname, h)
	if err != nil {
		add(Check{Name: "hardware timestamping", Status: Fail, Detail: err.Error(),
			Fix: "run as root (CAP_NET_ADMIN, CAP_NET_RAW); check that no other program configured the interface differently"})
	} else {
		defer tr.Close()
		add(Check{Name: "hardware timestamping", Status: Pass, Detail: "SIOCSHWTSTAMP accepted, receive filter " + filter})
	}

	dev, err := h.OpenPHC(info.PHCIndex)
	if err != nil {
		add(Check{Name: "PHC read", Status: Fail, Detail: err.Error(), Fix: "run as root, or give the user access to /dev/ptpN"})
		skipRest("the PHC could not be opened", later[2:7]...)
	} else {
		defer dev.Close()
		add(readPHC(dev))
		add(steerPHC(dev))
		for _, m := range []phc.OffsetMethod{phc.MethodPrecise, phc.MethodExtended, phc.MethodBasic} {
			add(sysOffset(dev, m, h.Samples))
		}
	}
	if tr == nil {
		skipRest("hardware timestamping could not be turned on", "hardware TX timestamps")
	} else {
		add(txTimestamps(tr, dev))
	}
	if dev != nil {
		add(pins(dev))
	}
	return r
}

// openHardware opens an L2 transport with hardware timestamps, which turns
// them on with SIOCSHWTSTAMP, and says which receive filter is in force.
func openHardware(ifname string, h Host) (*transport.Transport, string, error) {
	tr, err := transport.OpenL2(transport.Config{Interface: ifname, Timestamping: transport.Hardware, Emulated: h.NIC, TxTimestampTimeout: 100 * time.Millisecond})
	if err != nil {
		return nil, "", err
	}
	var cfg unix.HwTstampConfig
	if h.NIC != nil {
		cfg, _ = h.NIC.HwTstamp()
	} else {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err == nil {
			if c, err := unix.IoctlGetHwTstamp(fd, ifname); err == nil {
				cfg = *c
			}
			unix.Close(fd)
		}
	}
	return tr, filterName(cfg.Rx_filter), nil
}

// filterName names a receive filter as ethtool does.
func filterName(f int32) string {
	switch f {
	case unix.HWTSTAMP_FILTER_PTP_V2_L2_EVENT:
		return "ptpv2-l2-event (PTP event frames only)"
	case unix.HWTSTAMP_FILTER_PTP_V2_L4_EVENT:
		return "ptpv2-l4-event (PTP event datagrams only)"
	case unix.HWTSTAMP_FILTER_PTP_V2_EVENT:
		return "ptpv2-event"
	case unix.HWTSTAMP_FILTER_ALL:
		return "all (every packet is timestamped)"
	}
	return fmt.Sprintf("%d", f)
}

// readPHC reads the clock twice and compares it with CLOCK_REALTIME.
func readPHC(dev *phc.Device) Check {
	a, err1 := dev.Now()
	b, err2 := dev.Now()
	if err := errors.Join(err1, err2); err != nil {
		return Check{Name: "PHC read", Status: Fail, Detail: err.Error(), Fix: "run as root, or give the user access to " + dev.Name()}
	}
	if !b.After(a) {
		return Check{Name: "PHC read", Status: Fail, Detail: fmt.Sprintf("%s did not advance between two readings", dev.Name()),
			Fix: "the PHC is stopped: reload the NIC driver or check its firmware"}
	}
	o, err := dev.SysOffset(5)
	if err != nil {
		return Check{Name: "PHC read", Status: Warn, Detail: fmt.Sprintf("%s reads, but its offset from CLOCK_REALTIME could not be measured: %v", dev.Name(), err)}
	}
	return Check{Name: "PHC read", Status: Pass, Detail: fmt.Sprintf("%s at %s, %v from CLOCK_REALTIME", dev.Name(), b.UTC().Format(time.RFC3339Nano), o.Offset)}
}

// steerPHC moves the PHC's frequency by 1000 ppb, reads it back, and puts
// the frequency it found back.
func steerPHC(dev *phc.Device) Check {
	const name = "PHC steered"
	was, err := dev.Frequency()
	if err != nil {
		return Check{Name: name, Status: Fail, Detail: err.Error(), Fix: "run as root (CAP_SYS_TIME)"}
	}
	try := was + 1000
	if math.Abs(try) > dev.MaxFrequency() {
		try = was - 1000
	}
	if err := dev.AdjustFrequency(try); err != nil {
		return Check{Name: name, Status: Fail, Detail: err.Error(), Fix: "run as root (CAP_SYS_TIME)"}
	}
	got, err := dev.Frequency()
	restoreErr := dev.AdjustFrequency(was)
	switch {
	case err != nil:
		return Check{Name: name, Status: Fail, Detail: err.Error()}
	case restoreErr != nil:
		return Check{Name: name, Status: Fail, Detail: "could not put the frequency back: " + restoreErr.Error(), Fix: fmt.Sprintf("set it by hand: roko-ptpctl %s freq %f", dev.Name(), was)}
	case math.Abs(got-try) > 1:
		return Check{Name: name, Status: Fail, Detail: fmt.Sprintf("set %.0f ppb, read back %.0f ppb", try, got), Fix: "the driver does not keep the frequency it is given: update it"}
	}
	return Check{Name: name, Status: Pass, Detail: fmt.Sprintf("frequency set to %+.0f ppb and read back, then restored to %+.0f ppb (max_adj %.0f)", try, was, dev.MaxFrequency())}
}

// sysOffset measures one PHC-to-system offset method over many readings:
// its delay (the system clock's reading window) and the spread of the
// offsets it gives.
func sysOffset(dev *phc.Device, m phc.OffsetMethod, samples int) Check {
	name := "sys-offset " + m.String()
	if samples <= 0 {
		samples = 100
	}
	var delays, steps []float64
	var last phc.SysOffset
	for i := range samples {
		o, err := dev.SysOffsetBy(m, 5)
		if err != nil {
			st := Warn
			fix := "phc2sys and the [phc2sys] job use the next method down: nothing to do"
			if m == phc.MethodBasic {
				st, fix = Fail, "the driver offers no way to compare its clock with the system's: update the driver"
			}
			return Check{Name: name, Status: st, Detail: err.Error(), Fix: fix}
		}
		delays = append(delays, float64(o.Delay))
		if i > 0 {
			// Offset changes between readings: the clocks' rate difference
			// is the same for each, so their spread is the method's noise.
			steps = append(steps, float64(o.Offset-last.Offset))
		}
		last = o
	}
	slices.Sort(delays)
	return Check{Name: name, Status: Pass, Detail: fmt.Sprintf("%d readings: delay median %v, max %v; offset spread %.0f ns",
		samples, time.Duration(delays[len(delays)/2]), time.Duration(delays[len(delays)-1]), stddev(steps)/math.Sqrt2)}
}

// stddev is the standard deviation of xs about their mean.
func stddev(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	var sum, sum2 float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(len(xs))
	for _, x := range xs {
		sum2 += (x - mean) * (x - mean)
	}
	return math.Sqrt(sum2 / float64(len(xs)-1))
}

// probe is a PTP event message (Delay_Req) in domain 255 with majorSdoId
// 0xF: no clock follows it, and ptp4l drops it for its transportSpecific.
func probe(seq uint16) ([]byte, error) {
	m := ptp.DelayReq{Header: ptp.Header{MajorSdoID: 0xF, VersionPTP: 2, DomainNumber: 255, SequenceID: seq,
		ControlField: ptp.ControlFieldFor(ptp.MessageDelayReq), LogMessageInterval: ptp.LogIntervalUnspecified}}
	return m.MarshalBinary()
}

// txTimestamps sends a few frames and checks each comes back with a
// hardware transmit timestamp on the PHC's timescale.
func txTimestamps(tr *transport.Transport, dev *phc.Device) Check {
	const name, n = "hardware TX timestamps", 5
	var worst time.Duration
	for i := range n {
		msg, err := probe(uint16(i))
		if err != nil {
			return Check{Name: name, Status: Fail, Detail: "encoding the probe: " + err.Error()}
		}
		start := time.Now()
		ts, err := tr.SendEvent(msg, tr.Primary)
		if err != nil {
			return Check{Name: name, Status: Fail, Detail: fmt.Sprintf("frame %d of %d: %v", i+1, n, err),
				Fix: "the driver returned no transmit timestamp in time: raise tx_timestamp_timeout (100 ms is generous), update the driver, or raise the kworker's priority"}
		}
		worst = max(worst, time.Since(start))
		if dev != nil {
			if now, err := dev.Now(); err == nil {
				if d := now.UnixNano() - ts; d < 0 || d > int64(time.Second) {
					return Check{Name: name, Status: Fail, Detail: fmt.Sprintf("frame %d's timestamp is %v from the PHC's time: not on %s's timescale", i+1, time.Duration(d), dev.Name()),
						Fix: "the interface timestamps with another clock than its PHC: check the driver"}
				}
			}
		}
	}
	return Check{Name: name, Status: Pass, Detail: fmt.Sprintf("%d of %d frames stamped, on the PHC's timescale; the slowest came back in %v", n, n, worst.Round(time.Microsecond))}
}

// pins reports the PHC's external timestamp and periodic output channels,
// which a grandmaster's GPS pulse needs.
func pins(dev *phc.Device) Check {
	c := dev.Caps()
	detail := fmt.Sprintf("%d EXTTS channels, %d PEROUT channels, %d pins", c.NExtTS, c.NPerOut, c.NPins)
	if c.NPins > 0 {
		if ps, err := dev.Pins(); err == nil {
			for _, p := range ps {
				detail += fmt.Sprintf("; pin %d %q %s", p.Index, p.Name, p.Function)
			}
		}
	}
	if c.NExtTS == 0 {
		return Check{Name: "EXTTS and PEROUT", Status: Warn, Detail: detail,
			Fix: "this PHC cannot timestamp a GPS pulse: fine for a validator's client, not for a grandmaster (use a NIC with an SDP/EXTTS pin)"}
	}
	return Check{Name: "EXTTS and PEROUT", Status: Pass, Detail: detail}
}
