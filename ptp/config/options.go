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
	// written for linuxptp loads, but does not act on; setting it prints
	// one warning.
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
	in("allow_unauth", Port, "0", 0, 2),
	in("allowedLostResponses", Port, "3", 1, 255),
	in("announceReceiptTimeout", Port, "3", 2, u8max),
	en("asCapable", Port, "auto", "true", "auto"),
	in("assume_two_step", Global, "0", 0, 1),
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
	st("cmlds.client_address", Port, "/var/run/cmlds_client"),
	in("cmlds.domainNumber", Port, "0", 0, 255),
	in("cmlds.majorSdoId", Port, "2", 0, 0x0f),
	in("cmlds.port", Port, "0", 0, u16max),
	st("cmlds.server_address", Port, "/var/run/cmlds_server"),
	en("dataset_comparison", Global, "ieee1588", "ieee1588", "G.8275.x"),
	in("delayAsymmetry", Port, "0", i32min, i32max),
	en("delay_filter", Port, "moving_median", "moving_average", "moving_median"),
	in("delay_filter_length", Port, "10", 1, i32max),
	fl("delay_request_variability", Port, "1.0", 0, 1),
	en("delay_mechanism", Port, "E2E", "Auto", "COMMON_P2P", "E2E", "P2P", "NONE"),
	in("delay_response_timeout", Port, "0", 0, u8max),
	in("dscp_event", Global, "0", 0, 63),
	in("dscp_general", Global, "0", 0, 63),
	in("domainNumber", Global, "0", 0, 255),
	in("egressLatency", Port, "0", i32min, i32max),
	in("fault_badpeernet_interval", Port, "16", i32min, i32max),
	in("fault_reset_interval", Port, "4", i8min, i8max),
	fl("first_step_threshold", Global, "0.00002", 0, math.MaxFloat64),
	in("follow_up_info", Port, "0", 0, 1),
	in("free_running", Global, "0", 0, 1),
	in("freq_est_interval", Port, "1", i32min, i32max),
	in("G.8275.defaultDS.localPriority", Global, "128", 1, u8max),
	in("G.8275.portDS.localPriority", Port, "128", 1, u8max),
	in("gmCapable", Global, "1", 0, 1),
	en("hwts_filter", Global, "normal", "normal", "check", "full"),
	in("hybrid_e2e", Port, "0", 0, 1),
	in("ignore_source_id", Port, "0", 0, 1),
	in("ignore_transport_specific", Port, "0", 0, 1),
	in("ingressLatency", Port, "0", i32min, i32max),
	in("inhibit_announce", Port, "0", 0, 1),
	in("inhibit_delay_req", Port, "0", 0, 1),
	in("inhibit_multicast_service", Port, "0", 0, 1),
	in("initial_delay", Global, "0", 0, i32max),
	in("interface_rate_tlv", Port, "0", 0, 1),
	in("kernel_leap", Global, "1", 0, 1),
	st("leapfile", Global, ""),
	in("logAnnounceInterval", Port, "1", i8min, i8max),
	in("logMinDelayReqInterval", Port, "0", i8min, i8max),
	in("logMinPdelayReqInterval", Port, "0", i8min, i8max),
	in("logSyncInterval", Port, "0", i8min, i8max),
	in("logging_level", Global, "6", 0, 7),
	in("maxStepsRemoved", Global, "255", 2, u8max),
	st("message_tag", Global, ""),
	st("manufacturerIdentity", Global, "00:00:00"),
	in("max_frequency", Global, "900000000", 0, i32max),
	in("min_neighbor_prop_delay", Port, "-20000000", i32min, -1),
	in("msg_interval_request", Port, "0", 0, 1),
	in("neighborPropDelayThresh", Port, "20000000", 0, i32max),
	in("net_sync_monitor", Port, "0", 0, 1),
	en("network_transport", Port, "UDPv4", "L2", "UDPv4", "UDPv6"),
	in("ntpshm_segment", Global, "0", i32min, i32max),
	in("offsetScaledLogVariance", Global, "0xffff", 0, u16max),
	in("operLogPdelayReqInterval", Port, "0", i8min, i8max),
	in("operLogSyncInterval", Port, "0", i8min, i8max),
	st("p2p_dst_ipv4", Port, "224.0.0.107"),
	st("p2p_dst_ipv6", Port, "FF02:0:0:0:0:0:0:6B"),
	st("p2p_dst_mac", Port, "01:80:C2:00:00:0E"),
	in("path_trace_enabled", Port, "0", 0, 1),
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
	in("power_profile.2011.grandmasterTimeInaccuracy", Port, "-1", -1, i32max),
	in("power_profile.2011.networkTimeInaccuracy", Port, "-1", -1, i32max),
	in("power_profile.2017.totalTimeInaccuracy", Port, "-1", -1, i32max),
	in("power_profile.grandmasterID", Port, "0", 0, 0xffff),
	in("priority1", Global, "128", 0, u8max),
	in("priority2", Global, "128", 0, u8max),
	st("productDescription", Global, ";;"),
	st("profileIdentity", Port, "00:00:00:00:00:00"),
	st("ptp_dst_ipv4", Port, "224.0.1.129"),
	st("ptp_dst_ipv6", Port, "FF0E:0:0:0:0:0:0:181"),
	st("ptp_dst_mac", Port, "01:1B:19:00:00:00"),
	in("ptp_minor_version", Global, "1", 0, 1),
	st("refclock_sock_address", Global, "/var/run/refclock.ptp.sock"),
	st("revisionData", Global, ";;"),
	st("sa_file", Global, ""),
	in("sanity_freq_limit", Global, "200000000", 0, i32max),
	in("serverOnly", Port, "0", 0, 1),
	in("servo_num_offset_values", Global, "10", 0, i32max),
	in("servo_offset_threshold", Global, "0", 0, i32max),
	st("slave_event_monitor", Global, ""),
	in("socket_priority", Global, "0", 0, 15),
	in("spp", Port, "-1", -1, u8max),
	fl("step_threshold", Global, "0.0", 0, math.MaxFloat64),
	in("step_window", Global, "0", 0, i32max),
	in("summary_interval", Global, "0", i32min, i32max),
	in("syncReceiptTimeout", Port, "0", 0, u8max),
	in("tc_spanning_tree", Global, "0", 0, 1),
	in("timeSource", Global, "0xA0", 0x10, 0xfe),
	en("time_stamping", Global, "hardware", "hardware", "software", "legacy", "onestep", "p2p1step"),
	in("transportSpecific", Port, "0", 0, 0x0f),
	in("ts2phc.channel", Port, "0", 0, i32max),
	in("ts2phc.external_pps", Global, "0", 0, 1),
	in("ts2phc.extts_correction", Port, "0", i32min, i32max),
	en("ts2phc.extts_polarity", Port, "rising", "rising", "falling", "both"),
	in("ts2phc.holdover", Port, "0", 0, i32max),
	in("ts2phc.master", Port, "0", 0, 1),
	in("ts2phc.nmea_baudrate", Port, "9600", 300, i32max),
	in("ts2phc.nmea_delay", Port, "0", i32min, i32max),
	st("ts2phc.nmea_remote_host", Global, ""),
	st("ts2phc.nmea_remote_port", Global, ""),
	st("ts2phc.nmea_serialport", Global, "/dev/ttyS0"),
	in("ts2phc.perout_phase", Port, "-1", -1, 999999999),
	in("ts2phc.pin_index", Port, "0", 0, i32max),
	st("ts2phc.pin_name", Port, ""),
	in("ts2phc.pulserate", Global, "1", 1, 128),
	in("ts2phc.pulsewidth", Global, "500000000", 1000000, 999000000),
	st("ts2phc.tod_source", Global, "generic"),
	en("tsproc_mode", Port, "filter", "filter", "raw", "filter_weight", "raw_weight"),
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
	in("write_phase_mode", Global, "0", 0, 1),

	// roko-ptpd's own options, after linuxptp's.
	ext(in("servo_spike_filter", Global, "1", 0, 1)),
	ext(in("linreg_max_points", Global, "1024", 4, 1024)),
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
