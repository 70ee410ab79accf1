package engine

import "github.com/roko-network/roko-ptpd/ptp"

// The clock's data sets in their management form (IEEE 1588-2019 clause 8,
// 15.5.3), for the management server and monitoring. Each returns a copy.

// DefaultDS returns defaultDS.
func (c *Clock) DefaultDS() ptp.DefaultDataSet {
	d0 := c.local()
	ds := ptp.DefaultDataSet{
		NumberPorts:   uint16(len(c.ports)),
		Priority1:     c.cfg.Priority1,
		ClockQuality:  d0.GrandmasterClockQuality,
		Priority2:     c.cfg.Priority2,
		ClockIdentity: c.cfg.ClockIdentity,
		DomainNumber:  c.cfg.DomainNumber,
	}
	if c.cfg.TwoStep {
		ds.Flags |= ptp.DefaultDSTwoStep
	}
	if c.cfg.SlaveOnly {
		ds.Flags |= ptp.DefaultDSSlaveOnly
	}
	return ds
}

// CurrentDS returns currentDS: stepsRemoved, and the last offset and path
// delay measured.
func (c *Clock) CurrentDS() ptp.CurrentDataSet {
	return ptp.CurrentDataSet{
		StepsRemoved:     c.stepsRemoved,
		OffsetFromMaster: ptp.TimeIntervalFromNanoseconds(c.offsetFromMaster),
		MeanPathDelay:    ptp.TimeIntervalFromNanoseconds(c.meanPathDelay),
	}
}

// ParentDS returns parentDS.
func (c *Clock) ParentDS() ptp.ParentDataSet { return c.parent }

// TimePropertiesDS returns timePropertiesDS.
func (c *Clock) TimePropertiesDS() ptp.TimePropertiesDataSet { return c.timeProps }

// TimeStatus returns linuxptp's TIME_STATUS_NP: the last offset and its
// ingress time, and whether a remote grandmaster is followed.
func (c *Clock) TimeStatus() ptp.TimeStatusNP {
	ts := ptp.TimeStatusNP{
		MasterOffset: c.offsetFromMaster,
		IngressTime:  c.ingressTime,
		GmIdentity:   c.parent.GrandmasterIdentity,
	}
	if c.bestPort >= 0 {
		ts.GmPresent = 1
	}
	return ts
}

// Frequency returns the frequency adjustment the servo last set, in ppb.
func (c *Clock) Frequency() float64 { return c.frequency }

// PortDS returns the portDS of port i.
func (c *Clock) PortDS(i int) ptp.PortDataSet {
	p := c.ports[i]
	ds := ptp.PortDataSet{
		PortIdentity:            p.id,
		PortState:               p.state.Wire(),
		LogMinDelayReqInterval:  p.logMinDelayReqInterval,
		LogAnnounceInterval:     p.cfg.LogAnnounceInterval,
		AnnounceReceiptTimeout:  p.cfg.AnnounceReceiptTimeout,
		LogSyncInterval:         p.logSyncInterval,
		DelayMechanism:          p.cfg.DelayMechanism,
		LogMinPdelayReqInterval: p.logPdelayReqInterval,
		VersionNumber:           c.cfg.MinorVersionPTP<<4 | ptp.VersionPTP2,
	}
	if p.cfg.DelayMechanism == ptp.DelayMechanismP2P {
		ds.PeerMeanPathDelay = ptp.TimeIntervalFromNanoseconds(p.peerDelay)
	}
	return ds
}
