package config

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/roko-network/roko-ptpd/bmca"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// Engine builds the clock's and its ports' engine configuration from the
// config, for the interfaces given (ptp4l -i and the [interface] sections).
// mac is the first interface's hardware address, from which the clock
// identity is derived unless clockIdentity is set.
func (c *Config) Engine(mac net.HardwareAddr) (engine.ClockConfig, []engine.PortConfig, error) {
	const g = "global"
	var id ptp.ClockIdentity
	if s := c.String(g, "clockIdentity"); s != "" && s != "000000.0000.000000" {
		var err error
		if id, err = ptp.ParseClockIdentity(s); err != nil {
			return engine.ClockConfig{}, nil, fmt.Errorf("clockIdentity: %w", err)
		}
	} else {
		var ok bool
		if id, ok = ptp.ClockIdentityFromMAC(mac); !ok {
			return engine.ClockConfig{}, nil, fmt.Errorf("no clock identity: the interface has no 48-bit MAC address; set clockIdentity")
		}
	}
	cmp, err := bmca.ParseComparison(c.String(g, "dataset_comparison"))
	if err != nil {
		return engine.ClockConfig{}, nil, err
	}
	cc := engine.DefaultClockConfig(id)
	cc.Priority1 = uint8(c.Int(g, "priority1"))
	cc.Priority2 = uint8(c.Int(g, "priority2"))
	cc.ClockQuality = ptp.ClockQuality{
		ClockClass:              uint8(c.Int(g, "clockClass")),
		ClockAccuracy:           ptp.ClockAccuracy(c.Int(g, "clockAccuracy")),
		OffsetScaledLogVariance: uint16(c.Int(g, "offsetScaledLogVariance")),
	}
	cc.DomainNumber = uint8(c.Int(g, "domainNumber"))
	cc.SlaveOnly = c.Bool(g, "clientOnly")
	cc.TwoStep = c.Bool(g, "twoStepFlag")
	cc.LocalPriority = uint8(c.Int(g, "G.8275.defaultDS.localPriority"))
	cc.Comparison = cmp
	cc.FreeRunning = c.Bool(g, "free_running")
	cc.UTCOffset = int16(c.Int(g, "utc_offset"))
	// As ptp4l: a grandmaster announces the PTP timescale.
	cc.TimeFlags = ptp.FlagPTPTimescale
	cc.TimeSource = ptp.TimeSource(c.Int(g, "timeSource"))
	cc.MaxStepsRemoved = uint16(c.Int(g, "maxStepsRemoved"))
	cc.FirstStepThreshold = int64(c.Float(g, "first_step_threshold") * float64(time.Second))
	cc.StepThreshold = int64(c.Float(g, "step_threshold") * float64(time.Second))
	cc.MinorVersionPTP = uint8(c.Int(g, "ptp_minor_version"))
	cc.NetworkManagementSet = c.Bool(g, "allow_network_set")
	cc.UserDescription = c.String(g, "userDescription")

	ifaces := c.Interfaces()
	if len(ifaces) == 0 {
		return engine.ClockConfig{}, nil, fmt.Errorf("no interface: give one with -i or an [interface] section")
	}
	ports := make([]engine.PortConfig, 0, len(ifaces))
	for _, name := range ifaces {
		p := engine.DefaultPortConfig(name)
		p.LogAnnounceInterval = int8(c.Int(name, "logAnnounceInterval"))
		p.LogSyncInterval = int8(c.Int(name, "logSyncInterval"))
		p.LogMinDelayReqInterval = int8(c.Int(name, "logMinDelayReqInterval"))
		p.LogMinPdelayReqInterval = int8(c.Int(name, "logMinPdelayReqInterval"))
		p.AnnounceReceiptTimeout = uint8(c.Int(name, "announceReceiptTimeout"))
		switch dm := strings.ToUpper(c.String(name, "delay_mechanism")); dm {
		case "E2E":
			p.DelayMechanism = ptp.DelayMechanismE2E
		case "P2P":
			p.DelayMechanism = ptp.DelayMechanismP2P
		default:
			return engine.ClockConfig{}, nil, fmt.Errorf("[%s] delay_mechanism %s: roko-ptpd has E2E and P2P", name, dm)
		}
		p.DelayAsymmetry = c.Int(name, "delayAsymmetry")
		p.MasterOnly = c.Bool(name, "serverOnly")
		p.NoopBMCA = strings.EqualFold(c.String(name, "BMCA"), "noop")
		p.DelayFilter = c.String(name, "delay_filter")
		p.DelayFilterLength = int(c.Int(name, "delay_filter_length"))
		p.FaultResetInterval = int8(c.Int(name, "fault_reset_interval"))
		p.LocalPriority = uint8(c.Int(name, "G.8275.portDS.localPriority"))
		p.IgnoreTransportSpecific = c.Bool(name, "ignore_transport_specific")
		p.CheckFupSync = c.Bool(g, "check_fup_sync")
		p.MsgIntervalRequest = c.Bool(name, "msg_interval_request")
		p.OperLogSyncInterval = int8(c.Int(name, "operLogSyncInterval"))
		p.OperLogPdelayReqInterval = int8(c.Int(name, "operLogPdelayReqInterval"))
		if ts := c.Int(name, "transportSpecific"); ts != 0 {
			cc.MajorSdoID = uint8(ts)
		}
		ports = append(ports, p)
	}
	return cc, ports, nil
}
