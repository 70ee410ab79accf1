package config

import (
	"os"

	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/auth"
)

// Security is what a port (or the management socket) applies to every
// message it sends and receives (IEEE 1588-2019 16.14, as linuxptp 4.4):
// the security association its spp names and the key its active_key_id
// names for outbound messages. Inbound messages may use any key of the
// association.
type Security struct {
	SA  *auth.SecurityAssociation
	Key *auth.Key
}

// security reads sa_file and each port's spp and active_key_id, with
// linuxptp's readiness checks (sad_readiness_check, port_open): spp needs
// sa_file, an association of that spp and an active_key_id of one of its
// keys; active_key_id needs spp; one-step timestamping and PTP v2.0 cannot
// carry the TLV. The management socket takes [global]'s, as ptp4l's UNIX
// port does (it has no section of its own).
func (c *Config) security(s *Settings) error {
	const g = "global"
	db, err := c.saDatabase()
	if err != nil {
		return err
	}
	sec := func(section string) (*Security, error) {
		sc, err := c.securityOf(section, db)
		if sc == nil || err != nil {
			return nil, err
		}
		where, spp := c.where(section), c.int(section, "spp")
		if s.Timestamping == ptp.TimestampingOneStep {
			return nil, c.errorAt(section, "spp", "%sspp %d: not with one-step time stamping (the NIC writes the Sync's time after the ICV is computed)", where, spp)
		}
		if s.Clock.MinorVersionPTP < 1 {
			return nil, c.errorAt(section, "spp", "%sspp %d needs ptp_minor_version 1 (IEEE 1588-2019)", where, spp)
		}
		return sc, nil
	}
	// [global] first, so that a mistake there is named once, as itself.
	if s.UDSSecurity, err = sec(g); err != nil {
		return err
	}
	for i := range s.Ports {
		if s.Ports[i].Security, err = sec(s.Ports[i].Interface); err != nil {
			return err
		}
	}
	return nil
}

// saDatabase loads [global]'s sa_file; nil without one.
func (c *Config) saDatabase() (*auth.Database, error) {
	const g = "global"
	path := c.str(g, "sa_file")
	if path == "" {
		return nil, nil
	}
	db, err := auth.LoadSAFile(path)
	if err != nil {
		return nil, c.errorAt(g, "sa_file", "sa_file %s: %v", path, err)
	}
	c.checkSAFileMode(path)
	return db, nil
}

// checkSAFileMode warns, once, when the sa_file (whose keys are shared
// secrets: whoever reads them can sign as a grandmaster) may be read or
// written by its group or others, as ssh warns about a private key file.
// A warning, not a refusal: ptp4l reads any file it can.
func (c *Config) checkSAFileMode(path string) {
	fi, err := os.Stat(path)
	if err != nil || c.warnedSA || fi.Mode().Perm()&0o077 == 0 {
		return
	}
	c.warnedSA = true
	e := c.errorAt("global", "sa_file", "sa_file %s is accessible by group or others (mode %04o): its keys are shared secrets; chmod 600 %s", path, fi.Mode().Perm(), path)
	c.Warnings = append(c.Warnings, Warning{File: e.File, Line: e.Line, Option: e.Option, Msg: e.Msg})
}

// where is "[eth0] " when section (an interface) sets spp or
// active_key_id itself, for messages; "" for [global]'s.
func (c *Config) where(section string) string {
	if section == "global" {
		return ""
	}
	if ps := c.findSection(c.ports, section); ps != nil {
		_, a := ps.values["spp"]
		_, b := ps.values["active_key_id"]
		if a || b {
			return "[" + section + "] "
		}
	}
	return ""
}

// securityOf is section's spp and active_key_id checked as linuxptp's
// sad_readiness_check does (what pmc and phc2sys check too): spp needs
// sa_file, an association of that spp and an active_key_id of one of its
// keys; active_key_id needs spp. nil when section has no spp.
func (c *Config) securityOf(section string, db *auth.Database) (*Security, error) {
	spp, keyID := c.int(section, "spp"), c.int(section, "active_key_id")
	where, path := c.where(section), c.str("global", "sa_file")
	if spp < 0 {
		if keyID > 0 {
			return nil, c.errorAt(section, "active_key_id", "%sactive_key_id %d needs spp", where, keyID)
		}
		return nil, nil
	}
	if path == "" {
		return nil, c.errorAt(section, "spp", "%sspp %d needs sa_file", where, spp)
	}
	sa := db.Lookup(uint8(spp))
	if sa == nil {
		return nil, c.errorAt(section, "spp", "%sspp %d: sa_file %s has no security association with spp %d", where, spp, path, spp)
	}
	if keyID == 0 {
		return nil, c.errorAt(section, "spp", "%sspp %d needs active_key_id", where, spp)
	}
	k := sa.Key(uint32(keyID))
	if k == nil {
		return nil, c.errorAt(section, "active_key_id", "%sactive_key_id %d: security association %d of %s has no key %d", where, keyID, spp, path, keyID)
	}
	return &Security{SA: sa, Key: k}, nil
}
