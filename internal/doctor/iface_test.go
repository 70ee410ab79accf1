package doctor

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/transport"
)

// want is a check's expected verdict: the status, a part of the detail,
// and the fix (exactly; "" for none).
type want struct {
	status Status
	detail string
	fix    string
}

func (w want) check(t *testing.T, c Check) {
	t.Helper()
	assert.Equal(t, w.status, c.Status, "%s: %s", c.Name, c.Detail)
	assert.Contains(t, c.Detail, w.detail)
	assert.Equal(t, w.fix, c.Fix)
}

func TestLinkCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(*tree)
		want want
		ok   bool
	}{
		{"up with carrier", func(tr *tree) { tr.iface("eth0", 0x1003, "up", "1").file("/sys/class/net/eth0/speed", "10000\n") },
			want{Pass, "eth0 is up with a carrier (operstate up), 10000 Mb/s", ""}, true},
		{"virtual, speed unknown", func(tr *tree) { tr.iface("eth0", 0x1003, "up", "1").file("/sys/class/net/eth0/speed", "-1\n") },
			want{Pass, "eth0 is up with a carrier (operstate up)", ""}, true},
		{"missing", func(tr *tree) { tr.dir("/sys/class/net") },
			want{Fail, "no interface eth0 in this network namespace", "give the interface as 'ip -br link' names it"}, false},
		{"down", func(tr *tree) { tr.iface("eth0", 0x1002, "down", "") },
			want{Fail, "eth0 is down (administratively)", "ip link set eth0 up"}, true},
		{"no carrier", func(tr *tree) { tr.iface("eth0", 0x1003, "down", "0") },
			want{Fail, "eth0 is up but has no carrier (operstate down)", "check the cable and the switch port: 'ethtool eth0' shows 'Link detected: no'"}, true},
		{"flags unreadable", func(tr *tree) { tr.dir("/sys/class/net/eth0") },
			want{Warn, "eth0: cannot read its flags", "ip link show eth0"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTree(t)
			tc.make(tr)
			c, ok := linkCheck(tr.host(nil, nil), "eth0")
			tc.want.check(t, c)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, "eth0", c.Interface)
		})
	}
	// A missing interface skips the rest of its checks.
	tr := newTree(t).dir("/sys/class/net")
	r := &Report{Status: Pass}
	checkPort(tr.host(&fakeNIC{tsErr: errors.New("must not be asked")}, nil), defaultPort(t), r)
	require.Len(t, r.Checks, 7)
	for _, c := range r.Checks[1:] {
		assert.Equal(t, Skip, c.Status, c.Name)
		assert.Equal(t, "not checked: no interface eth0", c.Detail)
	}
}

func TestTimestampingCheck(t *testing.T) {
	const swFix = "use a NIC whose driver timestamps in hardware, or run roko-ptpd with software timestamps: -S, or time_stamping software in [global]"
	noRaw := hwInfo
	noRaw.SoTimestamping &^= unix.SOF_TIMESTAMPING_RAW_HARDWARE
	allOnly := hwInfo
	allOnly.RxFilters = 1<<unix.HWTSTAMP_FILTER_NONE | 1<<unix.HWTSTAMP_FILTER_ALL
	l4Only := hwInfo
	l4Only.RxFilters = 1 << unix.HWTSTAMP_FILTER_PTP_V2_L4_EVENT
	oneStep := hwInfo
	oneStep.TxTypes |= 1 << unix.HWTSTAMP_TX_ONESTEP_SYNC
	def := defaultPort(t)
	l2 := portsFor(t, "[global]\nnetwork_transport L2\n[eth0]\n")[0]
	sw := portsFor(t, "[global]\ntime_stamping software\n[eth0]\n")[0]
	onestep := portsFor(t, "[global]\ntime_stamping onestep\ntwoStepFlag 0\n[eth0]\n")[0]
	virtual := portsFor(t, "[global]\nvirtual_clock 1\n[eth0]\n")[0]
	for _, tc := range []struct {
		name string
		p    port
		info phc.TimestampingInfo
		err  error
		want want
	}{
		{"hardware NIC", def, hwInfo, nil, want{Pass, "time_stamping hardware: eth0 has hardware-transmit, hardware-receive, hardware-raw-clock, transmit type on, receive filter ptpv2-l4-event", ""}},
		{"L2 takes the L2 filter", l2, hwInfo, nil, want{Pass, "receive filter ptpv2-l2-event", ""}},
		{"L2 falls back to ptpv2-event", l2, func() phc.TimestampingInfo {
			i := hwInfo
			i.RxFilters = 1 << unix.HWTSTAMP_FILTER_PTP_V2_EVENT
			return i
		}(), nil, want{Pass, "receive filter ptpv2-event", ""}},
		{"L2 with an L4-only filter", l2, l4Only, nil, want{Fail, "no receive filter ptpv2-l2-event (or ptpv2-event, all)", swFix}},
		{"only the filter of everything", def, allOnly, nil, want{Warn, "receive filter all only: the NIC timestamps every packet", "nothing to set: the driver offers no narrower filter (a busy host spends CPU on it)"}},
		{"veth: software only", def, swInfo, nil, want{Fail, "time_stamping hardware, but the driver of eth0 timestamps in software only (ethtool -T eth0: software-transmit, software-receive, software-system-clock)", swFix}},
		{"no raw clock", def, noRaw, nil, want{Fail, "lacks: no hardware-raw-clock (ethtool -T eth0: hardware-transmit, software-transmit, hardware-receive, software-receive, software-system-clock)", swFix}},
		{"no timestamps at all", def, phc.TimestampingInfo{PHCIndex: -1}, nil, want{Fail, "ethtool -T eth0: nothing", "use a NIC whose driver timestamps in hardware"}},
		{"onestep without one-step transmit", onestep, hwInfo, nil, want{Fail, "no transmit type onestep-sync", swFix}},
		{"onestep", onestep, oneStep, nil, want{Pass, "transmit type onestep-sync", ""}},
		{"software mode", sw, swInfo, nil, want{Pass, "time_stamping software: eth0 can (software-transmit, software-receive, software-system-clock)", ""}},
		{"virtual clock", virtual, swInfo, nil, want{Pass, "virtual_clock 1 (software timestamps)", ""}},
		{"software mode, nothing", sw, phc.TimestampingInfo{PHCIndex: -1}, nil, want{Fail, "needs software timestamps, but the driver of eth0 reports no software-transmit, no software-receive, no software-system-clock", "use another interface: this driver timestamps nothing in software"}},
		{"driver error", def, phc.TimestampingInfo{}, errors.New("interface eth0: ETHTOOL_GET_TS_INFO: operation not supported"), want{Fail, "ETHTOOL_GET_TS_INFO", "ethtool -T eth0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := timestampingCheck(tc.p, tc.info, tc.err)
			tc.want.check(t, c)
			assert.Equal(t, CheckTimestamping, c.Name)
		})
	}
}

func TestPHCCheck(t *testing.T) {
	const loadFix = "load the NIC driver with its PTP support (modprobe ptp, then the driver: i40e, ice, igb, ixgbe, mlx5_core…); a NIC without a PHC cannot timestamp in hardware: use -S"
	def := defaultPort(t)
	sw := portsFor(t, "[global]\ntime_stamping software\n[eth0]\n")[0]
	for _, tc := range []struct {
		name string
		make func(*tree)
		p    port
		info phc.TimestampingInfo
		err  error
		want want
	}{
		{"present", func(tr *tree) {
			tr.file("/dev/ptp0", "").file("/sys/class/ptp/ptp0/clock_name", "ice-0000:17:00.0-clk\n")
		}, def, hwInfo, nil, want{Pass, "/dev/ptp0 (ice-0000:17:00.0-clk) opens", ""}},
		{"none, hardware asked", func(tr *tree) { tr.dir("/dev") }, def, swInfo, nil,
			want{Fail, "eth0 has no PTP hardware clock (ethtool -T eth0: 'PTP Hardware Clock: none'); no /dev/ptp* on this host", loadFix}},
		{"none, another NIC has one", func(tr *tree) { tr.file("/dev/ptp3", "") }, def, swInfo, nil,
			want{Fail, "this host has /dev/ptp3 (another NIC's)", loadFix}},
		{"none, software asked", func(tr *tree) { tr.dir("/dev") }, sw, swInfo, nil,
			want{Skip, "eth0 has none, and software timestamps need none", ""}},
		{"present, software asked", func(tr *tree) { tr.file("/dev/ptp0", "") }, sw, hwInfo, nil,
			want{Pass, "/dev/ptp0 opens; software timestamps do not use it", ""}},
		{"named but missing", func(tr *tree) { tr.dir("/dev") }, def, hwInfo, nil,
			want{Fail, "the driver of eth0 names PHC 0, but /dev/ptp0 does not exist", "check udev: 'ls -l /dev/ptp*' and /sys/class/ptp/ptp0/dev"}},
		{"cannot open", func(tr *tree) { tr.link("/dev/ptp0", "ptp0") }, def, hwInfo, nil,
			want{Fail, "/dev/ptp0: ", "run roko-ptpd as root, or give its user read and write access to /dev/ptp0 (a udev rule)"}},
		{"driver error", func(*tree) {}, def, phc.TimestampingInfo{}, errors.New("no"),
			want{Skip, "not checked: the driver could not be asked", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTree(t)
			tc.make(tr)
			tc.want.check(t, phcCheck(tr.host(nil, nil), tc.p, tc.info, tc.err))
		})
	}
}

func TestCoalescingCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		co   transport.Coalescing
		err  error
		drv  string
		want want
	}{
		{"none", transport.Coalescing{RxFrames: 1, TxFrames: 1}, nil, "",
			want{Pass, "rx-usecs 0, rx-frames 1, tx-usecs 0, tx-frames 1, adaptive-rx off, adaptive-tx off", ""}},
		{"the guide's case", transport.Coalescing{RxUsecs: 50, TxUsecs: 50, AdaptiveRx: true}, nil, "",
			want{Warn, "rx-usecs 50, rx-frames 0, tx-usecs 50, tx-frames 0, adaptive-rx on, adaptive-tx off: the driver holds interrupts back", "ethtool -C eth0 adaptive-rx off rx-usecs 0 tx-usecs 0"}},
		{"adaptive tx only", transport.Coalescing{AdaptiveTx: true}, nil, "",
			want{Warn, "adaptive-tx on", "ethtool -C eth0 adaptive-tx off"}},
		{"veth", transport.Coalescing{}, unix.EOPNOTSUPP, "",
			want{Pass, "eth0: its driver (a virtual interface's) has no interrupt coalescing to set", ""}},
		{"a driver without it", transport.Coalescing{}, unix.EOPNOTSUPP, "e1000",
			want{Pass, "its driver (e1000) has no interrupt coalescing", ""}},
		{"error", transport.Coalescing{}, unix.EPERM, "",
			want{Warn, "cannot tell: operation not permitted", "ethtool -c eth0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTree(t)
			if tc.drv != "" {
				tr.link("/sys/class/net/eth0/device/driver", "../../../bus/pci/drivers/"+tc.drv)
			}
			tc.want.check(t, coalescingCheck(tr.host(&fakeNIC{co: tc.co, coErr: tc.err}, nil), "eth0"))
		})
	}
}

func TestRingsCheck(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rings transport.Rings
		err   error
		want  want
	}{
		{"at the maximum", transport.Rings{Rx: 4096, Tx: 4096, RxMax: 4096, TxMax: 4096}, nil,
			want{Pass, "rx 4096 of at most 4096, tx 4096 of at most 4096", ""}},
		{"smaller", transport.Rings{Rx: 512, Tx: 512, RxMax: 8192, TxMax: 4096}, nil,
			want{Warn, "rx 512 of at most 8192, tx 512 of at most 4096: a burst that overflows a ring drops packets", "ethtool -G eth0 rx 8192 tx 4096"}},
		{"rx only", transport.Rings{Rx: 256, Tx: 1024, RxMax: 1024, TxMax: 1024}, nil,
			want{Warn, "rx 256 of at most 1024", "ethtool -G eth0 rx 1024"}},
		{"veth", transport.Rings{}, unix.EOPNOTSUPP, want{Pass, "has no rings to set", ""}},
		{"error", transport.Rings{}, unix.ENODEV, want{Warn, "cannot tell: ", "ethtool -g eth0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.check(t, ringsCheck(newTree(t).host(&fakeNIC{rings: tc.rings, ringsErr: tc.err}, nil), "eth0"))
		})
	}
}

func TestLinkErrors(t *testing.T) {
	const fix = "ethtool -S eth0 | grep -E 'drop|error' says where; CRC errors: the cable or the switch port; missed, fifo and over errors: larger rings (ethtool -G)"
	for _, tc := range []struct {
		name     string
		counters map[string]string
		want     want
	}{
		{"clean", map[string]string{"rx_errors": "0", "tx_errors": "0", "rx_dropped": "0"}, want{Pass, "eth0: no errors or drops since boot", ""}},
		{"drops only", map[string]string{"rx_errors": "0", "rx_dropped": "17"}, want{Pass, "no errors since boot (rx_dropped 17: frames no one asked for, not faults)", ""}},
		{"errors", map[string]string{"rx_errors": "3", "rx_crc_errors": "3", "rx_missed_errors": "120", "rx_dropped": "5"},
			want{Warn, "eth0 counted since boot: rx_errors 3, rx_crc_errors 3, rx_missed_errors 120, rx_dropped 5", fix}},
		{"no statistics", nil, want{Pass, "no errors or drops", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTree(t)
			for n, v := range tc.counters {
				tr.file("/sys/class/net/eth0/statistics/"+n, v+"\n")
			}
			tc.want.check(t, linkErrors(tr.host(nil, nil), "eth0"))
		})
	}
}

func TestMulticast(t *testing.T) {
	// /proc/net/igmp as the kernel prints it on a little-endian host:
	// 224.0.0.1 is 010000E0, 224.0.1.129 is 810100E0, 224.0.0.107 is
	// 6B0000E0.
	const igmpJoined = "Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n" +
		"1\tlo        :     1      V3\n\t\t\t\t010000E0     1 0:00000000\t\t0\n" +
		"4\teth0      :     3      V3\n\t\t\t\t6B0000E0     1 0:00000000\t\t0\n\t\t\t\t810100E0     1 0:00000000\t\t0\n\t\t\t\t010000E0     1 0:00000000\t\t0\n" +
		"5\teth1      :     1      V3\n\t\t\t\t810100E0     1 0:00000000\t\t0\n"
	const igmpNone = "Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n" +
		"4\teth0      :     1      V3\n\t\t\t\t010000E0     1 0:00000000\t\t0\n" +
		"5\teth1      :     1      V3\n\t\t\t\t810100E0     1 0:00000000\t\t0\n"
	const devMcast = "4    eth0            1     0     011b19000000\n4    eth0            1     0     01005e000001\n"
	const igmp6 = "4    eth0            ff0e0000000000000000000000000181     1 00000004 0\n"
	const startFix = "start roko-ptpd on it: systemctl enable --now roko-ptpd@eth0; if it runs and this stays, see its log"
	def := defaultPort(t)
	p2p := portsFor(t, "[global]\ndelay_mechanism P2P\n[eth0]\n")[0]
	l2 := portsFor(t, "[global]\nnetwork_transport L2\n[eth0]\n")[0]
	l2p2p := portsFor(t, "[global]\nnetwork_transport L2\ndelay_mechanism P2P\n[eth0]\n")[0]
	udp6 := portsFor(t, "[global]\nnetwork_transport UDPv6\n[eth0]\n")[0]
	for _, tc := range []struct {
		name  string
		p     port
		flags uint32
		files map[string]string
		want  want
	}{
		{"UDPv4 joined", def, 0x1003, map[string]string{"/proc/net/igmp": igmpJoined}, want{Pass, "eth0 has joined 224.0.1.129", ""}},
		{"UDPv4 P2P joined", p2p, 0x1003, map[string]string{"/proc/net/igmp": igmpJoined}, want{Pass, "eth0 has joined 224.0.1.129, 224.0.0.107", ""}},
		{"UDPv4, another interface joined", def, 0x1003, map[string]string{"/proc/net/igmp": igmpNone},
			want{Warn, "no program has joined 224.0.1.129 on eth0 (/proc/net/igmp): no PTP daemon listens there", startFix}},
		{"L2 joined", l2, 0x1003, map[string]string{"/proc/net/dev_mcast": devMcast}, want{Pass, "eth0 has joined 01:1b:19:00:00:00", ""}},
		{"L2 P2P not joined", l2p2p, 0x1003, map[string]string{"/proc/net/dev_mcast": devMcast},
			want{Warn, "no program has joined 01:80:c2:00:00:0e on eth0 (/proc/net/dev_mcast)", startFix}},
		{"UDPv6 joined", udp6, 0x1003, map[string]string{"/proc/net/igmp6": igmp6}, want{Pass, "eth0 has joined ff0e::181", ""}},
		{"no multicast flag", def, 0x0003, map[string]string{"/proc/net/igmp": igmpJoined},
			want{Fail, "eth0 does not take multicast (no MULTICAST flag)", "ip link set eth0 multicast on"}},
		{"no /proc/net/igmp", def, 0x1003, nil, want{Warn, "cannot tell: ", "ip maddr show dev eth0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTree(t).iface("eth0", tc.flags, "up", "1")
			for p, s := range tc.files {
				tr.file(p, s)
			}
			c := multicast(tr.host(nil, nil), tc.p)
			tc.want.check(t, c)
		})
	}
	assert.Equal(t, ptp.ProtocolUDPIPv6, udp6.transport)
}

// FuzzProcNet: whatever /proc/net/igmp, igmp6 and dev_mcast hold, the
// readers return groups without a panic.
func FuzzProcNet(f *testing.F) {
	f.Add("Idx\tDevice    : Count Querier\n4\teth0      :     1      V3\n\t\t\t\t810100E0     1 0:00000000\t\t0\n")
	f.Add("4    eth0            ff0e0000000000000000000000000181     1 00000004 0\n")
	f.Add("4    eth0            1     0     011b19000000\n")
	f.Fuzz(func(t *testing.T, s string) {
		tr := newTree(t).file("/proc/net/igmp", s).file("/proc/net/igmp6", s).file("/proc/net/dev_mcast", s).
			file("/proc/1/task/1/stat", s)
		h := tr.host(nil, nil)
		for _, read := range []func(Host, string) (map[string]bool, error){ipv4Groups, ipv6Groups, macGroups} {
			groups, err := read(h, "eth0")
			if err == nil && len(groups) > len(s) {
				t.Fatalf("%d groups from %d bytes", len(groups), len(s))
			}
		}
		_, _, _ = schedPolicy(h, 1, "1")
	})
}
