package transport

import (
	"fmt"
	"net"

	"github.com/mdlayher/socket"
	"golang.org/x/sys/unix"
)

// OpenUDPv4 opens a port's UDP/IPv4 transport (IEEE 1588-2019 Annex C):
// the event socket on port 319 and the general socket on 320, bound to the
// interface, members there of ptp_dst_ipv4 and p2p_dst_ipv4 (224.0.1.129
// and 224.0.0.107 by default), sending with udp_ttl and the DSCP values,
// multicast loop off.
func OpenUDPv4(cfg Config) (*Transport, error) {
	return openUDP(cfg.withDefaults(), unix.AF_INET)
}

// OpenUDPv6 opens a port's UDP/IPv6 transport (Annex D): ports 319 and 320,
// groups ptp_dst_ipv6 (ff0X::181, X from udp6_scope) and p2p_dst_ipv6
// (ff02::6b) on the interface.
func OpenUDPv6(cfg Config) (*Transport, error) {
	return openUDP(cfg.withDefaults(), unix.AF_INET6)
}

func openUDP(cfg Config, family int) (*Transport, error) {
	primary, peerDelay, err := cfg.destinations(family)
	if err != nil {
		return nil, err
	}
	ifi, err := interfaceByName(cfg.Interface)
	if err != nil {
		return nil, err
	}
	if err := checkTimestamping(ifi.Name, cfg.Timestamping, false, cfg.Emulated); err != nil {
		return nil, err
	}
	t := &Transport{Interface: ifi.Name, MAC: ifi.HardwareAddr, Primary: primary, PeerDelay: peerDelay}
	groups := []Addr{primary}
	if peerDelay != primary {
		groups = append(groups, peerDelay) // a group is joined once
	}
	t.Event, err = openUDPSocket(cfg, family, ifi, EventPort, cfg.DSCPEvent, groups)
	if err != nil {
		return nil, err
	}
	t.General, err = openUDPSocket(cfg, family, ifi, GeneralPort, cfg.DSCPGeneral, groups)
	if err != nil {
		t.Event.Close()
		return nil, err
	}
	return t, nil
}

// rcvbuf is the receive buffer a UDP socket asks for.
const rcvbuf = 4 << 20

// setRcvbuf sets the receive buffer to n bytes: beyond net.core.rmem_max
// with CAP_NET_ADMIN (SO_RCVBUFFORCE), else as far as rmem_max allows.
func setRcvbuf(fd, n int) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n); err == nil {
		return nil
	}
	return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, n)
}

// openUDPSocket opens one of the pair, bound to port and a member of
// groups on ifi.
func openUDPSocket(cfg Config, family int, ifi *net.Interface, port, dscp int, groups []Addr) (*Conn, error) {
	name := fmt.Sprintf("%s udp%d/%d", ifi.Name, map[int]int{unix.AF_INET: 4, unix.AF_INET6: 6}[family], port)
	s, err := socket.Socket(family, unix.SOCK_DGRAM, unix.IPPROTO_UDP, "udp", nil)
	if err != nil {
		return nil, fmt.Errorf("transport: %s: socket: %w", name, err)
	}
	fail := func(what string, err error) (*Conn, error) {
		s.Close()
		if err == unix.EPERM || err == unix.EACCES {
			return nil, fmt.Errorf("transport: %s: %s: %w: ports 319 and 320 need root or CAP_NET_BIND_SERVICE", name, what, err)
		}
		return nil, fmt.Errorf("transport: %s: %s: %w", name, what, err)
	}
	rc, err := s.SyscallConn()
	if err != nil {
		return fail("SyscallConn", err)
	}
	var serr error
	step := func(what string, f func(fd int) error) {
		if serr != nil {
			return
		}
		if err := rc.Control(func(fd uintptr) {
			if e := f(int(fd)); e != nil {
				serr = fmt.Errorf("%s: %w", what, e)
			}
		}); err != nil && serr == nil {
			serr = err
		}
	}
	// Several ports may share 319/320 on different interfaces.
	step("SO_REUSEADDR", func(fd int) error { return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1) })
	// A unicast grandmaster's socket takes the Delay_Req of thousands of
	// clients, and the event socket's error queue, which shares the
	// receive buffer, the transmit timestamps of a round of their Syncs:
	// with the default buffer (rmem_default, 208 KiB) a round of 1,000
	// Syncs beside 16,000 Delay_Req a second overflowed it, and the
	// kernel dropped transmit timestamps (ptp4l then faults, as we did).
	// The memory is used only while messages wait.
	step("SO_RCVBUF", func(fd int) error { return setRcvbuf(fd, rcvbuf) })
	step("SO_BINDTODEVICE", func(fd int) error { return unix.BindToDevice(fd, ifi.Name) })
	tos := dscp << 2
	if family == unix.AF_INET {
		step("bind", func(fd int) error { return unix.Bind(fd, &unix.SockaddrInet4{Port: port}) })
		step("IP_MULTICAST_IF", func(fd int) error {
			return unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, &unix.IPMreqn{Ifindex: int32(ifi.Index)})
		})
		for _, g := range groups {
			step("IP_ADD_MEMBERSHIP "+g.IP.String(), func(fd int) error {
				return unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP,
					&unix.IPMreqn{Multiaddr: g.IP.As4(), Ifindex: int32(ifi.Index)})
			})
		}
		step("IP_MULTICAST_LOOP", func(fd int) error { return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, 0) })
		step("IP_MULTICAST_TTL", func(fd int) error { return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, cfg.TTL) })
		if tos != 0 {
			step("IP_TOS", func(fd int) error { return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TOS, tos) })
		}
	} else {
		step("bind", func(fd int) error { return unix.Bind(fd, &unix.SockaddrInet6{Port: port}) })
		step("IPV6_MULTICAST_IF", func(fd int) error {
			return unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, ifi.Index)
		})
		for _, g := range groups {
			step("IPV6_ADD_MEMBERSHIP "+g.IP.String(), func(fd int) error {
				return unix.SetsockoptIPv6Mreq(fd, unix.IPPROTO_IPV6, unix.IPV6_ADD_MEMBERSHIP,
					&unix.IPv6Mreq{Multiaddr: g.IP.As16(), Interface: uint32(ifi.Index)})
			})
		}
		step("IPV6_MULTICAST_LOOP", func(fd int) error { return unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP, 0) })
		step("IPV6_MULTICAST_HOPS", func(fd int) error {
			return unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, cfg.TTL)
		})
		if tos != 0 {
			step("IPV6_TCLASS", func(fd int) error { return unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_TCLASS, tos) })
		}
	}
	if serr != nil {
		return fail("setup", serr)
	}
	c := newConn(name, rc, s, family, cfg.Timestamping, cfg.TxTimestampTimeout)
	c.emu = cfg.Emulated
	// The general socket gets receive timestamps too (they tell when a
	// Follow_Up arrived), but no transmit timestamps.
	if err := c.enableTimestamping(cfg.Timestamping, port == EventPort); err != nil {
		return fail("timestamping", err)
	}
	c.port = uint16(port)
	return c, nil
}
