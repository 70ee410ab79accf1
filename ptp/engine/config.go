package engine

import (
	"fmt"

	"github.com/roko-network/roko-ptpd/bmca"
	"github.com/roko-network/roko-ptpd/ptp"
)

// ClockConfig is the configuration of a clock: its default data set and
// clock-wide behaviour, under the names of ptp4l.conf's [global] options.
// DefaultClockConfig gives linuxptp's defaults.
type ClockConfig struct {
	ClockIdentity ptp.ClockIdentity
	Priority1     uint8            // priority1
	Priority2     uint8            // priority2
	ClockQuality  ptp.ClockQuality // clockClass, clockAccuracy, offsetScaledLogVariance
	DomainNumber  uint8            // domainNumber
	SlaveOnly     bool             // clientOnly (slaveOnly)
	TwoStep       bool             // twoStepFlag
	// LocalPriority is G.8275.defaultDS.localPriority.
	LocalPriority uint8
	// Comparison is dataset_comparison: bmca.IEEE1588 or bmca.G8275.
	Comparison bmca.Comparison
	// FreeRunning is free_running: measure, never adjust the clock.
	FreeRunning bool
	// Type is clock_type: an ordinary or boundary clock (the zero value,
	// chosen by the number of ports) or one of the transparent clocks.
	Type ClockType
	// UTCTimescale says the local clock keeps UTC (CLOCK_REALTIME, or a
	// clock that follows it), as ptp4l's utc_timescale: a master on PTP's
	// timescale (TAI) is then followed at its time less the UTC offset,
	// and as grandmaster the clock announces the arbitrary timescale
	// (ptpTimescale is cleared from TimeFlags). A PHC keeps PTP's time.
	UTCTimescale bool
	// Time properties announced while this clock is the grandmaster.
	UTCOffset  int16          // utc_offset
	TimeFlags  ptp.Flags      // leap61, leap59, currentUtcOffsetValid, ptpTimescale, traceable bits
	TimeSource ptp.TimeSource // timeSource
	// MaxStepsRemoved is maxStepsRemoved: Announce messages with
	// stepsRemoved at or beyond it are not considered.
	MaxStepsRemoved uint16
	// FirstStepThreshold and StepThreshold are first_step_threshold and
	// step_threshold in nanoseconds (0 disables); the servo applies them,
	// the engine only carries them.
	FirstStepThreshold int64
	StepThreshold      int64
	// MinorVersionPTP is ptp_minor_version: 1 sends version 2.1 headers.
	MinorVersionPTP uint8
	// MajorSdoID is transportSpecific (majorSdoId) for every port.
	MajorSdoID uint8
	// SpikeLimit (nanoseconds; 0 disables) and SpikeTolerance are a roko
	// extension with no linuxptp equivalent: once a port is SLAVE, a
	// measured offset beyond SpikeLimit is set aside instead of being fed
	// to the servo, unless SpikeTolerance such samples arrive in a row
	// (then the master really moved, and the servo and step_threshold
	// decide). One forged or corrupted Sync therefore cannot drag a locked
	// clock.
	SpikeLimit     int64
	SpikeTolerance int
	// Timestamping is reported in PORT_PROPERTIES_NP.
	Timestamping ptp.Timestamping
	// NetworkManagementSet allows SET and COMMAND in management messages
	// from the network (roko-ptpd's allow_network_set); GETs are always
	// answered. The UNIX socket is governed by uds_address and
	// uds_ro_address instead.
	NetworkManagementSet bool
	// UserDescription is userDescription, for USER_DESCRIPTION and
	// CLOCK_DESCRIPTION.
	UserDescription string
}

// DefaultClockConfig returns linuxptp's defaults for identity id.
func DefaultClockConfig(id ptp.ClockIdentity) ClockConfig {
	return ClockConfig{
		ClockIdentity:      id,
		Priority1:          128,
		Priority2:          128,
		ClockQuality:       ptp.ClockQuality{ClockClass: 248, ClockAccuracy: ptp.AccuracyUnknown, OffsetScaledLogVariance: 0xffff},
		TwoStep:            true,
		LocalPriority:      128,
		Comparison:         bmca.IEEE1588,
		UTCOffset:          37,
		TimeSource:         ptp.TimeSourceInternalOscillator,
		MaxStepsRemoved:    255,
		FirstStepThreshold: 20_000,
		MinorVersionPTP:    1,
		SpikeLimit:         1_000_000,
		SpikeTolerance:     3,
	}
}

// PortConfig is the configuration of one port, under the names of
// ptp4l.conf's per-port options. DefaultPortConfig gives linuxptp's
// defaults.
type PortConfig struct {
	Name                    string // the interface, for log lines
	LogAnnounceInterval     int8   // logAnnounceInterval
	LogSyncInterval         int8   // logSyncInterval
	LogMinDelayReqInterval  int8   // logMinDelayReqInterval
	LogMinPdelayReqInterval int8   // logMinPdelayReqInterval
	AnnounceReceiptTimeout  uint8  // announceReceiptTimeout
	DelayMechanism          ptp.DelayMechanism
	// DelayAsymmetry is delayAsymmetry in nanoseconds: how much longer the
	// master-to-slave path is than the mean.
	DelayAsymmetry int64
	// EgressLatency and IngressLatency are egressLatency and
	// ingressLatency, ns: how much later than its transmit timestamp a
	// message crosses the port's reference plane, and how much later than
	// crossing it a message is stamped on receipt. As linuxptp's port.c,
	// EgressLatency is added to every transmit timestamp and
	// IngressLatency subtracted from every receive timestamp.
	EgressLatency, IngressLatency int64
	MasterOnly                    bool            // serverOnly (masterOnly)
	NoopBMCA                      bool            // BMCA noop
	DelayFilter                   DelayFilterKind // delay_filter
	DelayFilterLength             int             // delay_filter_length
	// DelayWindow (delay_window, roko-ptpd's own) is how many path delays
	// WindowedDelayFilter averages; 0 uses DelayFilter and
	// DelayFilterLength, as linuxptp does. DelayChangeCount
	// (delay_change_count) is how many outliers in a row on one side
	// restart its window.
	DelayWindow, DelayChangeCount int
	// DelayPairAge (delay_pair_age, ns) is, with a DelayWindow, how long
	// after the last Delay_Req a Sync may come and still be measured with
	// its own delay paired with that Delay_Req's (WindowedDelayFilter's
	// Paired); 0 never pairs.
	DelayPairAge int64
	// FaultResetInterval is fault_reset_interval (log2 seconds);
	// FaultResetASAP (−128) retries at once.
	FaultResetInterval int8
	// LocalPriority is G.8275.portDS.localPriority.
	LocalPriority uint8
	// IgnoreTransportSpecific is ignore_transport_specific.
	IgnoreTransportSpecific bool
	// MsgIntervalRequest (msg_interval_request): once the servo is locked
	// stable, ask the master for OperLogSyncInterval and switch to
	// OperLogPdelayReqInterval (operLogSyncInterval,
	// operLogPdelayReqInterval), as linuxptp does for 802.1AS.
	MsgIntervalRequest       bool
	OperLogSyncInterval      int8
	OperLogPdelayReqInterval int8
	// CheckFupSync is check_fup_sync: a Follow_Up that arrives before its
	// Sync is used only if the Sync's receive timestamp is the earlier one.
	CheckFupSync bool
	// UnicastListen is unicast_listen: the port grants unicast Announce,
	// Sync and Delay_Resp to clients that ask (IEEE 1588-2019 16.1).
	UnicastListen bool
	// InhibitMulticastService is inhibit_multicast_service: with
	// UnicastListen, a master port sends Announce and Sync only to the
	// clients it granted them to.
	InhibitMulticastService bool
	// UnicastMasters is the port's unicast master table
	// (unicast_master_table): the port is a unicast client of these
	// addresses, and takes Announce from no one else. LogQueryInterval
	// is the table's logQueryInterval, UnicastReqDuration the
	// durationField it asks for (unicast_req_duration, seconds).
	UnicastMasters     []Addr
	LogQueryInterval   int8
	UnicastReqDuration uint32
	// UnicastPeer is the table's peer_address: with UnicastMasters and
	// the P2P delay mechanism, the port sends its Pdelay_Req to it by
	// unicast and asks it for Pdelay_Resp. The zero Addr: by multicast.
	UnicastPeer Addr
	// HybridE2E is hybrid_e2e: a slave port sends its Delay_Req by unicast,
	// unicastFlag set, to where its master's Announce came from. A master
	// answers a unicast Delay_Req by unicast whatever this says.
	HybridE2E bool
}

// FaultResetASAP is fault_reset_interval's "ASAP".
const FaultResetASAP int8 = -128

// DefaultPortConfig returns linuxptp's per-port defaults.
func DefaultPortConfig(name string) PortConfig {
	return PortConfig{
		Name:                    name,
		LogAnnounceInterval:     1,
		LogSyncInterval:         0,
		LogMinDelayReqInterval:  0,
		LogMinPdelayReqInterval: 0,
		AnnounceReceiptTimeout:  3,
		DelayMechanism:          ptp.DelayMechanismE2E,
		DelayFilter:             MovingMedian,
		DelayFilterLength:       10,
		FaultResetInterval:      4,
		LocalPriority:           128,
		UnicastReqDuration:      3600,
	}
}

// validate reports configuration the engine cannot run with.
func (c *ClockConfig) validate() error {
	if c.Comparison == nil {
		return fmt.Errorf("engine: no dataset_comparison")
	}
	if c.ClockIdentity == (ptp.ClockIdentity{}) {
		return fmt.Errorf("engine: clock identity is all zero")
	}
	if c.Type > P2PTransparent {
		return fmt.Errorf("engine: clock type %d is not supported", c.Type)
	}
	return nil
}

func (p *PortConfig) validate() error {
	if p.AnnounceReceiptTimeout < 2 {
		return fmt.Errorf("engine: port %s: announceReceiptTimeout %d is below 2", p.Name, p.AnnounceReceiptTimeout)
	}
	switch p.DelayMechanism {
	case ptp.DelayMechanismE2E, ptp.DelayMechanismP2P, ptp.DelayMechanismNoMechanism:
	default:
		return fmt.Errorf("engine: port %s: delay mechanism %d is not supported", p.Name, p.DelayMechanism)
	}
	return nil
}
