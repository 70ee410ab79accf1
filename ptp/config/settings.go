package config

import (
	"fmt"
	"io/fs"
	"math"
	"net"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/roko-network/roko-ptpd/bmca"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// Settings is a configuration resolved once: every option roko-ptpd acts
// on, typed and checked, for the clock, each port, the servo, the log,
// the management sockets and the [phc2sys] job. The daemon wires these
// values together and reads no option by name; an error found here names
// the file, the line and the option.
type Settings struct {
	// File names the configuration's source.
	File string
	// Clock is the engine's clock configuration. Its ClockIdentity is
	// zero when it is to come from the first interface's MAC address
	// (clockIdentity not set): see IdentityFromMAC.
	Clock engine.ClockConfig
	// Ports are the interfaces, in file order (-i first).
	Ports []PortSettings
	// Timestamping is the effective time_stamping: software with a
	// virtual clock, whatever the file says (with a warning if it says
	// otherwise). Hardware and OneStep need a PHC behind each port.
	Timestamping ptp.Timestamping
	// TxTimestampTimeout is tx_timestamp_timeout.
	TxTimestampTimeout time.Duration
	// ReceiveHoldoff and ReceiveHoldoffRate are the event loop's
	// moderation under load (receive_holdoff, µs, and
	// receive_holdoff_rate, messages a second; roko-ptpd's own): once the
	// ports receive ReceiveHoldoffRate messages a second or more, the loop
	// looks at its sockets at most once every ReceiveHoldoff, and reads
	// what arrived meanwhile in one go, as a NIC's interrupt moderation
	// does. Its timers still run on time, and receive timestamps are the
	// kernel's, so only the answers' latency grows. Zero ReceiveHoldoff
	// never holds.
	ReceiveHoldoff     time.Duration
	ReceiveHoldoffRate int
	// DSCPEvent and DSCPGeneral are dscp_event and dscp_general.
	DSCPEvent, DSCPGeneral int
	// Servo is the servo's settings; ForClock settles its frequency limit
	// once the steered clock is known.
	Servo ServoSettings
	// Log is how the daemon prints.
	Log LogSettings
	// UDS are the management sockets to open (uds_address read-write,
	// uds_ro_address read-only); an empty address opens none.
	UDS []UDSSettings
	// Virtual, when not nil, replaces the PHC with a virtual clock
	// (virtual_clock 1, roko-ptpd's own).
	Virtual *VirtualSettings
	// Phc2sys is the [phc2sys] job, nil without that section.
	Phc2sys *Phc2sysSettings
	// EmulatedDir, when not empty, makes every port's interface an
	// emulated NIC with a PHC (emulated_hardware 1, roko-ptpd's own) whose
	// state lives in that directory (emulated_hardware_dir), where
	// roko-phc2sys finds the same clocks. Each port's Emulated says how
	// its card behaves.
	EmulatedDir string
	// TimeSource, when not nil, is the grandmaster's time source: a
	// [/dev/ppsN] section or pps_input. The clock then announces what the
	// source's state allows, never the configured quality on its own.
	TimeSource *TimeSourceSettings
	// UDSSecurity, when not nil, authenticates the management socket's
	// messages, as [global]'s spp makes ptp4l's UNIX port do.
	UDSSecurity *Security
	// MetricsAddress, when not empty, is the host:port on which the
	// daemon serves Prometheus metrics over HTTP (metrics_address,
	// roko-ptpd's own).
	MetricsAddress string
}

// EmulatedNIC is how one port's emulated card behaves.
type EmulatedNIC struct {
	// PHCOffset and PHCFrequency are where its PHC starts against
	// CLOCK_REALTIME and how fast it runs free, ppb; Wander is its
	// random-walk frequency noise, ppb/√s.
	PHCOffset    time.Duration
	PHCFrequency float64
	Wander       float64
	// TimestampNoise is the RMS of white noise on each timestamp, ns.
	TimestampNoise float64
	// TxTimestampLoss is the probability that a transmit timestamp never
	// comes; TxTimestampLate that it comes 50 ms late, after
	// tx_timestamp_timeout has given up on it.
	TxTimestampLoss float64
	TxTimestampLate float64
}

// PortSettings is one port: the engine's port configuration and how its
// transport is opened.
type PortSettings struct {
	// Interface is the network interface, for example "eth0".
	Interface string
	// Engine is the engine's configuration of the port.
	Engine engine.PortConfig
	// Transport is network_transport: ptp.ProtocolUDPIPv4,
	// ptp.ProtocolUDPIPv6 or ptp.ProtocolIEEE802_3 (L2).
	Transport ptp.NetworkProtocol
	// TTL is udp_ttl and UDP6Scope udp6_scope.
	TTL       int
	UDP6Scope uint8
	// Dst are the destinations of the port's transport (ptp_dst_mac,
	// p2p_dst_mac and the like).
	Dst Destinations
	// Emulated is the port's emulated card, with emulated_hardware 1.
	Emulated EmulatedNIC
	// Security, when not nil, authenticates every message of the port
	// (spp, active_key_id, sa_file).
	Security *Security
	// JBOD is boundary_clock_jbod: the port may have a PHC of its own
	// ("just a bunch of devices"), which the clock switches to when the
	// port goes UNCALIBRATED, as ptp4l does; phc2sys -a keeps the other
	// ports' PHCs on it.
	JBOD bool
}

// LogSettings is how the daemon logs.
type LogSettings struct {
	// Level is logging_level (syslog levels, 0–7).
	Level int
	// Tag is message_tag, printed after the program's prefix.
	Tag string
	// Verbose is verbose (-m): print to standard output.
	Verbose bool
	// Syslog is use_syslog.
	Syslog bool
	// SummaryEvery is how many offset samples one summary line stands for
	// (summary_interval over the ports' fastest logSyncInterval, as
	// ptp4l); 0 prints every sample.
	SummaryEvery int
}

// UDSSettings is one management socket.
type UDSSettings struct {
	Path     string      // uds_address or uds_ro_address
	Mode     fs.FileMode // uds_file_mode or uds_ro_file_mode
	ReadOnly bool        // answers GET only, as ptp4l's uds_ro_address
	// UID and GID are uds_owner / uds_group (or the _ro_ pair) looked up
	// on this host; nil leaves the socket's owner or group as made.
	UID, GID *int
}

// VirtualSettings is roko-ptpd's virtual clock: where it starts against
// CLOCK_REALTIME and how fast it runs free.
type VirtualSettings struct {
	Offset         time.Duration // virtual_clock_offset
	FrequencyError float64       // virtual_clock_frequency, ppb
}

// Resolve checks and types the whole configuration. It is the one place
// that reads options by name; errors name the file, line and option.
func (c *Config) Resolve() (*Settings, error) {
	const g = "global"
	s := &Settings{File: c.File}
	if err := c.refuse(); err != nil {
		return nil, err
	}
	var err error
	if s.Timestamping, err = c.timestamping(); err != nil {
		return nil, err
	}
	if c.bool(g, "emulated_hardware") {
		if c.bool(g, "virtual_clock") {
			return nil, c.errorAt(g, "emulated_hardware", "emulated_hardware 1 and virtual_clock 1: choose one (emulated hardware steers each port's emulated PHC)")
		}
		if s.Timestamping == ptp.TimestampingSoftware {
			c.warn(c.value(g, "emulated_hardware").Line, "emulated_hardware", "emulated_hardware 1 has no effect with time_stamping software")
		} else {
			s.EmulatedDir = c.str(g, "emulated_hardware_dir")
		}
	}
	if c.bool(g, "virtual_clock") {
		s.Virtual = &VirtualSettings{
			Offset:         time.Duration(c.float(g, "virtual_clock_offset") * 1e9),
			FrequencyError: c.float(g, "virtual_clock_frequency"),
		}
		if s.Timestamping != ptp.TimestampingSoftware && c.isSet(g, "time_stamping") {
			c.warn(c.value(g, "time_stamping").Line, "time_stamping",
				"virtual_clock 1 reads the kernel's software timestamps: time_stamping %s is taken as software (and the pi servo takes its software-timestamp gains, as with -S)", c.str(g, "time_stamping"))
		}
		s.Timestamping = ptp.TimestampingSoftware
	}
	if s.Clock, err = c.clockConfig(); err != nil {
		return nil, err
	}
	// twoStepFlag and time_stamping agree, as linuxptp makes them: with
	// onestep the NIC writes the transmit time into the Sync as it leaves
	// (no Follow_Up, and the default data set says one-step); twoStepFlag
	// 0 with hardware timestamps asks for that; with software timestamps
	// one-step cannot be done.
	switch {
	case s.Timestamping == ptp.TimestampingOneStep:
		s.Clock.TwoStep = false
	case !s.Clock.TwoStep && s.Timestamping == ptp.TimestampingHardware:
		s.Timestamping = ptp.TimestampingOneStep
	case !s.Clock.TwoStep:
		return nil, c.errorAt(g, "twoStepFlag", "twoStepFlag 0: one step is only possible with hardware time stamping")
	}
	s.Clock.Timestamping = s.Timestamping
	if s.Ports, err = c.portSettings(&s.Clock); err != nil {
		return nil, err
	}
	if err = c.clockType(s); err != nil {
		return nil, err
	}
	if err = c.security(s); err != nil {
		return nil, err
	}
	s.TxTimestampTimeout = time.Duration(c.int(g, "tx_timestamp_timeout")) * time.Millisecond
	s.ReceiveHoldoff = time.Duration(c.int(g, "receive_holdoff")) * time.Microsecond
	s.ReceiveHoldoffRate = int(c.int(g, "receive_holdoff_rate"))
	s.DSCPEvent, s.DSCPGeneral = int(c.int(g, "dscp_event")), int(c.int(g, "dscp_general"))
	if s.Servo, err = c.servoSettings(s.Timestamping); err != nil {
		return nil, err
	}
	s.Log = LogSettings{
		Level:   int(c.int(g, "logging_level")),
		Tag:     c.str(g, "message_tag"),
		Verbose: c.bool(g, "verbose"),
		Syslog:  c.bool(g, "use_syslog"),
	}
	fastest := int64(c.int(g, "logSyncInterval"))
	for _, p := range s.Ports {
		fastest = min(fastest, int64(p.Engine.LogSyncInterval))
	}
	if shift := c.int(g, "summary_interval") - fastest; shift > 0 && shift < 31 {
		s.Log.SummaryEvery = 1 << shift
	}
	for _, u := range []struct {
		addr, mode, owner, group string
		ro                       bool
	}{{"uds_address", "uds_file_mode", "uds_owner", "uds_group", false}, {"uds_ro_address", "uds_ro_file_mode", "uds_ro_owner", "uds_ro_group", true}} {
		if path := c.str(g, u.addr); path != "" {
			us := UDSSettings{Path: path, Mode: fs.FileMode(c.int(g, u.mode)), ReadOnly: u.ro}
			if us.UID, err = c.lookupID(g, u.owner, false); err != nil {
				return nil, err
			}
			if us.GID, err = c.lookupID(g, u.group, true); err != nil {
				return nil, err
			}
			s.UDS = append(s.UDS, us)
		}
	}
	if c.phc2sys != nil {
		s.Phc2sys = c.phc2sysSettings()
	}
	if a := c.str(g, "metrics_address"); a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, c.errorAt(g, "metrics_address", "metrics_address %s: not a host:port (%v)", a, err)
		}
		s.MetricsAddress = a
	}
	if s.TimeSource, err = c.timeSourceSettings(&s.Clock); err != nil {
		return nil, err
	}
	if s.TimeSource != nil {
		for _, p := range s.Ports {
			if p.JBOD && len(s.Ports) > 1 {
				return nil, c.errorAt(p.Interface, "boundary_clock_jbod", "boundary_clock_jbod with a PPS input: the time source steers one clock, and a JBOD boundary clock switches between several")
			}
		}
		s.TimeSource.Source.UTCClock = s.Virtual != nil || s.Timestamping == ptp.TimestampingSoftware
		if s.TimeSource.PPSDevice == "" && s.TimeSource.Source.UTCClock {
			return nil, c.errorAt(g, "pps_input", "pps_input extts needs a PHC: time_stamping software (or virtual_clock) has none; use a /dev/ppsN input")
		}
	}
	return s, nil
}

// timestamping reads time_stamping.
func (c *Config) timestamping() (ptp.Timestamping, error) {
	switch v := c.str("global", "time_stamping"); v {
	case "hardware":
		return ptp.TimestampingHardware, nil
	case "software":
		return ptp.TimestampingSoftware, nil
	case "onestep":
		return ptp.TimestampingOneStep, nil
	default:
		return 0, c.errorAt("global", "time_stamping", "time_stamping %s: roko-ptpd has hardware, software and onestep", v)
	}
}

// clockConfig reads the clock's own options.
func (c *Config) clockConfig() (engine.ClockConfig, error) {
	const g = "global"
	var id ptp.ClockIdentity
	if s := c.str(g, "clockIdentity"); s != "" && s != "000000.0000.000000" {
		var err error
		if id, err = ptp.ParseClockIdentity(s); err != nil {
			return engine.ClockConfig{}, c.errorAt(g, "clockIdentity", "clockIdentity: %v", err)
		}
	}
	cmp, err := bmca.ParseComparison(c.str(g, "dataset_comparison"))
	if err != nil {
		return engine.ClockConfig{}, c.errorAt(g, "dataset_comparison", "%v", err)
	}
	cc := engine.DefaultClockConfig(id)
	cc.Priority1 = uint8(c.int(g, "priority1"))
	cc.Priority2 = uint8(c.int(g, "priority2"))
	cc.ClockQuality = ptp.ClockQuality{
		ClockClass:              uint8(c.int(g, "clockClass")),
		ClockAccuracy:           ptp.ClockAccuracy(c.int(g, "clockAccuracy")),
		OffsetScaledLogVariance: uint16(c.int(g, "offsetScaledLogVariance")),
	}
	cc.DomainNumber = uint8(c.int(g, "domainNumber"))
	cc.SlaveOnly = c.bool(g, "clientOnly")
	cc.TwoStep = c.bool(g, "twoStepFlag")
	cc.LocalPriority = uint8(c.int(g, "G.8275.defaultDS.localPriority"))
	cc.Comparison = cmp
	cc.FreeRunning = c.bool(g, "free_running")
	cc.UTCOffset = int16(c.int(g, "utc_offset"))
	// As ptp4l: a grandmaster announces the PTP timescale.
	cc.TimeFlags = ptp.FlagPTPTimescale
	cc.TimeSource = ptp.TimeSource(c.int(g, "timeSource"))
	cc.MaxStepsRemoved = uint16(c.int(g, "maxStepsRemoved"))
	cc.FirstStepThreshold = int64(c.float(g, "first_step_threshold") * float64(time.Second))
	cc.StepThreshold = int64(c.float(g, "step_threshold") * float64(time.Second))
	cc.MinorVersionPTP = uint8(c.int(g, "ptp_minor_version"))
	cc.NetworkManagementSet = c.bool(g, "allow_network_set")
	cc.UserDescription = c.str(g, "userDescription")
	return cc, nil
}

// portSettings reads each interface's options; transportSpecific, a port option
// in linuxptp's table, sets the clock's majorSdoId.
func (c *Config) portSettings(cc *engine.ClockConfig) ([]PortSettings, error) {
	ifaces := c.Interfaces()
	if len(ifaces) == 0 {
		return nil, &Error{File: c.File, Msg: "no interface specified: use -i or an [interface] section"}
	}
	out := make([]PortSettings, 0, len(ifaces))
	for _, name := range ifaces {
		p := engine.DefaultPortConfig(name)
		p.LogAnnounceInterval = int8(c.int(name, "logAnnounceInterval"))
		p.LogSyncInterval = int8(c.int(name, "logSyncInterval"))
		p.LogMinDelayReqInterval = int8(c.int(name, "logMinDelayReqInterval"))
		p.LogMinPdelayReqInterval = int8(c.int(name, "logMinPdelayReqInterval"))
		p.AnnounceReceiptTimeout = uint8(c.int(name, "announceReceiptTimeout"))
		switch dm := c.str(name, "delay_mechanism"); strings.ToUpper(dm) {
		case "E2E":
			p.DelayMechanism = ptp.DelayMechanismE2E
		case "P2P":
			p.DelayMechanism = ptp.DelayMechanismP2P
		default:
			return nil, c.errorAt(name, "delay_mechanism", "[%s] delay_mechanism %s: roko-ptpd has E2E and P2P", name, dm)
		}
		p.DelayAsymmetry = c.int(name, "delayAsymmetry")
		p.EgressLatency = c.int(name, "egressLatency")
		p.IngressLatency = c.int(name, "ingressLatency")
		p.MasterOnly = c.bool(name, "serverOnly")
		p.NoopBMCA = strings.EqualFold(c.str(name, "BMCA"), "noop")
		switch f := c.str(name, "delay_filter"); f {
		case "moving_median":
			p.DelayFilter = engine.MovingMedian
		case "moving_average":
			p.DelayFilter = engine.MovingAverage
		default:
			return nil, c.errorAt(name, "delay_filter", "[%s] delay_filter %s: want moving_median or moving_average", name, f)
		}
		p.DelayFilterLength = int(c.int(name, "delay_filter_length"))
		p.DelayWindow = int(c.int(name, "delay_window"))
		p.DelayChangeCount = int(c.int(name, "delay_change_count"))
		p.DelayPairAge = int64(math.Round(c.float(name, "delay_pair_age") * 1e9))
		if !c.isSet(name, "delay_window") && c.changedFromDefault(name, "delay_filter", "delay_filter_length") {
			// A file that asks for another filter than linuxptp's default
			// means it: it gets linuxptp's filter, as under ptp4l. One that
			// only spells the defaults out (linuxptp's default.cfg does)
			// keeps roko-ptpd's estimate, with the warning below.
			p.DelayWindow = 0
		}
		if p.DelayWindow > 0 {
			for _, o := range []string{"delay_filter", "delay_filter_length"} {
				if v := c.value(name, o); v.Line != 0 {
					c.warn(v.Line, o, "%s has no effect with delay_window %d (roko-ptpd's meanPathDelay estimate); delay_window 0 uses it", o, p.DelayWindow)
				}
			}
		} else {
			for _, o := range []string{"delay_change_count", "delay_pair_age"} {
				if v := c.value(name, o); v.Line != 0 {
					c.warn(v.Line, o, "%s has no effect with delay_window 0", o)
				}
			}
		}
		p.FaultResetInterval = int8(c.int(name, "fault_reset_interval"))
		p.LocalPriority = uint8(c.int(name, "G.8275.portDS.localPriority"))
		p.IgnoreTransportSpecific = c.bool(name, "ignore_transport_specific")
		p.CheckFupSync = c.bool("global", "check_fup_sync")
		p.HybridE2E = c.bool(name, "hybrid_e2e")
		if v := c.value(name, "hybrid_e2e"); p.HybridE2E && p.DelayMechanism != ptp.DelayMechanismE2E && v.Line != 0 {
			// As ptp4l: the option is taken, and warned of.
			c.warn(v.Line, "hybrid_e2e", "[%s] hybrid_e2e only works with E2E: it has no effect with delay_mechanism P2P", name)
		}
		p.MsgIntervalRequest = c.bool(name, "msg_interval_request")
		p.OperLogSyncInterval = int8(c.int(name, "operLogSyncInterval"))
		p.OperLogPdelayReqInterval = int8(c.int(name, "operLogPdelayReqInterval"))
		if ts := c.int(name, "transportSpecific"); ts != 0 {
			cc.MajorSdoID = uint8(ts)
		}
		ps := PortSettings{Interface: name, Engine: p, TTL: int(c.int(name, "udp_ttl")), UDP6Scope: uint8(c.int(name, "udp6_scope")),
			JBOD: c.bool(name, "boundary_clock_jbod"),
			Emulated: EmulatedNIC{
				PHCOffset:       time.Duration(c.float(name, "emulated_phc_offset") * 1e9),
				PHCFrequency:    c.float(name, "emulated_phc_frequency"),
				Wander:          c.float(name, "emulated_phc_wander"),
				TimestampNoise:  c.float(name, "emulated_timestamp_noise"),
				TxTimestampLoss: c.float(name, "emulated_tx_timestamp_loss"),
				TxTimestampLate: c.float(name, "emulated_tx_timestamp_late"),
			}}
		switch nt := c.str(name, "network_transport"); nt {
		case "L2":
			ps.Transport = ptp.ProtocolIEEE802_3
		case "UDPv4":
			ps.Transport = ptp.ProtocolUDPIPv4
		case "UDPv6":
			ps.Transport = ptp.ProtocolUDPIPv6
		default:
			return nil, c.errorAt(name, "network_transport", "[%s] network_transport %s: want L2, UDPv4 or UDPv6", name, nt)
		}
		var err error
		if ps.Dst, err = c.destinations(name, ps.Transport, ps.UDP6Scope); err != nil {
			return nil, err
		}
		if err := c.unicastSettings(name, ps.Transport, &ps.Engine); err != nil {
			return nil, err
		}
		out = append(out, ps)
	}
	return out, nil
}

// IdentityFromMAC sets the clock identity from the first interface's MAC
// address (an EUI-48 expanded as linuxptp does) unless clockIdentity set
// one.
func (s *Settings) IdentityFromMAC(mac []byte) error {
	if s.Clock.ClockIdentity != (ptp.ClockIdentity{}) {
		return nil
	}
	id, ok := ptp.ClockIdentityFromMAC(mac)
	if !ok {
		return fmt.Errorf("no clock identity: the interface has no 48-bit MAC address; set clockIdentity")
	}
	s.Clock.ClockIdentity = id
	return nil
}

// lookupID reads a uds_owner / uds_group style option: a user (or group)
// name known to this host, or a number; nil when empty.
func (c *Config) lookupID(section, name string, group bool) (*int, error) {
	v := c.str(section, name)
	if v == "" {
		return nil, nil
	}
	if n, err := strconv.ParseUint(v, 10, 31); err == nil {
		id := int(n)
		return &id, nil
	}
	var id string
	var err error
	if group {
		var g *user.Group
		if g, err = user.LookupGroup(v); err == nil {
			id = g.Gid
		}
	} else {
		var u *user.User
		if u, err = user.Lookup(v); err == nil {
			id = u.Uid
		}
	}
	if err != nil {
		what := "user"
		if group {
			what = "group"
		}
		return nil, c.errorAt(section, name, "%s %s: no such %s on this host (%v); give a name from /etc/passwd or /etc/group, or a number", name, v, what, err)
	}
	n, err := strconv.Atoi(id)
	if err != nil {
		return nil, c.errorAt(section, name, "%s %s: id %q is not a number", name, v, id)
	}
	return &n, nil
}

// changedFromDefault reports whether any of the options is set for
// section to another value than its default.
func (c *Config) changedFromDefault(section string, options ...string) bool {
	for _, o := range options {
		if !c.isSet(section, o) {
			continue
		}
		d, err := parseDefault(byName[o])
		if err != nil {
			continue
		}
		if v := c.value(section, o); v.Int != d.Int || v.Raw != d.Raw || v.Float != d.Float {
			return true
		}
	}
	return false
}
