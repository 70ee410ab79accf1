package config

import (
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/auth"
)

// ManagementSettings is what a management client reads from a
// configuration file's [global] section and its own long options, as
// linuxptp 4.4's pmc -f and phc2sys -f do: where and how to ask, and the
// security association that signs its requests and checks the answers.
// Every other option of the file (a daemon's ptp4l.conf, usually) is the
// daemon's business and is not looked at.
type ManagementSettings struct {
	// Network is network_transport: ptp.ProtocolUDPIPv4 (the default),
	// ptp.ProtocolUDPIPv6 or ptp.ProtocolIEEE802_3.
	Network ptp.NetworkProtocol
	// Domain is domainNumber.
	Domain uint8
	// TransportSpecific is transportSpecific, the majorSdoId nibble.
	TransportSpecific uint8
	// UDSAddress is uds_address, the daemon's UNIX socket.
	UDSAddress string
	// Security, when not nil, is [global]'s spp and active_key_id in
	// sa_file: every request is signed with it and every answer checked.
	Security *Security
	// AllowUnauth is allow_unauth: which answers are taken that fail
	// authentication (only with Security).
	AllowUnauth auth.AllowUnauth
}

// Management types the options a management client takes. It checks spp,
// active_key_id and sa_file as linuxptp's sad_readiness_check does, and
// nothing a daemon alone needs (one-step time stamping, the PTP minor
// version), so that a client may read its daemon's own file.
func (c *Config) Management() (*ManagementSettings, error) {
	const g = "global"
	m := &ManagementSettings{
		Domain:            uint8(c.int(g, "domainNumber")),
		TransportSpecific: uint8(c.int(g, "transportSpecific")),
		UDSAddress:        c.str(g, "uds_address"),
		AllowUnauth:       auth.AllowUnauth(c.int(g, "allow_unauth")),
	}
	switch nt := c.str(g, "network_transport"); nt {
	case "L2":
		m.Network = ptp.ProtocolIEEE802_3
	case "UDPv6":
		m.Network = ptp.ProtocolUDPIPv6
	default:
		m.Network = ptp.ProtocolUDPIPv4
	}
	db, err := c.saDatabase()
	if err != nil {
		return nil, err
	}
	if m.Security, err = c.securityOf(g, db); err != nil {
		return nil, err
	}
	return m, nil
}
