package transport

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// Config says how to open a port's transport. Zero fields take ptp4l's
// defaults.
type Config struct {
	// Interface is the network interface, for example "eth0".
	Interface string
	// Timestamping is time_stamping (default Hardware, as in ptp4l).
	Timestamping Timestamping
	// TxTimestampTimeout is tx_timestamp_timeout (default 10 ms, linuxptp
	// 4.x's).
	TxTimestampTimeout time.Duration
	// PTPDstMAC and P2PDstMAC are ptp_dst_mac and p2p_dst_mac (L2): where
	// messages go and the groups joined to hear them (default
	// 01:1B:19:00:00:00 and 01:80:C2:00:00:0E).
	PTPDstMAC, P2PDstMAC net.HardwareAddr
	// PTPDstIPv4 and P2PDstIPv4 are ptp_dst_ipv4 and p2p_dst_ipv4 (UDPv4
	// multicast groups, default 224.0.1.129 and 224.0.0.107).
	PTPDstIPv4, P2PDstIPv4 netip.Addr
	// PTPDstIPv6 is the UDPv6 primary group as sent to: ptp_dst_ipv6 with
	// udp6_scope in its second byte, as linuxptp's udp6.c makes it. The
	// zero value means ff0X::181 with X from UDP6Scope. P2PDstIPv6 is
	// p2p_dst_ipv6 (default ff02::6b).
	PTPDstIPv6, P2PDstIPv6 netip.Addr
	// TTL is udp_ttl (default 1).
	TTL int
	// DSCPEvent and DSCPGeneral are dscp_event and dscp_general (default 0).
	DSCPEvent, DSCPGeneral int
	// UDP6Scope is udp6_scope (default 0x0E).
	UDP6Scope uint8
	// Emulated, when set, makes the interface behave as a NIC with a PTP
	// hardware clock for Hardware and OneStep timestamping (see NIC).
	Emulated *NIC
}

func (c Config) withDefaults() Config {
	if c.Timestamping == 0 {
		c.Timestamping = Hardware
	}
	if c.TxTimestampTimeout == 0 {
		c.TxTimestampTimeout = 10 * time.Millisecond
	}
	if c.PTPDstMAC == nil {
		c.PTPDstMAC = L2PrimaryMAC
	}
	if c.P2PDstMAC == nil {
		c.P2PDstMAC = L2PeerDelayMAC
	}
	if c.TTL == 0 {
		c.TTL = 1
	}
	if c.UDP6Scope == 0 {
		c.UDP6Scope = 0x0e
	}
	if !c.PTPDstIPv4.IsValid() {
		c.PTPDstIPv4 = IPv4Primary
	}
	if !c.P2PDstIPv4.IsValid() {
		c.P2PDstIPv4 = IPv4PeerDelay
	}
	if !c.PTPDstIPv6.IsValid() {
		c.PTPDstIPv6 = IPv6Primary(c.UDP6Scope)
	}
	if !c.P2PDstIPv6.IsValid() {
		c.P2PDstIPv6 = IPv6PeerDelay
	}
	return c
}

// destinations returns the transport's primary and peer delay groups for
// family (AF_INET or AF_INET6), checked: a UDP transport can only join a
// multicast group of its own family.
func (c Config) destinations(family int) (primary, peerDelay Addr, err error) {
	groups := []struct {
		opt  string
		addr netip.Addr
	}{{"ptp_dst_ipv4", c.PTPDstIPv4}, {"p2p_dst_ipv4", c.P2PDstIPv4}}
	if family == unix.AF_INET6 {
		groups[0].opt, groups[0].addr = "ptp_dst_ipv6", c.PTPDstIPv6
		groups[1].opt, groups[1].addr = "p2p_dst_ipv6", c.P2PDstIPv6
	}
	for _, g := range groups {
		if !g.addr.IsMulticast() || g.addr.Is4() != (family == unix.AF_INET) || g.addr.Zone() != "" {
			return Addr{}, Addr{}, fmt.Errorf("transport: %s: %s %s is not a multicast group of this transport", c.Interface, g.opt, g.addr)
		}
	}
	return Addr{IP: groups[0].addr}, Addr{IP: groups[1].addr}, nil
}

// Transport is one port's pair of sockets: event messages (Sync,
// Delay_Req, Pdelay_Req, Pdelay_Resp) through Event, general ones through
// General. On L2 both are the same socket.
type Transport struct {
	Event   *Conn
	General *Conn
	// Primary and PeerDelay are the multicast destinations for this
	// transport (PTP's primary address and the peer delay address). For
	// UDP they carry no port: each connection sends to its own (319 for
	// Event, 320 for General).
	Primary, PeerDelay Addr
	// Interface is the network interface the transport is bound to.
	Interface string
	// MAC is the interface's hardware address (nil if it has none).
	MAC net.HardwareAddr
}

// SendEvent sends an event message to dst through the event connection and
// returns its transmit timestamp (ns since the epoch).
func (t *Transport) SendEvent(b []byte, dst Addr) (int64, error) { return t.Event.SendEvent(b, dst) }

// SendGeneral sends a general message to dst through the general
// connection.
func (t *Transport) SendGeneral(b []byte, dst Addr) error { return t.General.Send(b, dst) }

// Batcher is an Endpoint that also sends in batches (see Conn.Queue and
// Conn.QueueEvent): *Transport is one.
type Batcher interface {
	// QueueGeneral queues a general message; tag comes back to fail with
	// the error if the kernel refuses it when the queue is sent.
	QueueGeneral(b []byte, dst Addr, tag uint64, fail func(tag uint64, err error)) error
	// Flush sends the queued general messages.
	Flush(fail func(tag uint64, err error))
	// QueueEvent queues an event message, at most EventBatchLen before
	// FlushEvents.
	QueueEvent(b []byte, dst Addr) error
	// FlushEvents sends the queued event messages and sets ts[i] and
	// errs[i] to message i's transmit timestamp or failure.
	FlushEvents(ts []int64, errs []error)
}

var _ Batcher = (*Transport)(nil)

// QueueGeneral implements Batcher on the general connection.
func (t *Transport) QueueGeneral(b []byte, dst Addr, tag uint64, fail func(uint64, error)) error {
	return t.General.Queue(b, dst, tag, fail)
}

// Flush implements Batcher.
func (t *Transport) Flush(fail func(uint64, error)) { t.General.Flush(fail) }

// QueueEvent implements Batcher on the event connection.
func (t *Transport) QueueEvent(b []byte, dst Addr) error { return t.Event.QueueEvent(b, dst) }

// FlushEvents implements Batcher.
func (t *Transport) FlushEvents(ts []int64, errs []error) { t.Event.FlushEvents(ts, errs) }

// Endpoint is one port's transport as an event loop uses it. *Transport
// is one, on the kernel's sockets; a Segment's member is another, for
// running the loop in a test without root.
type Endpoint interface {
	// SendEvent sends an event message and returns its transmit
	// timestamp, ns on the clock that took it (see RxInfo.Time).
	SendEvent(b []byte, dst Addr) (int64, error)
	// SendGeneral sends a general message.
	SendGeneral(b []byte, dst Addr) error
	// Receivers are the descriptors the loop polls for received messages.
	Receivers() []Receiver
	// Destinations returns PTP's primary multicast address and the peer
	// delay address on this transport.
	Destinations() (primary, peerDelay Addr)
	// HardwareAddr is the port's MAC address, from which a clock identity
	// is made (nil if it has none).
	HardwareAddr() net.HardwareAddr
	// Close releases the transport.
	Close() error
}

// Receiver is one descriptor an event loop polls: a socket of a
// Transport, or a Segment member's end.
type Receiver interface {
	// FD is the descriptor to poll for readability.
	FD() (int, error)
	// TryReceive reads one message without blocking, or returns
	// ErrWouldBlock.
	TryReceive(b []byte, info *RxInfo) (int, error)
	// DrainErrQueue reads what the socket's error queue holds (transmit
	// timestamps that came after their send gave up); the loop calls it
	// when the descriptor reports an error condition.
	DrainErrQueue()
}

var (
	_ Endpoint = (*Transport)(nil)
	_ Receiver = (*Conn)(nil)
)

// Conns returns the distinct connections.
func (t *Transport) Conns() []*Conn {
	if t.General == nil || t.General == t.Event {
		return []*Conn{t.Event}
	}
	return []*Conn{t.Event, t.General}
}

// Receivers implements Endpoint: the distinct connections.
func (t *Transport) Receivers() []Receiver {
	cs := t.Conns()
	out := make([]Receiver, len(cs))
	for i, c := range cs {
		out[i] = c
	}
	return out
}

// Destinations implements Endpoint.
func (t *Transport) Destinations() (primary, peerDelay Addr) { return t.Primary, t.PeerDelay }

// HardwareAddr implements Endpoint.
func (t *Transport) HardwareAddr() net.HardwareAddr { return t.MAC }

// Close closes every connection.
func (t *Transport) Close() error {
	var first error
	for _, c := range t.Conns() {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// interfaceByName wraps net.InterfaceByName with an error that says what is
// missing and what to do.
func interfaceByName(name string) (*net.Interface, error) {
	if name == "" {
		return nil, fmt.Errorf("transport: no interface given (ptp4l -i, or an [interface] section)")
	}
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, fmt.Errorf("transport: interface %q not found: check the name with 'ip link' (%w)", name, err)
	}
	return ifi, nil
}

// CheckTimestamping reports whether ifname can timestamp in mode, with
// ptp4l's message when it cannot, without changing anything.
func CheckTimestamping(ifname string, mode Timestamping) error {
	return withTSInfo(ifname, func(_ int, info *unix.EthtoolTsInfo) error {
		return supports(ifname, mode, info)
	})
}

// withTSInfo asks the driver of ifname what it can timestamp
// (ETHTOOL_GET_TS_INFO) and hands the answer, and the socket it asked
// through, to f.
func withTSInfo(ifname string, f func(fd int, info *unix.EthtoolTsInfo) error) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("transport: %w", err)
	}
	defer unix.Close(fd)
	info, err := unix.IoctlGetEthtoolTsInfo(fd, ifname)
	if err != nil {
		return fmt.Errorf("transport: ETHTOOL_GET_TS_INFO on %s: %w", ifname, err)
	}
	return f(fd, info)
}

// supports checks the capabilities without configuring anything.
func supports(ifname string, mode Timestamping, info *unix.EthtoolTsInfo) error {
	if mode == Software {
		const need = unix.SOF_TIMESTAMPING_SOFTWARE | unix.SOF_TIMESTAMPING_TX_SOFTWARE | unix.SOF_TIMESTAMPING_RX_SOFTWARE
		if info.So_timestamping&need != need {
			return unsupported(ifname, mode)
		}
		return nil
	}
	const need = unix.SOF_TIMESTAMPING_TX_HARDWARE | unix.SOF_TIMESTAMPING_RX_HARDWARE | unix.SOF_TIMESTAMPING_RAW_HARDWARE
	if info.So_timestamping&need != need {
		return unsupported(ifname, mode)
	}
	return nil
}

// checkTimestamping asks the interface (ETHTOOL_GET_TS_INFO) whether it can
// timestamp as asked and, for hardware modes, turns hardware timestamping
// on (SIOCSHWTSTAMP) with the receive filter for the transport.
func checkTimestamping(ifname string, mode Timestamping, l2 bool, emu *NIC) error {
	if emu != nil {
		return applyTimestamping(ifname, mode, l2, emu.tsInfo(), emu.setHwTstamp)
	}
	return withTSInfo(ifname, func(fd int, info *unix.EthtoolTsInfo) error {
		return applyTimestamping(ifname, mode, l2, info, func(cfg *unix.HwTstampConfig) error {
			return unix.IoctlSetHwTstamp(fd, ifname, cfg)
		})
	})
}

// unsupported is ptp4l's wording, with the way out.
func unsupported(ifname string, mode Timestamping) error {
	hint := "use software timestamping (time_stamping software, or -S)"
	if mode == Software {
		hint = "the driver timestamps nothing; use another interface"
	}
	return fmt.Errorf("interface '%s' does not support requested timestamping mode (%s): %s; 'ethtool -T %s' shows what it supports",
		ifname, mode, hint, ifname)
}

// applyTimestamping turns hardware timestamping on through set
// (SIOCSHWTSTAMP, or an emulated NIC's) with the narrowest receive filter
// the driver offers.
func applyTimestamping(ifname string, mode Timestamping, l2 bool, info *unix.EthtoolTsInfo, set func(*unix.HwTstampConfig) error) error {
	if err := supports(ifname, mode, info); err != nil || mode == Software {
		return err
	}
	tx := int32(unix.HWTSTAMP_TX_ON)
	if mode == OneStep {
		tx = unix.HWTSTAMP_TX_ONESTEP_SYNC
	}
	if info.Tx_types&(1<<uint(tx)) == 0 {
		return unsupported(ifname, mode)
	}
	// Prefer the narrowest filter that catches PTP event messages: a filter
	// of ALL timestamps every packet, which costs CPU on busy hosts.
	filters := []int32{unix.HWTSTAMP_FILTER_PTP_V2_L4_EVENT, unix.HWTSTAMP_FILTER_PTP_V2_EVENT, unix.HWTSTAMP_FILTER_ALL}
	if l2 {
		filters[0] = unix.HWTSTAMP_FILTER_PTP_V2_L2_EVENT
	}
	for _, f := range filters {
		if info.Rx_filters&(1<<uint(f)) == 0 {
			continue
		}
		cfg := unix.HwTstampConfig{Tx_type: tx, Rx_filter: f}
		if err := set(&cfg); err != nil {
			if err == unix.EPERM {
				return fmt.Errorf("transport: SIOCSHWTSTAMP on %s: %w: run as root or grant CAP_NET_ADMIN", ifname, err)
			}
			return fmt.Errorf("transport: SIOCSHWTSTAMP on %s: %w", ifname, err)
		}
		return nil
	}
	return unsupported(ifname, mode)
}
