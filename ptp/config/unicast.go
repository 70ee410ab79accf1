package config

import (
	"errors"
	"net"
	"net/netip"
	"strconv"

	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// unicastSettings resolves the unicast options of port name (unicast_listen,
// inhibit_multicast_service, unicast_master_table, unicast_req_duration)
// into p. A port's table is the [unicast_master_table] section whose
// table_id it names; its entries of the port's network_transport are its
// masters, as linuxptp queries only those (the others are warned of).
func (c *Config) unicastSettings(name string, transport ptp.NetworkProtocol, p *engine.PortConfig) error {
	p.UnicastListen = c.bool(name, "unicast_listen")
	p.InhibitMulticastService = c.bool(name, "inhibit_multicast_service")
	p.UnicastReqDuration = uint32(c.int(name, "unicast_req_duration"))
	id := int(c.int(name, "unicast_master_table"))
	if id == 0 {
		return nil
	}
	var table *UnicastMasterTable
	for i := range c.umt {
		if c.umt[i].ID == id {
			table = &c.umt[i]
			break
		}
	}
	if table == nil {
		return c.errorAt(name, "unicast_master_table", "[%s] unicast_master_table %d: no table with id %d", name, id, id)
	}
	p.LogQueryInterval = int8(max(min(table.LogQueryInterval, 30), -30))
	want := map[ptp.NetworkProtocol]string{ptp.ProtocolUDPIPv4: "UDPv4", ptp.ProtocolUDPIPv6: "UDPv6", ptp.ProtocolIEEE802_3: "L2"}[transport]
	for _, e := range table.Entries {
		a, err := parseUnicastAddr(e.Transport, e.Address)
		if err != nil {
			return &Error{File: c.File, Line: table.Line, Option: "unicast_master_table",
				Msg: "unicast_master_table " + strconv.Itoa(id) + ": bad " + e.Transport + " address " + e.Address}
		}
		if e.Transport != want {
			c.warn(table.Line, "unicast_master_table", "[%s] unicast master %s %s: the port's network_transport is %s; this master is not queried", name, e.Transport, e.Address, want)
			continue
		}
		p.UnicastMasters = append(p.UnicastMasters, a)
	}
	if len(p.UnicastMasters) == 0 {
		return c.errorAt(name, "unicast_master_table", "[%s] unicast_master_table %d: no %s master in the table", name, id, want)
	}
	if table.PeerAddress != "" {
		// As linuxptp: an address of the port's transport, used only
		// with P2P (where linuxptp ignores it silently, a warning).
		a, err := parseUnicastAddr(want, table.PeerAddress)
		if err != nil {
			return &Error{File: c.File, Line: table.Line, Option: "unicast_master_table",
				Msg: "unicast_master_table " + strconv.Itoa(id) + ": bad peer_address " + table.PeerAddress + " for " + want}
		}
		if p.DelayMechanism != ptp.DelayMechanismP2P {
			c.warn(table.Line, "unicast_master_table", "[%s] unicast_master_table %d: peer_address has no effect with delay_mechanism E2E", name, id)
		}
		p.UnicastPeer = a
	}
	return nil
}

// parseUnicastAddr reads address as one of transport (UDPv4, UDPv6, L2).
func parseUnicastAddr(transport, address string) (engine.Addr, error) {
	var a engine.Addr
	switch transport {
	case "UDPv4", "UDPv6":
		ip, err := netip.ParseAddr(address)
		if err != nil || ip.Is4() != (transport == "UDPv4") {
			return a, errors.New("bad address")
		}
		a.IP = netip.AddrPortFrom(ip, 0)
	case "L2":
		mac, err := net.ParseMAC(address)
		if err != nil || len(mac) != 6 {
			return a, errors.New("bad address")
		}
		a.MAC = [6]byte(mac)
	}
	return a, nil
}
