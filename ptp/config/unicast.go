package config

import (
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
	if table.PeerAddress != "" {
		return &Error{File: c.File, Line: table.Line, Option: "unicast_master_table",
			Msg: "unicast_master_table " + strconv.Itoa(id) + ": peer_address (unicast Pdelay_Req, P2P) is not implemented: roko-ptpd would send its Pdelay_Req by multicast"}
	}
	p.LogQueryInterval = int8(max(min(table.LogQueryInterval, 30), -30))
	want := map[ptp.NetworkProtocol]string{ptp.ProtocolUDPIPv4: "UDPv4", ptp.ProtocolUDPIPv6: "UDPv6", ptp.ProtocolIEEE802_3: "L2"}[transport]
	for _, e := range table.Entries {
		var a engine.Addr
		switch e.Transport {
		case "UDPv4", "UDPv6":
			ip, err := netip.ParseAddr(e.Address)
			if err != nil || ip.Is4() != (e.Transport == "UDPv4") {
				return &Error{File: c.File, Line: table.Line, Option: "unicast_master_table",
					Msg: "unicast_master_table " + strconv.Itoa(id) + ": bad " + e.Transport + " address " + e.Address}
			}
			a.IP = netip.AddrPortFrom(ip, 0)
		case "L2":
			mac, err := net.ParseMAC(e.Address)
			if err != nil || len(mac) != 6 {
				return &Error{File: c.File, Line: table.Line, Option: "unicast_master_table",
					Msg: "unicast_master_table " + strconv.Itoa(id) + ": bad L2 address " + e.Address}
			}
			a.MAC = [6]byte(mac)
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
	return nil
}
