package config

import (
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// clockType reads clock_type into s.Clock.Type and checks a transparent
// clock's interfaces as ptp4l does: at least two, and the delay mechanism
// of its kind on every one.
func (c *Config) clockType(s *Settings) error {
	const g = "global"
	switch c.str(g, "clock_type") {
	case "E2E_TC":
		s.Clock.Type = engine.E2ETransparent
	case "P2P_TC":
		s.Clock.Type = engine.P2PTransparent
	default:
		return nil // OC and BC: chosen by the number of ports
	}
	if len(s.Ports) < 2 {
		return c.errorAt(g, "clock_type", "clock_type %s: a transparent clock needs at least two interfaces", c.str(g, "clock_type"))
	}
	want, name := ptp.DelayMechanismE2E, "E2E"
	if s.Clock.Type == engine.P2PTransparent {
		want, name = ptp.DelayMechanismP2P, "P2P"
	}
	for _, p := range s.Ports {
		if p.JBOD {
			// Residence time is an egress timestamp minus an ingress one:
			// on two PHCs it would mix two timescales.
			return c.errorAt(p.Interface, "boundary_clock_jbod", "[%s] clock_type %s with boundary_clock_jbod: a transparent clock measures residence on one clock", p.Interface, c.str(g, "clock_type"))
		}
		if p.Engine.DelayMechanism != want {
			return c.errorAt(p.Interface, "delay_mechanism", "[%s] clock_type %s needs delay_mechanism %s", p.Interface, c.str(g, "clock_type"), name)
		}
	}
	return nil
}
