package transport

import (
	"fmt"

	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"
)

// OpenL2 opens a port's IEEE 802.3 transport (IEEE 1588-2019 Annex E): one
// packet socket for EtherType 0x88F7 on the interface, a member of the
// ptp_dst_mac and p2p_dst_mac multicast groups, sending from the
// interface's own MAC address.
func OpenL2(cfg Config) (*Transport, error) {
	cfg = cfg.withDefaults()
	ifi, err := interfaceByName(cfg.Interface)
	if err != nil {
		return nil, err
	}
	if len(ifi.HardwareAddr) != 6 {
		return nil, fmt.Errorf("transport: interface %s has no Ethernet address: use UDP (-4 or -6)", ifi.Name)
	}
	if err := checkTimestamping(ifi.Name, cfg.Timestamping, true, cfg.Emulated); err != nil {
		return nil, err
	}
	name := ifi.Name + " l2"
	pc, err := packet.Listen(ifi, packet.Raw, EtherType, nil)
	if err != nil {
		if isPerm(err) {
			return nil, fmt.Errorf("transport: %s: %w: raw sockets need root or CAP_NET_RAW", name, err)
		}
		return nil, fmt.Errorf("transport: %s: %w", name, err)
	}
	for _, g := range []struct {
		opt string
		mac []byte
	}{{"ptp_dst_mac", cfg.PTPDstMAC}, {"p2p_dst_mac", cfg.P2PDstMAC}} {
		if err := pc.JoinGroup(g.mac); err != nil {
			pc.Close()
			return nil, fmt.Errorf("transport: %s: joining %s %s: %w", name, g.opt, g.mac, err)
		}
	}
	rc, err := pc.SyscallConn()
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("transport: %s: %w", name, err)
	}
	c := newConn(name, rc, pc, unix.AF_PACKET, cfg.Timestamping, cfg.TxTimestampTimeout)
	c.emu = cfg.Emulated
	c.l2 = true
	copy(c.l2hdr[6:12], ifi.HardwareAddr)
	c.l2hdr[12], c.l2hdr[13] = EtherType>>8, EtherType&0xff
	if err := c.enableTimestamping(cfg.Timestamping, true); err != nil {
		pc.Close()
		return nil, fmt.Errorf("transport: %s: %w", name, err)
	}
	primary, _ := MACAddr(cfg.PTPDstMAC)
	pdelay, _ := MACAddr(cfg.P2PDstMAC)
	return &Transport{Event: c, General: c, Primary: primary, PeerDelay: pdelay, Interface: ifi.Name, MAC: ifi.HardwareAddr}, nil
}

func isPerm(err error) bool {
	for e := err; e != nil; {
		if e == unix.EPERM || e == unix.EACCES {
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}
