package doctor

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/roko-network/roko-ptpd/ptp"
)

// multicast: the interface takes multicast, and some program (the PTP
// daemon) has joined the port's groups on it: 224.0.1.129 (and
// 224.0.0.107 for P2P) in /proc/net/igmp for UDPv4, ff0e::181 in
// /proc/net/igmp6 for UDPv6, 01:1b:19:00:00:00 (01:80:c2:00:00:0e) in
// /proc/net/dev_mcast for L2.
func multicast(h Host, p port) Check {
	c := Check{Name: CheckMulticast, Interface: p.ifname}
	flags, _ := h.read("/sys/class/net/" + p.ifname + "/flags")
	if f, err := strconv.ParseUint(strings.TrimPrefix(flags, "0x"), 16, 32); err == nil && f&iffMulticast == 0 {
		c.Status, c.Detail = Fail, p.ifname+" does not take multicast (no MULTICAST flag): PTP's messages go to multicast groups"
		c.Fix = "ip link set " + p.ifname + " multicast on"
		return c
	}
	var want []string
	var joined map[string]bool
	var err error
	var file string
	switch p.transport {
	case ptp.ProtocolIEEE802_3:
		file = "/proc/net/dev_mcast"
		want = []string{p.dst.PTPMAC.String()}
		if p.p2p {
			want = append(want, p.dst.P2PMAC.String())
		}
		joined, err = macGroups(h, p.ifname)
	case ptp.ProtocolUDPIPv6:
		file = "/proc/net/igmp6"
		want = []string{p.dst.PTPIPv6.String()}
		if p.p2p {
			want = append(want, p.dst.P2PIPv6.String())
		}
		joined, err = ipv6Groups(h, p.ifname)
	default:
		file = "/proc/net/igmp"
		want = []string{p.dst.PTPIPv4.String()}
		if p.p2p {
			want = append(want, p.dst.P2PIPv4.String())
		}
		joined, err = ipv4Groups(h, p.ifname)
	}
	if err != nil {
		c.Status, c.Detail, c.Fix = Warn, "cannot tell: "+err.Error(), "ip maddr show dev "+p.ifname
		return c
	}
	var missing []string
	for _, g := range want {
		if !joined[g] {
			missing = append(missing, g)
		}
	}
	if len(missing) > 0 {
		c.Status = Warn
		c.Detail = fmt.Sprintf("no program has joined %s on %s (%s): no PTP daemon listens there", strings.Join(missing, ", "), p.ifname, file)
		c.Fix = "start roko-ptpd on it: systemctl enable --now roko-ptpd@" + p.ifname + "; if it runs and this stays, see its log"
		return c
	}
	c.Status, c.Detail = Pass, fmt.Sprintf("%s has joined %s", p.ifname, strings.Join(want, ", "))
	return c
}

// scanFields calls f with the fields of each line of the file at p.
func scanFields(h Host, p string, f func(fields []string)) error {
	file, err := os.Open(h.path(p))
	if err != nil {
		return err
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		f(strings.Fields(sc.Text()))
	}
	return sc.Err()
}

// ipv4Groups reads the IPv4 groups ifname has joined from /proc/net/igmp:
// a line "IDX DEV : COUNT QUERIER" per device, then a line "GROUP USERS
// TIMER REPORTER" per group, the group's address in hex as the host's
// 32-bit word holds it.
func ipv4Groups(h Host, ifname string) (map[string]bool, error) {
	out := map[string]bool{}
	var dev string
	err := scanFields(h, "/proc/net/igmp", func(f []string) {
		switch {
		case len(f) >= 3 && f[2] == ":" || len(f) >= 2 && strings.HasSuffix(f[1], ":"):
			dev = strings.TrimSuffix(f[1], ":")
		case len(f) >= 1 && dev == ifname && len(f[0]) == 8:
			v, err := strconv.ParseUint(f[0], 16, 32)
			if err != nil {
				return
			}
			var b [4]byte
			binary.NativeEndian.PutUint32(b[:], uint32(v))
			out[netip.AddrFrom4(b).String()] = true
		}
	})
	return out, err
}

// ipv6Groups reads /proc/net/igmp6: "IDX DEV GROUP USERS FLAGS TIMER",
// the group as 32 hex digits.
func ipv6Groups(h Host, ifname string) (map[string]bool, error) {
	out := map[string]bool{}
	err := scanFields(h, "/proc/net/igmp6", func(f []string) {
		if len(f) < 3 || f[1] != ifname {
			return
		}
		b, err := hex.DecodeString(f[2])
		if err != nil || len(b) != 16 {
			return
		}
		out[netip.AddrFrom16([16]byte(b)).String()] = true
	})
	return out, err
}

// macGroups reads /proc/net/dev_mcast: "IDX DEV REFCOUNT GLOBAL ADDRESS",
// the address as 12 hex digits.
func macGroups(h Host, ifname string) (map[string]bool, error) {
	out := map[string]bool{}
	err := scanFields(h, "/proc/net/dev_mcast", func(f []string) {
		if len(f) < 5 || f[1] != ifname {
			return
		}
		b, err := hex.DecodeString(f[4])
		if err != nil || len(b) != 6 {
			return
		}
		out[net.HardwareAddr(b).String()] = true
	})
	return out, err
}
