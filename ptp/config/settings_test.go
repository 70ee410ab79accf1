package config

import (
	"io/fs"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
	"github.com/roko-network/roko-ptpd/servo"
)

func resolve(t *testing.T, text string, ifaces ...string) (*Settings, error) {
	t.Helper()
	c, err := Parse(strings.NewReader(text), "t.conf")
	require.NoError(t, err)
	for _, i := range ifaces {
		c.AddInterface(i)
	}
	return c.Resolve()
}

func TestResolveClockAndPorts(t *testing.T) {
	mac := net.HardwareAddr{0x02, 0x42, 0xac, 0x11, 0x00, 0x02}
	s, err := resolve(t, `[global]
priority1 10
domainNumber 24
clientOnly 1
logSyncInterval -3
delay_mechanism P2P
network_transport L2
delay_filter moving_average
[eth0]
logSyncInterval -4
delayAsymmetry 120
network_transport UDPv6
udp_ttl 3
[eth1]
serverOnly 1
`)
	require.NoError(t, err)
	assert.True(t, s.Clock.ClockIdentity == ptp.ClockIdentity{}, "from the MAC, once the interface is open")
	require.NoError(t, s.IdentityFromMAC(mac))
	cc := s.Clock
	assert.Equal(t, "0242ac.fffe.110002", cc.ClockIdentity.String(), "EUI-64 from the MAC, as linuxptp")
	assert.Equal(t, uint8(10), cc.Priority1)
	assert.Equal(t, uint8(128), cc.Priority2)
	assert.Equal(t, uint8(24), cc.DomainNumber)
	assert.True(t, cc.SlaveOnly)
	assert.Equal(t, int64(20_000), cc.FirstStepThreshold)
	require.Len(t, s.Ports, 2)
	p0, p1 := s.Ports[0], s.Ports[1]
	assert.Equal(t, "eth0", p0.Interface)
	assert.Equal(t, "eth0", p0.Engine.Name)
	assert.Equal(t, int8(-4), p0.Engine.LogSyncInterval, "the interface's section wins")
	assert.Equal(t, int8(-3), p1.Engine.LogSyncInterval, "global for the other")
	assert.Equal(t, int64(120), p0.Engine.DelayAsymmetry)
	assert.Equal(t, ptp.DelayMechanismP2P, p1.Engine.DelayMechanism)
	assert.Equal(t, engine.MovingAverage, p1.Engine.DelayFilter)
	assert.True(t, p1.Engine.MasterOnly)
	assert.False(t, p0.Engine.MasterOnly)
	assert.Equal(t, ptp.ProtocolUDPIPv6, p0.Transport)
	assert.Equal(t, ptp.ProtocolIEEE802_3, p1.Transport)
	assert.Equal(t, 3, p0.TTL)
	assert.Equal(t, 1, p1.TTL)
	assert.Equal(t, uint8(0x0e), p1.UDP6Scope)

	s, err = resolve(t, "[global]\nclockIdentity 001122.3344.556677\n", "eth0")
	require.NoError(t, err)
	require.NoError(t, s.IdentityFromMAC(nil), "clockIdentity needs no MAC")
	assert.Equal(t, "001122.3344.556677", s.Clock.ClockIdentity.String())

	s, err = resolve(t, "[global]\n", "eth0")
	require.NoError(t, err)
	assert.ErrorContains(t, s.IdentityFromMAC(nil), "set clockIdentity")

	_, err = resolve(t, "[global]\n")
	assert.ErrorContains(t, err, "no interface")
}

// TestResolveTimestamping: what the engine is told about timestamps and
// two-step Sync follows time_stamping, once, here.
func TestResolveTimestamping(t *testing.T) {
	for _, tc := range []struct {
		name    string
		text    string
		ts      ptp.Timestamping
		twoStep bool
		warning string
	}{
		{"default is hardware", "[global]\n", ptp.TimestampingHardware, true, ""},
		{"software", "[global]\ntime_stamping software\n", ptp.TimestampingSoftware, true, ""},
		{"onestep sends no Follow_Up", "[global]\ntime_stamping onestep\n", ptp.TimestampingOneStep, false, ""},
		{"twoStepFlag 0 with hardware is onestep", "[global]\ntwoStepFlag 0\n", ptp.TimestampingOneStep, false, ""},
		{"virtual clock reads software timestamps", "[global]\nvirtual_clock 1\n", ptp.TimestampingSoftware, true, ""},
		{"virtual clock with hardware warns", "[global]\nvirtual_clock 1\ntime_stamping hardware\n", ptp.TimestampingSoftware, true,
			"t.conf:3: option time_stamping: virtual_clock 1 reads the kernel's software timestamps: time_stamping hardware is taken as software (and the pi servo takes its software-timestamp gains, as with -S)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(tc.text), "t.conf")
			require.NoError(t, err)
			c.AddInterface("eth0")
			s, err := c.Resolve()
			require.NoError(t, err)
			assert.Equal(t, tc.ts, s.Timestamping)
			assert.Equal(t, tc.ts, s.Clock.Timestamping, "PORT_PROPERTIES_NP")
			assert.Equal(t, tc.twoStep, s.Clock.TwoStep)
			assert.Equal(t, tc.ts == ptp.TimestampingSoftware, s.Servo.Config.PI.SoftwareTimestamps)
			var warnings []string
			for _, w := range c.Warnings {
				warnings = append(warnings, w.String())
			}
			if tc.warning == "" {
				assert.Empty(t, warnings)
			} else {
				assert.Equal(t, []string{tc.warning}, warnings)
			}
		})
	}
}

// TestResolveErrors: a value the option table accepts but roko-ptpd cannot
// act on is refused with the file, line and option.
func TestResolveErrors(t *testing.T) {
	for _, tc := range []struct {
		text, want string
	}{
		{"[global]\ntime_stamping legacy\n", "t.conf:2: time_stamping legacy: roko-ptpd has hardware, software and onestep"},
		{"[global]\n\ndelay_mechanism Auto\n", "t.conf:3: [eth0] delay_mechanism Auto: roko-ptpd has E2E and P2P"},
		{"[global]\n[eth0]\ndelay_mechanism NONE\n", "t.conf:3: [eth0] delay_mechanism NONE: roko-ptpd has E2E and P2P"},
		{"[global]\nclock_servo ntpshm\n", "t.conf:2: clock_servo ntpshm: roko-ptpd has the pi and linreg servos only"},
		{"[global]\nclockIdentity zz\n", "t.conf:2: clockIdentity: "},
		{"[global]\ntime_stamping software\ntwoStepFlag 0\n", "t.conf:3: twoStepFlag 0: one step is only possible with hardware time stamping"},
		{"[global]\nvirtual_clock 1\ntwoStepFlag 0\n", "t.conf:3: twoStepFlag 0: one step is only possible with hardware time stamping"},
		{"[global]\nmetrics_address 9326\n", "t.conf:2: metrics_address 9326: not a host:port"},
	} {
		_, err := resolve(t, tc.text, "eth0")
		require.Error(t, err, tc.text)
		assert.ErrorContains(t, err, tc.want)
		var ce *Error
		require.ErrorAs(t, err, &ce)
		assert.NotEmpty(t, ce.Option)
	}

	c := New("t.conf")
	require.NoError(t, c.Set("time_stamping", "legacy"))
	c.AddInterface("eth0")
	_, err := c.Resolve()
	assert.EqualError(t, err, "command line: time_stamping legacy: roko-ptpd has hardware, software and onestep")
}

func TestResolveDaemonSettings(t *testing.T) {
	c, err := Parse(strings.NewReader(`[global]
logging_level 7
message_tag gm
verbose 1
use_syslog 0
summary_interval 2
logSyncInterval -2
tx_timestamp_timeout 25
dscp_event 46
uds_address /run/roko
uds_file_mode 0600
virtual_clock 1
virtual_clock_offset 0.25
virtual_clock_frequency -1500
[eth0]
logSyncInterval -3
`), "t.conf")
	require.NoError(t, err)
	require.NoError(t, c.Set("uds_ro_address", ""))
	s, err := c.Resolve()
	require.NoError(t, err)
	assert.Equal(t, LogSettings{Level: 7, Tag: "gm", Verbose: true, Syslog: false, SummaryEvery: 32}, s.Log,
		"2^(2 − (−3)) samples a summary line, over the fastest port")
	assert.Equal(t, 25*time.Millisecond, s.TxTimestampTimeout)
	assert.Equal(t, 46, s.DSCPEvent)
	assert.Equal(t, []UDSSettings{{Path: "/run/roko", Mode: fs.FileMode(0o600)}}, s.UDS, "an empty uds_ro_address opens none")
	require.NotNil(t, s.Virtual)
	assert.Equal(t, VirtualSettings{Offset: 250 * time.Millisecond, FrequencyError: -1500}, *s.Virtual)
	assert.Nil(t, s.Phc2sys)

	s, err = resolve(t, "[global]\n", "eth0")
	require.NoError(t, err)
	assert.Equal(t, []UDSSettings{{Path: "/var/run/ptp4l", Mode: 0o660}, {Path: "/var/run/ptp4lro", Mode: 0o666, ReadOnly: true}}, s.UDS)
	assert.Nil(t, s.Virtual)
	assert.Zero(t, s.Log.SummaryEvery)
	assert.True(t, s.Log.Syslog)
}

func TestServoForClock(t *testing.T) {
	s, err := resolve(t, "[global]\nmax_frequency 0\n", "eth0")
	require.NoError(t, err)
	_, err = s.Servo.ForClock(0)
	assert.ErrorContains(t, err, "set max_frequency")
	got, err := s.Servo.ForClock(62_499_999)
	require.NoError(t, err)
	assert.Equal(t, 62_499_999.0, got.Config.MaxFrequency)
}

// TestResolveWarnsNoEffect: an option roko-ptpd reads but does not act on
// yet says so, with its line, instead of passing silently.
func TestResolveWarnsNoEffect(t *testing.T) {
	c, err := Parse(strings.NewReader("[global]\nsanity_freq_limit 1000\n[phc2sys]\nsanity_freq_limit 5\n"), "t.conf")
	require.NoError(t, err)
	c.AddInterface("eth0")
	_, err = c.Resolve()
	require.NoError(t, err)
	var got []string
	for _, w := range c.Warnings {
		got = append(got, w.String())
	}
	assert.Equal(t, []string{
		"t.conf:2: option sanity_freq_limit: accepted and ignored: roko-ptpd's clock has no sanity check yet",
		"t.conf:4: option sanity_freq_limit: [phc2sys] sanity_freq_limit accepted and ignored: the job inside roko-ptpd has no sanity check yet (roko-phc2sys -L has)",
	}, got)
}

// TestResolveEmulatedHardware: emulated_hardware gives each port an
// emulated card, refuses to share the clock with the virtual clock, and
// says it does nothing with software timestamps.
func TestResolveEmulatedHardware(t *testing.T) {
	s, err := resolve(t, "[global]\nemulated_hardware 1\nemulated_timestamp_noise 8\n[eth0]\nemulated_phc_offset 0.002\nemulated_phc_frequency 12000\n[eth1]\nemulated_tx_timestamp_loss 0.5\nemulated_tx_timestamp_late 0.25\n")
	require.NoError(t, err)
	assert.Equal(t, "/run/roko-ptpd/emulated", s.EmulatedDir)
	assert.Equal(t, ptp.TimestampingHardware, s.Timestamping)
	assert.Equal(t, EmulatedNIC{PHCOffset: 2 * time.Millisecond, PHCFrequency: 12000, TimestampNoise: 8}, s.Ports[0].Emulated)
	assert.Equal(t, EmulatedNIC{TimestampNoise: 8, TxTimestampLoss: 0.5, TxTimestampLate: 0.25}, s.Ports[1].Emulated)
	assert.False(t, s.Ports[0].JBOD)

	s, err = resolve(t, "[global]\nboundary_clock_jbod 1\n[eth0]\n[eth1]\nboundary_clock_jbod 0\n")
	require.NoError(t, err)
	assert.True(t, s.Ports[0].JBOD, "boundary_clock_jbod from [global]")
	assert.False(t, s.Ports[1].JBOD, "and per interface, as linuxptp reads it")

	_, err = resolve(t, "[global]\nemulated_hardware 1\nvirtual_clock 1\n", "eth0")
	assert.ErrorContains(t, err, "t.conf:2: emulated_hardware 1 and virtual_clock 1: choose one")

	c, err := Parse(strings.NewReader("[global]\nemulated_hardware 1\ntime_stamping software\n"), "t.conf")
	require.NoError(t, err)
	c.AddInterface("eth0")
	s, err = c.Resolve()
	require.NoError(t, err)
	assert.Empty(t, s.EmulatedDir)
	require.Len(t, c.Warnings, 1)
	assert.Equal(t, "t.conf:2: option emulated_hardware: emulated_hardware 1 has no effect with time_stamping software", c.Warnings[0].String())

	s, err = resolve(t, "[global]\n", "eth0")
	require.NoError(t, err)
	assert.Empty(t, s.EmulatedDir, "off by default")
}

// TestResolveOptionEffects: each option set away from its default reaches
// the value of Settings that the daemon, the engine, the servo or the
// time source takes it from. One row per option (the walk of
// TestEveryOptionAccountedFor names this test for them).
func TestResolveOptionEffects(t *testing.T) {
	port := func(s *Settings) engine.PortConfig { return s.Ports[0].Engine }
	for _, tc := range []struct {
		option string
		text   string
		get    func(*Settings) any
		want   any
	}{
		{"priority2", "[global]\npriority2 7\n", func(s *Settings) any { return s.Clock.Priority2 }, uint8(7)},
		{"clockClass", "[global]\nclockClass 6\n", func(s *Settings) any { return s.Clock.ClockQuality.ClockClass }, uint8(6)},
		{"clockAccuracy", "[global]\nclockAccuracy 0x21\n", func(s *Settings) any { return s.Clock.ClockQuality.ClockAccuracy }, ptp.ClockAccuracy(0x21)},
		{"offsetScaledLogVariance", "[global]\noffsetScaledLogVariance 0x4e5d\n", func(s *Settings) any { return s.Clock.ClockQuality.OffsetScaledLogVariance }, uint16(0x4e5d)},
		{"G.8275.defaultDS.localPriority", "[global]\nG.8275.defaultDS.localPriority 90\n", func(s *Settings) any { return s.Clock.LocalPriority }, uint8(90)},
		{"G.8275.portDS.localPriority", "[eth0]\nG.8275.portDS.localPriority 91\n", func(s *Settings) any { return port(s).LocalPriority }, uint8(91)},
		{"free_running", "[global]\nfree_running 1\n", func(s *Settings) any { return s.Clock.FreeRunning }, true},
		{"utc_offset", "[global]\nutc_offset 36\n", func(s *Settings) any { return s.Clock.UTCOffset }, int16(36)},
		{"timeSource", "[global]\ntimeSource 0x20\n", func(s *Settings) any { return s.Clock.TimeSource }, ptp.TimeSourceGNSS},
		{"maxStepsRemoved", "[global]\nmaxStepsRemoved 10\n", func(s *Settings) any { return s.Clock.MaxStepsRemoved }, uint16(10)},
		{"ptp_minor_version", "[global]\nptp_minor_version 0\n", func(s *Settings) any { return s.Clock.MinorVersionPTP }, uint8(0)},
		{"transportSpecific", "[eth0]\ntransportSpecific 1\n", func(s *Settings) any { return s.Clock.MajorSdoID }, uint8(1)},
		{"allow_network_set", "[global]\nallow_network_set 1\n", func(s *Settings) any { return s.Clock.NetworkManagementSet }, true},
		{"userDescription", "[global]\nuserDescription rack 4;validator\n", func(s *Settings) any { return s.Clock.UserDescription }, "rack 4;validator"},
		{"BMCA", "[eth0]\nBMCA noop\n", func(s *Settings) any { return port(s).NoopBMCA }, true},
		{"logAnnounceInterval", "[eth0]\nlogAnnounceInterval -2\n", func(s *Settings) any { return port(s).LogAnnounceInterval }, int8(-2)},
		{"announceReceiptTimeout", "[eth0]\nannounceReceiptTimeout 5\n", func(s *Settings) any { return port(s).AnnounceReceiptTimeout }, uint8(5)},
		{"logMinDelayReqInterval", "[eth0]\nlogMinDelayReqInterval -4\n", func(s *Settings) any { return port(s).LogMinDelayReqInterval }, int8(-4)},
		{"logMinPdelayReqInterval", "[eth0]\nlogMinPdelayReqInterval -3\n", func(s *Settings) any { return port(s).LogMinPdelayReqInterval }, int8(-3)},
		{"delay_filter_length", "[eth0]\ndelay_filter_length 3\n", func(s *Settings) any { return port(s).DelayFilterLength }, 3},
		{"delay_window", "[eth0]\ndelay_window 256\n", func(s *Settings) any { return port(s).DelayWindow }, 256},
		{"delay_change_count", "[eth0]\ndelay_change_count 5\n", func(s *Settings) any { return port(s).DelayChangeCount }, 5},
		{"delay_pair_age", "[eth0]\ndelay_pair_age 0.5\n", func(s *Settings) any { return port(s).DelayPairAge }, int64(500_000_000)},
		{"fault_reset_interval", "[eth0]\nfault_reset_interval 2\n", func(s *Settings) any { return port(s).FaultResetInterval }, int8(2)},
		{"ignore_transport_specific", "[eth0]\nignore_transport_specific 1\n", func(s *Settings) any { return port(s).IgnoreTransportSpecific }, true},
		{"check_fup_sync", "[global]\ncheck_fup_sync 1\n", func(s *Settings) any { return port(s).CheckFupSync }, true},
		{"hybrid_e2e", "[eth0]\nhybrid_e2e 1\n", func(s *Settings) any { return port(s).HybridE2E }, true},
		{"msg_interval_request", "[eth0]\nmsg_interval_request 1\n", func(s *Settings) any { return port(s).MsgIntervalRequest }, true},
		{"operLogSyncInterval", "[eth0]\noperLogSyncInterval -2\n", func(s *Settings) any { return port(s).OperLogSyncInterval }, int8(-2)},
		{"operLogPdelayReqInterval", "[eth0]\noperLogPdelayReqInterval -1\n", func(s *Settings) any { return port(s).OperLogPdelayReqInterval }, int8(-1)},
		{"egressLatency", "[eth0]\negressLatency 250\n", func(s *Settings) any { return port(s).EgressLatency }, int64(250)},
		{"ingressLatency", "[global]\ningressLatency -40\n", func(s *Settings) any { return port(s).IngressLatency }, int64(-40)},
		{"udp6_scope", "[eth0]\nudp6_scope 0x05\n", func(s *Settings) any { return s.Ports[0].UDP6Scope }, uint8(5)},
		{"dscp_general", "[global]\ndscp_general 34\n", func(s *Settings) any { return s.DSCPGeneral }, 34},
		{"receive_holdoff", "[global]\nreceive_holdoff 500\n", func(s *Settings) any { return s.ReceiveHoldoff }, 500 * time.Microsecond},
		{"receive_holdoff_rate", "[global]\nreceive_holdoff_rate 4000\n", func(s *Settings) any { return s.ReceiveHoldoffRate }, 4000},
		{"uds_ro_file_mode", "[global]\nuds_ro_file_mode 0640\n", func(s *Settings) any { return s.UDS[1].Mode }, fs.FileMode(0o640)},
		{"emulated_hardware_dir", "[global]\nemulated_hardware 1\nemulated_hardware_dir /run/x\n", func(s *Settings) any { return s.EmulatedDir }, "/run/x"},
		{"emulated_phc_wander", "[global]\nemulated_hardware 1\n[eth0]\nemulated_phc_wander 2.5\n", func(s *Settings) any { return s.Ports[0].Emulated.Wander }, 2.5},
		{"pi_integral_const", "[global]\npi_integral_const 0.25\n", func(s *Settings) any { return s.Servo.Config.PI.IntegralConst }, 0.25},
		{"pi_proportional_scale", "[global]\npi_proportional_scale 0.6\n", func(s *Settings) any { return s.Servo.Config.PI.ProportionalScale }, 0.6},
		{"pi_proportional_exponent", "[global]\npi_proportional_exponent -0.2\n", func(s *Settings) any { return s.Servo.Config.PI.ProportionalExponent }, -0.2},
		{"pi_proportional_norm_max", "[global]\npi_proportional_norm_max 0.5\n", func(s *Settings) any { return s.Servo.Config.PI.ProportionalNormMax }, 0.5},
		{"pi_integral_scale", "[global]\npi_integral_scale 0.4\n", func(s *Settings) any { return s.Servo.Config.PI.IntegralScale }, 0.4},
		{"pi_integral_exponent", "[global]\npi_integral_exponent 0.5\n", func(s *Settings) any { return s.Servo.Config.PI.IntegralExponent }, 0.5},
		{"pi_integral_norm_max", "[global]\npi_integral_norm_max 0.2\n", func(s *Settings) any { return s.Servo.Config.PI.IntegralNormMax }, 0.2},
		{"time_source_window", "[global]\npps_input /dev/pps0\ntime_source_window 5000\n", func(s *Settings) any { return s.TimeSource.Source.PulseWindow }, 5 * time.Microsecond},
		{"ts2phc.nmea_delay", "[global]\npps_input /dev/pps0\n[/dev/pps0]\nts2phc.nmea_delay -50000000\n", func(s *Settings) any { return s.TimeSource.Source.NMEADelay }, -50 * time.Millisecond},
		{"metrics_address", "[global]\nmetrics_address 127.0.0.1:9326\n", func(s *Settings) any { return s.MetricsAddress }, "127.0.0.1:9326"},
		{"[phc2sys] source", "[phc2sys]\nsource /dev/ptp2\n", func(s *Settings) any { return s.Phc2sys.Source }, "/dev/ptp2"},
		{"[phc2sys] readings", "[phc2sys]\nreadings 9\n", func(s *Settings) any { return s.Phc2sys.Readings }, 9},
		{"[phc2sys] clock_servo", "[phc2sys]\nclock_servo linreg\n", func(s *Settings) any { return s.Phc2sys.Servo }, servo.KindLinReg},
		{"[phc2sys] pi_proportional_const", "[phc2sys]\npi_proportional_const 0.4\n", func(s *Settings) any { return s.Phc2sys.KP }, 0.4},
		{"[phc2sys] pi_integral_const", "[phc2sys]\npi_integral_const 0.1\n", func(s *Settings) any { return s.Phc2sys.KI }, 0.1},
		{"[phc2sys] step_threshold", "[phc2sys]\nstep_threshold 0.5\n", func(s *Settings) any { return s.Phc2sys.StepThreshold }, 0.5},
		{"[phc2sys] first_step_threshold", "[phc2sys]\nfirst_step_threshold 0\n", func(s *Settings) any { return s.Phc2sys.FirstStepThreshold }, 0.0},
		{"[phc2sys] summary_updates", "[phc2sys]\nsummary_updates 60\n", func(s *Settings) any { return s.Phc2sys.SummaryUpdates }, 60},
	} {
		t.Run(tc.option, func(t *testing.T) {
			s, err := resolve(t, tc.text, "eth0")
			require.NoError(t, err)
			assert.Equal(t, tc.want, tc.get(s))
			d, err := resolve(t, "[global]\n[phc2sys]\n[eth0]\n", "eth0")
			require.NoError(t, err)
			if strings.Contains(tc.text, "pps_input") {
				d, err = resolve(t, "[global]\npps_input /dev/pps0\n", "eth0")
				require.NoError(t, err)
			}
			if strings.Contains(tc.text, "emulated_hardware 1") {
				d, err = resolve(t, "[global]\nemulated_hardware 1\n", "eth0")
				require.NoError(t, err)
			}
			assert.NotEqual(t, tc.want, tc.get(d), "the default differs, so the row shows the option's effect")
		})
	}

	// hybrid_e2e with P2P is taken and warned of, as ptp4l does.
	c, err := Parse(strings.NewReader("[eth0]\nhybrid_e2e 1\ndelay_mechanism P2P\n"), "t.conf")
	require.NoError(t, err)
	_, err = c.Resolve()
	require.NoError(t, err)
	require.Len(t, c.Warnings, 1)
	assert.Equal(t, "t.conf:2: option hybrid_e2e: [eth0] hybrid_e2e only works with E2E: it has no effect with delay_mechanism P2P", c.Warnings[0].String())
}

// uds_owner and friends: names and numbers are looked up once, at
// Resolve; an unknown name is an error naming the file, line and option.
func TestResolveUDSOwner(t *testing.T) {
	id := func(n int) *int { return &n }
	for _, tc := range []struct {
		name, conf string
		uds        []UDSSettings
		err        string
	}{
		{"none", "[global]\n", []UDSSettings{{Path: "/var/run/ptp4l", Mode: 0o660}, {Path: "/var/run/ptp4lro", Mode: 0o666, ReadOnly: true}}, ""},
		{"names", "[global]\nuds_owner root\nuds_group root\nuds_ro_group 65534\n",
			[]UDSSettings{{Path: "/var/run/ptp4l", Mode: 0o660, UID: id(0), GID: id(0)}, {Path: "/var/run/ptp4lro", Mode: 0o666, ReadOnly: true, GID: id(65534)}}, ""},
		{"numbers", "[global]\nuds_ro_owner 1000\n",
			[]UDSSettings{{Path: "/var/run/ptp4l", Mode: 0o660}, {Path: "/var/run/ptp4lro", Mode: 0o666, ReadOnly: true, UID: id(1000)}}, ""},
		{"unknown user", "[global]\n\nuds_owner no-such-roko-user\n", nil, "t.conf:3: uds_owner no-such-roko-user: no such user on this host"},
		{"unknown group", "[global]\nuds_ro_group no-such-roko-group\n", nil, "t.conf:2: uds_ro_group no-such-roko-group: no such group on this host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(tc.conf), "t.conf")
			require.NoError(t, err)
			c.AddInterface("eth0")
			s, err := c.Resolve()
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.uds, s.UDS)
		})
	}
}

// TestDelayWindow: roko-ptpd's meanPathDelay estimate is on by default;
// linuxptp's delay_filter options then do nothing and say so, and
// delay_window 0 brings them back (and silences the estimate's own).
func TestDelayWindow(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		window     int
		warned     []string
	}{
		{"defaults", "[global]\n", 1024, nil},
		// linuxptp's default.cfg spells every default out: that keeps
		// roko's estimate, and says the two lines do nothing.
		{"linuxptp's defaults spelt out", "[global]\ndelay_filter moving_median\ndelay_filter_length 10\n", 1024,
			[]string{"delay_filter", "delay_filter_length"}},
		// Another filter than the default is meant: linuxptp's filter.
		{"another filter asked for", "[global]\ndelay_filter moving_average\n", 0, nil},
		{"another length asked for", "[global]\n[eth0]\ndelay_filter_length 5\n", 0, nil},
		{"another filter, and a window", "[global]\ndelay_window 64\ndelay_filter moving_average\n[eth0]\ndelay_filter_length 5\n", 64,
			[]string{"delay_filter", "delay_filter_length"}},
		{"window off", "[global]\ndelay_window 0\ndelay_filter_length 5\ndelay_pair_age 0.1\n", 0, []string{"delay_pair_age"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(tc.text), "t.conf")
			require.NoError(t, err)
			c.AddInterface("eth0")
			s, err := c.Resolve()
			require.NoError(t, err)
			p := s.Ports[0].Engine
			assert.Equal(t, tc.window, p.DelayWindow)
			assert.Equal(t, 3, p.DelayChangeCount)
			var warned []string
			for _, w := range c.Warnings {
				warned = append(warned, w.Option)
				assert.Contains(t, w.Msg, "no effect with delay_window")
			}
			assert.Equal(t, tc.warned, warned)
			f, err := engine.NewPathDelayFilter(p)
			require.NoError(t, err)
			_, windowed := f.(*engine.WindowedDelayFilter)
			assert.Equal(t, tc.window > 0, windowed)
		})
	}
}
