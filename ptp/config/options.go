package config

import "math"

// Kind is the type of an option's value.
type Kind uint8

// Kinds.
const (
	Int    Kind = iota + 1 // a whole number within [Min, Max]; 0x and 0 prefixes accepted
	Float                  // a number within [MinF, MaxF]
	Enum                   // one of Values, matched case-insensitively
	String                 // any text
)

// Scope says where an option may be set.
type Scope uint8

// Scopes.
const (
	// Global options belong to the clock: [global] or the command line.
	Global Scope = iota + 1
	// Port options may be set in [global] (for every port) and in an
	// interface's section (for that port).
	Port
)

// Option describes one configuration option: its name exactly as ptp4l
// spells it, where it may be set, its type, range and default.
type Option struct {
	Name     string
	Scope    Scope
	Kind     Kind
	Default  string // as it would be written in the file
	Min, Max int64
	MinF     float64
	MaxF     float64
	Values   []string // Enum labels, in ptp4l's spelling
	// NoEffect marks an option roko-ptpd accepts so that a config file
	// written for linuxptp loads, but does not act on; setting it to
	// anything but its default prints one warning saying why.
	NoEffect string
	// Extension marks an option linuxptp does not have.
	Extension bool
}

const (
	i8min, i8max   = math.MinInt8, math.MaxInt8
	u8max          = math.MaxUint8
	u16max         = math.MaxUint16
	i32min, i32max = math.MinInt32, math.MaxInt32
	u32max         = math.MaxUint32
)

func in(name string, s Scope, def string, lo, hi int64) Option {
	return Option{Name: name, Scope: s, Kind: Int, Default: def, Min: lo, Max: hi}
}
func fl(name string, s Scope, def string, lo, hi float64) Option {
	return Option{Name: name, Scope: s, Kind: Float, Default: def, MinF: lo, MaxF: hi}
}
func en(name string, s Scope, def string, values ...string) Option {
	return Option{Name: name, Scope: s, Kind: Enum, Default: def, Values: values}
}
func st(name string, s Scope, def string) Option {
	return Option{Name: name, Scope: s, Kind: String, Default: def}
}

// options is linuxptp 4.x's option table (config.c), with the defaults
// roko-ptpd keeps: 4.x's where the versions differ (tx_timestamp_timeout
// 10 ms), except the UNIX socket paths, which stay where 3.x and the
// operator guide put them (/var/run/ptp4l, /var/run/ptp4lro).
var options = []Option{
	in("active_key_id", Port, "0", 0, u32max),
	none(in("allow_unauth", Port, "0", 0, 2),
		"only pmc applies it, as in linuxptp (roko-pmc does): a port with spp authenticates every message it receives"),
	none(in("allowedLostResponses", Port, "3", 1, 255),
		"802.1AS asCapable is not implemented: lost Pdelay responses do not change a port's state"),
	in("announceReceiptTimeout", Port, "3", 2, u8max),
	none(en("asCapable", Port, "auto", "true", "auto"),
		"802.1AS asCapable is not implemented: every port is capable"),
	none(in("assume_two_step", Global, "0", 0, 1),
		"802.1AS one-step handling is not implemented: a one-step Sync is read as one-step"),
	in("boundary_clock_jbod", Port, "0", 0, 1),
	en("BMCA", Port, "ptp", "ptp", "noop"),
	in("check_fup_sync", Global, "0", 0, 1),
	in("clientOnly", Global, "0", 0, 1),
	in("clockAccuracy", Global, "0xfe", 0, u8max),
	in("clockClass", Global, "248", 0, u8max),
	st("clockIdentity", Global, "000000.0000.000000"),
	in("clock_class_threshold", Global, "248", 6, 248),
	en("clock_servo", Global, "pi", "pi", "linreg", "ntpshm", "nullf", "refclock_sock"),
	en("clock_type", Global, "OC", "OC", "BC", "P2P_TC", "E2E_TC"),
	none(st("cmlds.client_address", Port, "/var/run/cmlds_client"),
		"the common mean link delay service is not implemented (delay_mechanism COMMON_P2P is refused)"),
	none(in("cmlds.domainNumber", Port, "0", 0, 255),
		"the common mean link delay service is not implemented (delay_mechanism COMMON_P2P is refused)"),
	none(in("cmlds.majorSdoId", Port, "2", 0, 0x0f),
		"the common mean link delay service is not implemented (delay_mechanism COMMON_P2P is refused)"),
	none(in("cmlds.port", Port, "0", 0, u16max),
		"the common mean link delay service is not implemented (delay_mechanism COMMON_P2P is refused)"),
	none(st("cmlds.server_address", Port, "/var/run/cmlds_server"),
		"the common mean link delay service is not implemented (delay_mechanism COMMON_P2P is refused)"),
	en("dataset_comparison", Global, "ieee1588", "ieee1588", "G.8275.x"),
	in("delayAsymmetry", Port, "0", i32min, i32max),
	en("delay_filter", Port, "moving_median", "moving_average", "moving_median"),
	in("delay_filter_length", Port, "10", 1, i32max),
	none(fl("delay_request_variability", Port, "1.0", 0, 1),
		"Delay_Req go at random times from 0 to twice logMinDelayReqInterval"),
	en("delay_mechanism", Port, "E2E", "Auto", "COMMON_P2P", "E2E", "P2P", "NONE"),
	none(in("delay_response_timeout", Port, "0", 0, u8max),
		"a missing Delay_Resp does not fault the port: the next Delay_Req is sent"),
	in("dscp_event", Global, "0", 0, 63),
	in("dscp_general", Global, "0", 0, 63),
	in("domainNumber", Global, "0", 0, 255),
	in("egressLatency", Port, "0", i32min, i32max),
	none(in("fault_badpeernet_interval", Port, "16", i32min, i32max),
		"roko-ptpd does not detect multiple peers on a P2P link"),
	in("fault_reset_interval", Port, "4", i8min, i8max),
	fl("first_step_threshold", Global, "0.00002", 0, math.MaxFloat64),
	in("follow_up_info", Port, "0", 0, 1),
	in("free_running", Global, "0", 0, 1),
	none(in("freq_est_interval", Port, "1", i32min, i32max),
		"the neighbour rate ratio is not estimated: P2P uses the raw link delay"),
	in("G.8275.defaultDS.localPriority", Global, "128", 1, u8max),
	in("G.8275.portDS.localPriority", Port, "128", 1, u8max),
	in("gmCapable", Global, "1", 0, 1),
	none(en("hwts_filter", Global, "normal", "normal", "check", "full"),
		"roko-ptpd asks the driver for the narrowest filter it has (PTP event packets, else all)"),
	in("hybrid_e2e", Port, "0", 0, 1),
	in("ignore_source_id", Port, "0", 0, 1),
	in("ignore_transport_specific", Port, "0", 0, 1),
	in("ingressLatency", Port, "0", i32min, i32max),
	in("inhibit_announce", Port, "0", 0, 1),
	in("inhibit_delay_req", Port, "0", 0, 1),
	in("inhibit_multicast_service", Port, "0", 0, 1),
	none(in("initial_delay", Global, "0", 0, i32max),
		"the clock is not updated until a delay has been measured, as initial_delay 0 does"),
	none(in("interface_rate_tlv", Port, "0", 0, 1),
		"the G.8275.2 interface rate TLV is not implemented"),
	none(in("kernel_leap", Global, "1", 0, 1),
		"roko-ptpd never tells the kernel about a leap second (see the leap seconds row above)"),
	st("leapfile", Global, ""),
	in("logAnnounceInterval", Port, "1", i8min, i8max),
	in("logMinDelayReqInterval", Port, "0", i8min, i8max),
	in("logMinPdelayReqInterval", Port, "0", i8min, i8max),
	in("logSyncInterval", Port, "0", i8min, i8max),
	in("logging_level", Global, "6", 0, 7),
	in("maxStepsRemoved", Global, "255", 2, u8max),
	st("message_tag", Global, ""),
	none(st("manufacturerIdentity", Global, "00:00:00"),
		"not used: CLOCK_DESCRIPTION answers roko-ptpd's own description"),
	in("max_frequency", Global, "900000000", 0, i32max),
	none(in("min_neighbor_prop_delay", Port, "-20000000", i32min, -1),
		"802.1AS asCapable is not implemented: the link delay does not change a port's state"),
	in("msg_interval_request", Port, "0", 0, 1),
	none(in("neighborPropDelayThresh", Port, "20000000", 0, i32max),
		"802.1AS asCapable is not implemented: the link delay does not change a port's state"),
	none(in("net_sync_monitor", Port, "0", 0, 1),
		"the NetSync monitor protocol is not implemented"),
	en("network_transport", Port, "UDPv4", "L2", "UDPv4", "UDPv6"),
	none(in("ntpshm_segment", Global, "0", i32min, i32max),
		"clock_servo ntpshm is refused: there is no NTP shared memory segment"),
	in("offsetScaledLogVariance", Global, "0xffff", 0, u16max),
	in("operLogPdelayReqInterval", Port, "0", i8min, i8max),
	in("operLogSyncInterval", Port, "0", i8min, i8max),
	st("p2p_dst_ipv4", Port, "224.0.0.107"),
	st("p2p_dst_ipv6", Port, "FF02:0:0:0:0:0:0:6B"),
	st("p2p_dst_mac", Port, "01:80:C2:00:00:0E"),
	none(in("path_trace_enabled", Port, "0", 0, 1),
		"the path trace TLV is not sent, and a received one is passed over"),
	in("phc_index", Port, "-1", -1, i32max),
	fl("pi_integral_const", Global, "0.0", 0, math.MaxFloat64),
	fl("pi_integral_exponent", Global, "0.4", -math.MaxFloat64, math.MaxFloat64),
	fl("pi_integral_norm_max", Global, "0.3", math.SmallestNonzeroFloat64, 2.0),
	fl("pi_integral_scale", Global, "0.0", 0, math.MaxFloat64),
	fl("pi_proportional_const", Global, "0.0", 0, math.MaxFloat64),
	fl("pi_proportional_exponent", Global, "-0.3", -math.MaxFloat64, math.MaxFloat64),
	fl("pi_proportional_norm_max", Global, "0.7", math.SmallestNonzeroFloat64, 1.0),
	fl("pi_proportional_scale", Global, "0.0", 0, math.MaxFloat64),
	en("power_profile.version", Port, "none", "none", "2011", "2017"),
	none(in("power_profile.2011.grandmasterTimeInaccuracy", Port, "-1", -1, i32max),
		"the power profile is not implemented (power_profile.version is refused)"),
	none(in("power_profile.2011.networkTimeInaccuracy", Port, "-1", -1, i32max),
		"the power profile is not implemented (power_profile.version is refused)"),
	none(in("power_profile.2017.totalTimeInaccuracy", Port, "-1", -1, i32max),
		"the power profile is not implemented (power_profile.version is refused)"),
	none(in("power_profile.grandmasterID", Port, "0", 0, 0xffff),
		"the power profile is not implemented (power_profile.version is refused)"),
	in("priority1", Global, "128", 0, u8max),
	in("priority2", Global, "128", 0, u8max),
	none(st("productDescription", Global, ";;"),
		"not used: CLOCK_DESCRIPTION answers roko-ptpd's own description (;roko-ptpd;)"),
	none(st("profileIdentity", Port, "00:00:00:00:00:00"),
		"not used: CLOCK_DESCRIPTION answers roko-ptpd's own description"),
	st("ptp_dst_ipv4", Port, "224.0.1.129"),
	st("ptp_dst_ipv6", Port, "FF0E:0:0:0:0:0:0:181"),
	st("ptp_dst_mac", Port, "01:1B:19:00:00:00"),
	in("ptp_minor_version", Global, "1", 0, 1),
	none(st("refclock_sock_address", Global, "/var/run/refclock.ptp.sock"),
		"clock_servo refclock_sock is refused: there is no socket to write to"),
	none(st("revisionData", Global, ";;"),
		"not used: CLOCK_DESCRIPTION answers roko-ptpd's own description"),
	st("sa_file", Global, ""),
	none(in("sanity_freq_limit", Global, "200000000", 0, i32max),
		"roko-ptpd's clock has no sanity check yet"),
	in("serverOnly", Port, "0", 0, 1),
	in("servo_num_offset_values", Global, "10", 0, i32max),
	in("servo_offset_threshold", Global, "0", 0, i32max),
	none(st("slave_event_monitor", Global, ""),
		"the event monitor socket is not implemented: no socket is opened"),
	none(in("socket_priority", Global, "0", 0, 15),
		"roko-ptpd does not set SO_PRIORITY on its sockets (dscp_event and dscp_general mark UDP packets)"),
	in("spp", Port, "-1", -1, u8max),
	fl("step_threshold", Global, "0.0", 0, math.MaxFloat64),
	none(in("step_window", Global, "0", 0, i32max),
		"the servo is not held after a step: the next samples are used"),
	in("summary_interval", Global, "0", i32min, i32max),
	none(in("syncReceiptTimeout", Port, "0", 0, u8max),
		"802.1AS Sync timeout is not implemented: only announceReceiptTimeout starts a new BMCA"),
	none(in("tc_spanning_tree", Global, "0", 0, 1),
		"a transparent clock forwards out of every other port whatever the port states, as ptp4l's default (0) does"),
	in("timeSource", Global, "0xA0", 0x10, 0xfe),
	en("time_stamping", Global, "hardware", "hardware", "software", "legacy", "onestep", "p2p1step"),
	in("transportSpecific", Port, "0", 0, 0x0f),
	in("ts2phc.channel", Port, "0", 0, i32max),
	none(in("ts2phc.external_pps", Global, "0", 0, 1),
		"roko-ptpd's time source reads one pulse per second into the served clock"),
	in("ts2phc.extts_correction", Port, "0", i32min, i32max),
	en("ts2phc.extts_polarity", Port, "rising", "rising", "falling", "both"),
	in("ts2phc.holdover", Port, "0", 0, i32max),
	none(in("ts2phc.master", Port, "0", 0, 1),
		"roko-ptpd's time source reads one pulse per second into the served clock"),
	in("ts2phc.nmea_baudrate", Port, "9600", 300, i32max),
	in("ts2phc.nmea_delay", Port, "0", i32min, i32max),
	st("ts2phc.nmea_remote_host", Global, ""),
	st("ts2phc.nmea_remote_port", Global, ""),
	st("ts2phc.nmea_serialport", Global, "/dev/ttyS0"),
	none(in("ts2phc.perout_phase", Port, "-1", -1, 999999999),
		"roko-ptpd's time source reads one pulse per second into the served clock"),
	in("ts2phc.pin_index", Port, "0", 0, i32max),
	none(st("ts2phc.pin_name", Port, ""),
		"roko-ptpd's time source reads one pulse per second into the served clock"),
	none(in("ts2phc.pulserate", Global, "1", 1, 128),
		"roko-ptpd's time source reads one pulse per second into the served clock"),
	in("ts2phc.pulsewidth", Global, "500000000", 1000000, 999000000),
	st("ts2phc.tod_source", Global, "generic"),
	none(en("tsproc_mode", Port, "filter", "filter", "raw", "filter_weight", "raw_weight"),
		"offsets are computed with roko-ptpd's path delay estimate (delay_window, delay_pair_age), or with delay_window 0 as tsproc_mode filter does (delay_filter, delay_filter_length)"),
	in("twoStepFlag", Global, "1", 0, 1),
	in("tx_timestamp_timeout", Global, "10", 1, i32max),
	in("udp_ttl", Port, "1", 1, 255),
	in("udp6_scope", Port, "0x0E", 0x00, 0x0f),
	st("uds_address", Global, "/var/run/ptp4l"),
	in("uds_file_mode", Port, "0660", 0, 0o777),
	st("uds_ro_address", Global, "/var/run/ptp4lro"),
	in("uds_ro_file_mode", Port, "0666", 0, 0o777),
	in("unicast_listen", Port, "0", 0, 1),
	in("unicast_master_table", Port, "0", 0, i32max),
	in("unicast_req_duration", Port, "3600", 10, i32max),
	in("use_syslog", Global, "1", 0, 1),
	st("user", Global, ""),
	st("userDescription", Global, ""),
	in("utc_offset", Global, "37", 0, i32max),
	in("verbose", Global, "0", 0, 1),
	none(in("write_phase_mode", Global, "0", 0, 1),
		"the servo always adjusts frequency; the PHC's phase mode is not used"),

	// roko-ptpd's own options, after linuxptp's.
	ext(in("servo_spike_filter", Global, "1", 0, 1)),
	ext(in("linreg_max_points", Global, "1024", 4, 1024)),
	ext(in("delay_window", Port, "1024", 0, 65536)),
	ext(in("delay_change_count", Port, "3", 1, 1000)),
	ext(fl("delay_pair_age", Port, "0.25", 0, 1000)),
	// The virtual clock (package phc) in place of a PHC: for machines
	// without PTP hardware, tests and the demo.
	ext(in("virtual_clock", Global, "0", 0, 1)),
	// Management SET and COMMAND from the network (GET is always answered).
	ext(in("allow_network_set", Global, "0", 0, 1)),
	ext(fl("virtual_clock_offset", Global, "0.0", -1e9, 1e9)),
	ext(fl("virtual_clock_frequency", Global, "0.0", -1e8, 1e8)),
	// Emulated PTP hardware (packages phc and transport): each port's
	// interface behaves as a NIC with a PHC, for machines without one.
	ext(in("emulated_hardware", Global, "0", 0, 1)),
	ext(st("emulated_hardware_dir", Global, "/run/roko-ptpd/emulated")),
	ext(fl("emulated_phc_offset", Port, "0.0", -1e9, 1e9)),
	ext(fl("emulated_phc_frequency", Port, "0.0", -1e8, 1e8)),
	ext(fl("emulated_phc_wander", Port, "0.0", 0, 1e6)),
	ext(fl("emulated_timestamp_noise", Port, "0.0", 0, 1e9)),
	ext(fl("emulated_tx_timestamp_loss", Port, "0.0", 0, 1)),
	ext(fl("emulated_tx_timestamp_late", Port, "0.0", 0, 1)),
	// A grandmaster's time source (package timesource): the pulse input
	// ("extts": the first port's PHC; or a /dev/ppsN path, which a
	// [/dev/ppsN] section also names), gpsd's address for
	// ts2phc.tod_source gpsd, the qualification period (s) and the pulse
	// window (ns; 0 chooses by input).
	ext(st("pps_input", Global, "")),
	ext(st("gpsd_address", Global, "127.0.0.1:2947")),
	ext(fl("time_source_qualification", Global, "10", 1, 3600)),
	ext(in("time_source_window", Global, "0", 0, 100_000_000)),
	// Prometheus metrics over HTTP (GET /metrics) at this host:port, e.g.
	// 127.0.0.1:9326; empty serves none (the default).
	ext(st("metrics_address", Global, "")),
	// Who owns the management sockets: a user and a group, by name or
	// number, given to the socket file after it is made (with
	// uds_file_mode / uds_ro_file_mode, this says who may manage the
	// daemon and who may only read it); empty leaves the daemon's own.
	ext(st("uds_owner", Global, "")),
	ext(st("uds_group", Global, "")),
	ext(st("uds_ro_owner", Global, "")),
	ext(st("uds_ro_group", Global, "")),
	// The event loop's moderation under load: above receive_holdoff_rate
	// messages a second, it looks at its sockets at most once every
	// receive_holdoff µs (0: never holds).
	ext(in("receive_holdoff", Global, "10000", 0, 100_000)),
	ext(in("receive_holdoff_rate", Global, "1000", 1, i32max)),
}

// none marks an option as accepted without effect: it loads, with one
// warning saying why it does nothing.
func none(o Option, why string) Option {
	o.NoEffect = why
	return o
}

// ext marks an option as roko-ptpd's own.
func ext(o Option) Option {
	o.Extension = true
	return o
}

// renamed maps the names linuxptp deprecated to the ones that replaced
// them; linuxptp 4.x accepts the old names with a warning, and so do we.
var renamed = map[string]string{
	"slaveOnly":         "clientOnly",
	"masterOnly":        "serverOnly",
	"pi_offset_const":   "step_threshold",
	"pi_f_offset_const": "first_step_threshold",
	"pi_max_frequency":  "max_frequency",
}

// respelled maps option names written in another case to their ptp4l
// spelling: a deliberate extension for configs (like the operator guide's)
// that write "bmca" for "BMCA".
var respelled = map[string]string{
	"bmca": "BMCA",
}

// noEffect lists options roko-ptpd accepts, so that the operator guide's
// configs load, but that do nothing: they are not linuxptp options either.
var noEffect = map[string]Option{
	"assumeReversible": {Name: "assumeReversible", Scope: Port, Kind: Int, Default: "0", Min: 0, Max: 1,
		NoEffect: "it is not a linuxptp option and roko-ptpd has nothing it could control"},
}

// ppsOptions are the options a [/dev/ppsN] section may hold: how the PPS
// input of a grandmaster is read. A later release acts on them; this one
// checks them.
var ppsOptions = map[string]bool{
	"ts2phc.channel":          true,
	"ts2phc.extts_correction": true,
	"ts2phc.extts_polarity":   true,
	"ts2phc.pin_index":        true,
	"ts2phc.pulsewidth":       true,
	"ts2phc.holdover":         true,
	"ts2phc.nmea_delay":       true,
}

var byName = func() map[string]*Option {
	m := make(map[string]*Option, len(options)+len(noEffect))
	for i := range options {
		m[options[i].Name] = &options[i]
	}
	for name, o := range noEffect {
		o := o
		m[name] = &o
	}
	return m
}()

// Lookup returns the option named name (after respelling and renaming).
func Lookup(name string) (*Option, bool) {
	o, ok := byName[name]
	return o, ok
}

// Options returns every option roko-ptpd knows, linuxptp's first.
func Options() []Option { return append([]Option(nil), options...) }
