package doctor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
)

// Interface flags of /sys/class/net/IFACE/flags (linux/if.h).
const (
	iffUp        = 0x1
	iffMulticast = 0x1000
)

// checkPort adds the checks of one interface: the link, its timestamping
// and PHC, its driver's tuning, its error counters and its multicast
// groups.
func checkPort(h Host, p port, r *Report) {
	link, ok := linkCheck(h, p.ifname)
	r.add(link)
	if !ok {
		for _, n := range []string{CheckTimestamping, CheckPHC, CheckCoalescing, CheckRings, CheckLinkErrors, CheckMulticast} {
			r.add(Check{Name: n, Interface: p.ifname, Status: Skip, Detail: "not checked: no interface " + p.ifname})
		}
		return
	}
	info, err := h.NIC.Timestamping(p.ifname)
	r.add(timestampingCheck(p, info, err))
	r.add(phcCheck(h, p, info, err))
	r.add(coalescingCheck(h, p.ifname))
	r.add(ringsCheck(h, p.ifname))
	r.add(linkErrors(h, p.ifname))
	r.add(multicast(h, p))
}

// linkCheck: the interface exists, is up and has a carrier. ok is false
// when it does not exist.
func linkCheck(h Host, ifname string) (c Check, ok bool) {
	c = Check{Name: CheckInterface, Interface: ifname}
	dir := "/sys/class/net/" + ifname
	if _, err := os.Stat(h.path(dir)); err != nil {
		c.Status, c.Detail = Fail, fmt.Sprintf("no interface %s in this network namespace", ifname)
		c.Fix = "give the interface as 'ip -br link' names it"
		return c, false
	}
	flags, err := h.read(dir + "/flags")
	f, perr := strconv.ParseUint(strings.TrimPrefix(flags, "0x"), 16, 32)
	if err != nil || perr != nil {
		c.Status, c.Detail = Warn, fmt.Sprintf("%s: cannot read its flags: %v", ifname, errors.Join(err, perr))
		c.Fix = "ip link show " + ifname
		return c, true
	}
	oper, _ := h.read(dir + "/operstate")
	carrier, _ := h.read(dir + "/carrier") // unreadable while the link is down
	switch {
	case f&iffUp == 0:
		c.Status, c.Detail = Fail, fmt.Sprintf("%s is down (administratively)", ifname)
		c.Fix = "ip link set " + ifname + " up"
	case carrier != "1" || oper == "down" || oper == "lowerlayerdown":
		c.Status, c.Detail = Fail, fmt.Sprintf("%s is up but has no carrier (operstate %s)", ifname, oper)
		c.Fix = "check the cable and the switch port: 'ethtool " + ifname + "' shows 'Link detected: no'"
	default:
		c.Status, c.Detail = Pass, fmt.Sprintf("%s is up with a carrier (operstate %s)", ifname, oper)
		if speed, err := h.read(dir + "/speed"); err == nil && speed != "-1" {
			c.Detail += ", " + speed + " Mb/s"
		}
	}
	return c, true
}

// tsNames are ethtool -T's names of the SOF_TIMESTAMPING capabilities.
var tsNames = []struct {
	bit  uint32
	name string
}{
	{unix.SOF_TIMESTAMPING_TX_HARDWARE, "hardware-transmit"},
	{unix.SOF_TIMESTAMPING_TX_SOFTWARE, "software-transmit"},
	{unix.SOF_TIMESTAMPING_RX_HARDWARE, "hardware-receive"},
	{unix.SOF_TIMESTAMPING_RX_SOFTWARE, "software-receive"},
	{unix.SOF_TIMESTAMPING_SOFTWARE, "software-system-clock"},
	{unix.SOF_TIMESTAMPING_RAW_HARDWARE, "hardware-raw-clock"},
}

// capNames names the capabilities in caps (all of them when want is 0),
// or those of want that caps lacks.
func capNames(caps, want uint32, missing bool) []string {
	var out []string
	for _, n := range tsNames {
		if want != 0 && want&n.bit == 0 {
			continue
		}
		if (caps&n.bit != 0) != missing {
			out = append(out, n.name)
		}
	}
	return out
}

// filterNames are ethtool's names of the receive filters roko-ptpd uses.
var filterNames = map[int]string{
	unix.HWTSTAMP_FILTER_ALL:             "all",
	unix.HWTSTAMP_FILTER_PTP_V2_L4_EVENT: "ptpv2-l4-event",
	unix.HWTSTAMP_FILTER_PTP_V2_L2_EVENT: "ptpv2-l2-event",
	unix.HWTSTAMP_FILTER_PTP_V2_EVENT:    "ptpv2-event",
}

// timestampingCheck: the driver timestamps as the configuration asks
// (ethtool -T): for hardware, transmit, receive and the raw clock, the
// transmit type, and a receive filter that catches PTP v2 event messages
// of the port's transport.
func timestampingCheck(p port, info phc.TimestampingInfo, err error) Check {
	c := Check{Name: CheckTimestamping, Interface: p.ifname}
	if err != nil {
		c.Status, c.Detail, c.Fix = Fail, err.Error(), "ethtool -T "+p.ifname
		return c
	}
	has := strings.Join(capNames(info.SoTimestamping, 0, false), ", ")
	if has == "" {
		has = "nothing"
	}
	const sw = unix.SOF_TIMESTAMPING_TX_SOFTWARE | unix.SOF_TIMESTAMPING_RX_SOFTWARE | unix.SOF_TIMESTAMPING_SOFTWARE
	if !p.hardware() {
		why := "time_stamping software"
		switch {
		case p.virtual:
			why = "virtual_clock 1 (software timestamps)"
		case p.emulated:
			why = "emulated_hardware 1 (the kernel's software timestamps, mapped onto the emulated PHC)"
		}
		if missing := capNames(info.SoTimestamping, sw, true); len(missing) > 0 {
			c.Status = Fail
			c.Detail = fmt.Sprintf("%s needs software timestamps, but the driver of %s reports no %s (ethtool -T %s: %s)",
				why, p.ifname, strings.Join(missing, ", no "), p.ifname, has)
			c.Fix = "use another interface: this driver timestamps nothing in software"
			return c
		}
		c.Status, c.Detail = Pass, fmt.Sprintf("%s: %s can (%s)", why, p.ifname, has)
		return c
	}
	const hw = unix.SOF_TIMESTAMPING_TX_HARDWARE | unix.SOF_TIMESTAMPING_RX_HARDWARE | unix.SOF_TIMESTAMPING_RAW_HARDWARE
	missing := capNames(info.SoTimestamping, hw, true)
	tx, txName := unix.HWTSTAMP_TX_ON, "transmit type on"
	if p.timestamping == ptp.TimestampingOneStep {
		tx, txName = unix.HWTSTAMP_TX_ONESTEP_SYNC, "transmit type onestep-sync"
	}
	if info.TxTypes&(1<<tx) == 0 {
		missing = append(missing, txName)
	}
	// As the transport asks for it: the narrowest filter first.
	filters := []int{unix.HWTSTAMP_FILTER_PTP_V2_L4_EVENT, unix.HWTSTAMP_FILTER_PTP_V2_EVENT, unix.HWTSTAMP_FILTER_ALL}
	if p.transport == ptp.ProtocolIEEE802_3 {
		filters[0] = unix.HWTSTAMP_FILTER_PTP_V2_L2_EVENT
	}
	i := slices.IndexFunc(filters, func(f int) bool { return info.RxFilters&(1<<f) != 0 })
	if i < 0 {
		missing = append(missing, "receive filter "+filterNames[filters[0]]+" (or ptpv2-event, all)")
	}
	if len(missing) > 0 {
		c.Status = Fail
		c.Detail = fmt.Sprintf("time_stamping %s needs what the driver of %s lacks: no %s (ethtool -T %s: %s)",
			p.timestamping, p.ifname, strings.Join(missing, ", no "), p.ifname, has)
		if info.SoTimestamping&hw == 0 {
			c.Detail = fmt.Sprintf("time_stamping %s, but the driver of %s timestamps in software only (ethtool -T %s: %s)",
				p.timestamping, p.ifname, p.ifname, has)
		}
		c.Fix = "use a NIC whose driver timestamps in hardware, or run roko-ptpd with software timestamps: -S, or time_stamping software in [global]"
		if info.SoTimestamping&sw != sw {
			c.Fix = "use a NIC whose driver timestamps in hardware"
		}
		return c
	}
	c.Status = Pass
	c.Detail = fmt.Sprintf("time_stamping %s: %s has hardware-transmit, hardware-receive, hardware-raw-clock, %s, receive filter %s",
		p.timestamping, p.ifname, txName, filterNames[filters[i]])
	if filters[i] == unix.HWTSTAMP_FILTER_ALL {
		c.Status = Warn
		c.Detail += " only: the NIC timestamps every packet, not only PTP's"
		c.Fix = "nothing to set: the driver offers no narrower filter (a busy host spends CPU on it)"
	}
	return c
}

// phcCheck: the PHC the driver names exists as /dev/ptpN and opens.
func phcCheck(h Host, p port, info phc.TimestampingInfo, tsErr error) Check {
	c := Check{Name: CheckPHC, Interface: p.ifname}
	if tsErr != nil {
		c.Status, c.Detail = Skip, "not checked: the driver could not be asked (see timestamping)"
		return c
	}
	if info.PHCIndex < 0 {
		devs, _ := filepath.Glob(h.path("/dev/ptp[0-9]*"))
		for i := range devs {
			devs[i] = strings.TrimPrefix(devs[i], strings.TrimSuffix(h.path("/"), "/"))
		}
		others := "no /dev/ptp* on this host"
		if len(devs) > 0 {
			others = "this host has " + strings.Join(devs, ", ") + " (another NIC's)"
		}
		if !p.hardware() {
			c.Status, c.Detail = Skip, fmt.Sprintf("%s has none, and software timestamps need none (%s)", p.ifname, others)
			return c
		}
		c.Status = Fail
		c.Detail = fmt.Sprintf("%s has no PTP hardware clock (ethtool -T %s: 'PTP Hardware Clock: none'); %s", p.ifname, p.ifname, others)
		c.Fix = "load the NIC driver with its PTP support (modprobe ptp, then the driver: i40e, ice, igb, ixgbe, mlx5_core…); a NIC without a PHC cannot timestamp in hardware: use -S"
		return c
	}
	dev := fmt.Sprintf("/dev/ptp%d", info.PHCIndex)
	name, _ := h.read(fmt.Sprintf("/sys/class/ptp/ptp%d/clock_name", info.PHCIndex))
	if name != "" {
		name = " (" + name + ")"
	}
	f, err := os.Open(h.path(dev))
	switch {
	case errors.Is(err, os.ErrNotExist):
		c.Status, c.Detail = Fail, fmt.Sprintf("the driver of %s names PHC %d, but %s does not exist", p.ifname, info.PHCIndex, dev)
		c.Fix = "check udev: 'ls -l /dev/ptp*' and /sys/class/ptp/ptp" + strconv.Itoa(info.PHCIndex) + "/dev"
	case err != nil:
		c.Status, c.Detail = Fail, fmt.Sprintf("%s%s: %v", dev, name, err)
		c.Fix = "run roko-ptpd as root, or give its user read and write access to " + dev + " (a udev rule)"
	default:
		f.Close()
		c.Status, c.Detail = Pass, fmt.Sprintf("%s%s opens", dev, name)
		if !p.hardware() {
			c.Detail += "; software timestamps do not use it"
		}
	}
	return c
}

// driver names the interface's driver, from sysfs: "" for a virtual one.
func driver(h Host, ifname string) string {
	l, err := os.Readlink(h.path("/sys/class/net/" + ifname + "/device/driver"))
	if err != nil {
		return ""
	}
	return filepath.Base(l)
}

// notSupported is the detail of a driver without the setting.
func notSupported(h Host, ifname, what string) string {
	d := driver(h, ifname)
	if d == "" {
		d = "a virtual interface's"
	}
	return fmt.Sprintf("%s: its driver (%s) has no %s to set", ifname, d, what)
}

// coalescingCheck: the driver does not hold interrupts back (the guide's
// ethtool -C IFACE rx-usecs 0 tx-usecs 0, adaptive off).
func coalescingCheck(h Host, ifname string) Check {
	c := Check{Name: CheckCoalescing, Interface: ifname}
	co, err := h.NIC.Coalescing(ifname)
	switch {
	case errors.Is(err, unix.EOPNOTSUPP):
		c.Status, c.Detail = Pass, notSupported(h, ifname, "interrupt coalescing")
		return c
	case err != nil:
		c.Status, c.Detail, c.Fix = Warn, "cannot tell: "+err.Error(), "ethtool -c "+ifname
		return c
	}
	detail := fmt.Sprintf("rx-usecs %d, rx-frames %d, tx-usecs %d, tx-frames %d, adaptive-rx %s, adaptive-tx %s",
		co.RxUsecs, co.RxFrames, co.TxUsecs, co.TxFrames, onOff(co.AdaptiveRx), onOff(co.AdaptiveTx))
	var set []string
	if co.AdaptiveRx {
		set = append(set, "adaptive-rx off")
	}
	if co.AdaptiveTx {
		set = append(set, "adaptive-tx off")
	}
	if co.RxUsecs > 0 {
		set = append(set, "rx-usecs 0")
	}
	if co.TxUsecs > 0 {
		set = append(set, "tx-usecs 0")
	}
	if len(set) == 0 {
		c.Status, c.Detail = Pass, detail
		return c
	}
	c.Status = Warn
	c.Detail = detail + ": the driver holds interrupts back, which delays PTP messages and transmit timestamps"
	c.Fix = "ethtool -C " + ifname + " " + strings.Join(set, " ")
	return c
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// ringsCheck: the rings are as large as the NIC allows (the guide's
// ethtool -G IFACE rx N tx N).
func ringsCheck(h Host, ifname string) Check {
	c := Check{Name: CheckRings, Interface: ifname}
	rg, err := h.NIC.Rings(ifname)
	switch {
	case errors.Is(err, unix.EOPNOTSUPP):
		c.Status, c.Detail = Pass, notSupported(h, ifname, "rings")
		return c
	case err != nil:
		c.Status, c.Detail, c.Fix = Warn, "cannot tell: "+err.Error(), "ethtool -g "+ifname
		return c
	}
	detail := fmt.Sprintf("rx %d of at most %d, tx %d of at most %d", rg.Rx, rg.RxMax, rg.Tx, rg.TxMax)
	var set []string
	if rg.Rx < rg.RxMax {
		set = append(set, fmt.Sprintf("rx %d", rg.RxMax))
	}
	if rg.Tx < rg.TxMax {
		set = append(set, fmt.Sprintf("tx %d", rg.TxMax))
	}
	if len(set) == 0 {
		c.Status, c.Detail = Pass, detail
		return c
	}
	c.Status = Warn
	c.Detail = detail + ": a burst that overflows a ring drops packets, PTP's among them"
	c.Fix = "ethtool -G " + ifname + " " + strings.Join(set, " ")
	return c
}

// linkErrors: the interface's error counters since boot (the guide's
// ethtool -S IFACE | grep -E "drop|error").
func linkErrors(h Host, ifname string) Check {
	c := Check{Name: CheckLinkErrors, Interface: ifname}
	dir := "/sys/class/net/" + ifname + "/statistics/"
	var bad, info []string
	for _, n := range []string{"rx_errors", "tx_errors", "rx_crc_errors", "rx_missed_errors", "rx_fifo_errors", "rx_over_errors", "rx_dropped", "tx_dropped"} {
		s, err := h.read(dir + n)
		if err != nil {
			continue
		}
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil || v == 0 {
			continue
		}
		e := fmt.Sprintf("%s %d", n, v)
		if strings.HasSuffix(n, "_dropped") {
			// The stack counts frames of protocols nobody listens to as
			// dropped: not a fault of the link.
			info = append(info, e)
		} else {
			bad = append(bad, e)
		}
	}
	switch {
	case len(bad) > 0:
		c.Status = Warn
		c.Detail = fmt.Sprintf("%s counted since boot: %s", ifname, strings.Join(append(bad, info...), ", "))
		c.Fix = "ethtool -S " + ifname + " | grep -E 'drop|error' says where; CRC errors: the cable or the switch port; missed, fifo and over errors: larger rings (ethtool -G)"
	case len(info) > 0:
		c.Status, c.Detail = Pass, fmt.Sprintf("%s: no errors since boot (%s: frames no one asked for, not faults)", ifname, strings.Join(info, ", "))
	default:
		c.Status, c.Detail = Pass, ifname+": no errors or drops since boot"
	}
	return c
}
