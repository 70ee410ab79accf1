package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/servo"
)

func parse(t *testing.T, text string) *Config {
	t.Helper()
	c, err := Parse(strings.NewReader(text), "test.conf")
	require.NoError(t, err)
	return c
}

func warnings(c *Config) []string {
	var out []string
	for _, w := range c.Warnings {
		out = append(out, w.String())
	}
	return out
}

// The operator guide's client config loads, with its values and the
// warnings it deserves.
func TestSeedClientConfig(t *testing.T) {
	c, err := Load("../../testdata/seed/ptp4l.conf")
	require.NoError(t, err)
	assert.EqualValues(t, 24, c.int("", "domainNumber"))
	assert.True(t, c.bool("", "clientOnly"), "slaveOnly is clientOnly")
	assert.EqualValues(t, 128, c.int("", "priority1"))
	assert.EqualValues(t, -4, c.int("", "logSyncInterval"), "a trailing comment is a comment")
	assert.EqualValues(t, 0x21, c.int("", "clockAccuracy"))
	assert.EqualValues(t, 0xffff, c.int("", "offsetScaledLogVariance"))
	assert.Equal(t, "L2", c.str("", "network_transport"))
	assert.Equal(t, "UDPv4", c.str("eth0", "network_transport"), "the interface's section wins")
	assert.Equal(t, "linreg", c.str("", "clock_servo"))
	assert.InDelta(t, 0.00002, c.float("", "step_threshold"), 1e-12)
	assert.EqualValues(t, 100, c.int("", "tx_timestamp_timeout"))
	assert.True(t, c.bool("", "check_fup_sync"))
	assert.EqualValues(t, -4, c.int("eth0", "operLogPdelayReqInterval"))
	assert.False(t, c.bool("eth0", "serverOnly"))
	assert.Equal(t, []string{"eth0"}, c.Interfaces())
	assert.Equal(t, []string{
		"../../testdata/seed/ptp4l.conf:4: option slaveOnly: option slaveOnly is deprecated, please use clientOnly instead",
		"../../testdata/seed/ptp4l.conf:29: option assumeReversible: accepted and ignored: it is not a linuxptp option and roko-ptpd has nothing it could control",
		"../../testdata/seed/ptp4l.conf:46: option masterOnly: option masterOnly is deprecated, please use serverOnly instead",
	}, warnings(c))
}

// The operator guide's grandmaster config loads.
func TestSeedGrandmasterConfig(t *testing.T) {
	c, err := Load("../../testdata/seed/gm.conf")
	require.NoError(t, err)
	assert.EqualValues(t, 1, c.int("", "priority1"))
	assert.EqualValues(t, 6, c.int("", "clockClass"))
	assert.EqualValues(t, 0x20, c.int("", "clockAccuracy"))
	assert.EqualValues(t, 0x4e5d, c.int("", "offsetScaledLogVariance"))
	assert.EqualValues(t, 0x20, c.int("", "timeSource"))
	assert.EqualValues(t, -6, c.int("", "logSyncInterval"))
	assert.Equal(t, "ptp", c.str("", "BMCA"))
	assert.Equal(t, "G.8275.x", c.str("", "dataset_comparison"))
	assert.Equal(t, []string{"/dev/pps0"}, c.PPSInputs())
	assert.Empty(t, c.Interfaces(), "a PPS input is not a network port")
	assert.Equal(t, []string{
		"../../testdata/seed/gm.conf:3: option slaveOnly: option slaveOnly is deprecated, please use clientOnly instead",
		"../../testdata/seed/gm.conf:22: option bmca: read as BMCA (ptp4l spells it BMCA and would reject bmca)",
		"../../testdata/seed/gm.conf:26: option dataset_comparison: dataset_comparison applies to the whole clock, not to the PPS input /dev/pps0; set it in [global]",
	}, warnings(c))
}

func TestDefaults(t *testing.T) {
	c := New("none")
	for _, tc := range []struct {
		option string
		want   any
	}{
		{"domainNumber", int64(0)},
		{"priority1", int64(128)},
		{"clockClass", int64(248)},
		{"clockAccuracy", int64(0xfe)},
		{"logAnnounceInterval", int64(1)},
		{"announceReceiptTimeout", int64(3)},
		{"tx_timestamp_timeout", int64(10)},
		{"uds_file_mode", int64(0o660)},
		{"timeSource", int64(0xa0)},
		{"max_frequency", int64(900000000)},
		{"uds_address", "/var/run/ptp4l"},
		{"network_transport", "UDPv4"},
		{"delay_mechanism", "E2E"},
		{"time_stamping", "hardware"},
		{"clock_servo", "pi"},
		{"first_step_threshold", 0.00002},
		{"ptp_dst_mac", "01:1B:19:00:00:00"},
	} {
		v := c.value("", tc.option)
		switch want := tc.want.(type) {
		case int64:
			assert.Equal(t, want, v.Int, tc.option)
		case string:
			assert.Equal(t, want, v.Raw, tc.option)
		case float64:
			assert.InDelta(t, want, v.Float, 1e-12, tc.option)
		}
		assert.False(t, c.isSet("", tc.option))
	}
	// Every default of the table parses.
	for _, o := range Options() {
		assert.NotPanics(t, func() { c.value("", o.Name) }, o.Name)
	}
}

func TestParserRules(t *testing.T) {
	c := parse(t, `
# a comment
   [ global ]
domainNumber    0x18
clockAccuracy	0x21	# tab-separated, with a comment
uds_file_mode   0600
uds_address     /run/x#not-a-comment
delay_mechanism p2p
fault_reset_interval ASAP
message_tag     two words
[eth1]
logSyncInterval -3
[eth0]
delay_mechanism E2E
`)
	assert.EqualValues(t, 24, c.int("", "domainNumber"), "[ global ] is the global section")
	assert.EqualValues(t, 0x21, c.int("", "clockAccuracy"))
	assert.EqualValues(t, 0o600, c.int("", "uds_file_mode"), "a leading 0 is octal, as strtol reads it")
	assert.Equal(t, "/run/x#not-a-comment", c.str("", "uds_address"))
	assert.Equal(t, "P2P", c.str("", "delay_mechanism"), "enums are case-insensitive and stored canonically")
	assert.Equal(t, "E2E", c.str("eth0", "delay_mechanism"))
	assert.Equal(t, "P2P", c.str("eth1", "delay_mechanism"))
	assert.EqualValues(t, -128, c.int("eth0", "fault_reset_interval"))
	assert.Equal(t, "two words", c.str("", "message_tag"))
	assert.EqualValues(t, -3, c.int("eth1", "logSyncInterval"))
	assert.EqualValues(t, 0, c.int("eth0", "logSyncInterval"))
	assert.Equal(t, []string{"eth1", "eth0"}, c.Interfaces())
	assert.True(t, c.isSet("eth1", "logSyncInterval"))
	assert.Empty(t, c.Warnings)
}

func TestParserErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"unknown option", "[global]\nfooBar 1\n", "test.conf:2: unknown option fooBar at line 2 in global section"},
		{"option names are case-sensitive", "[global]\ndomainnumber 1\n", "unknown option domainnumber at line 2"},
		{"clock option in a port section", "[eth0]\npriority1 1\n", "test.conf:2: unknown option priority1 at line 2 in eth0 section (priority1 is a [global] option)"},
		{"malformed integer", "[global]\n\ndomainNumber x\n", "test.conf:3: x is a malformed value for option domainNumber at line 3 (want an integer from 0 to 255)"},
		{"out of range", "[global]\ndomainNumber 300\n", "300 is an out of range value for option domainNumber at line 2 (want an integer from 0 to 255)"},
		{"out of int64", "[global]\ndelayAsymmetry 99999999999999999999\n", "is an out of range value for option delayAsymmetry"},
		{"bad enum", "[global]\ndelay_mechanism E3E\n", "E3E is a bad value for option delay_mechanism at line 2 (want one of Auto, COMMON_P2P, E2E, P2P, NONE)"},
		{"malformed float", "[global]\nstep_threshold fast\n", "fast is a malformed value for option step_threshold"},
		{"negative float", "[global]\nstep_threshold -1\n", "-1 is an out of range value for option step_threshold"},
		{"no value", "[global]\npriority1\n", "test.conf:2: could not parse line 2 in global section: option priority1 has no value"},
		{"no section", "priority1 1\n", "test.conf:1: line 1 is not in a section"},
		{"bad section", "[eth0\n", "could not parse section name on line 1"},
		{"section name with spaces", "[eth0 eth1]\n", "could not parse port name on line 1"},
		{"port option for a PPS input", "[/dev/pps0]\nlogSyncInterval 1\n", "option logSyncInterval at line 2 cannot be set for the PPS input /dev/pps0"},
		{"unicast table without an id", "[unicast_master_table]\nUDPv4 198.18.0.1\n", "table_id must be the first line"},
		{"unicast table id twice", "[unicast_master_table]\ntable_id 1\n[unicast_master_table]\ntable_id 1\n", "table_id 1 already taken"},
		{"unicast table bad line", "[unicast_master_table]\ntable_id 1\nfoo 1\n", "unknown unicast master table line"},
		{"unknown [phc2sys] option", "[phc2sys]\ndomainNumber 1\n", "test.conf:2: unknown option domainNumber at line 2 in [phc2sys] section (it takes clock_servo, first_step_threshold, pi_integral_const"},
		{"bad [phc2sys] servo", "[phc2sys]\nclock_servo ntpshm\n", "ntpshm is a bad value for option clock_servo at line 2 (want one of pi, linreg)"},
		{"bad [phc2sys] rate", "[phc2sys]\nupdate_rate 0\n", "0 is an out of range value for option update_rate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.text), "test.conf")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			var ce *Error
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, "test.conf", ce.File)
		})
	}
}

// TestPhc2sysSection: a [phc2sys] section holds the phc2sys job's
// settings, apart from the clock's, with phc2sys's defaults.
func TestPhc2sysSection(t *testing.T) {
	c, err := Parse(strings.NewReader("[global]\nclock_servo linreg\n[phc2sys]\ntarget /dev/ptp1\nupdate_rate 16\nutc_offset -37\n[eth0]\n"), "test.conf")
	require.NoError(t, err)
	require.True(t, c.HasPhc2sys())
	assert.Equal(t, []string{"eth0"}, c.Interfaces(), "[phc2sys] is not an interface")
	s, err := c.Resolve()
	require.NoError(t, err)
	p := s.Phc2sys
	require.NotNil(t, p)
	assert.Equal(t, "/dev/ptp1", p.Target)
	assert.Equal(t, "test.conf:4: [phc2sys] target", p.TargetAt)
	assert.Equal(t, "test.conf: [phc2sys] source (default)", p.SourceAt)
	assert.Equal(t, 16.0, p.UpdateRate)
	assert.Equal(t, -37, p.UTCOffset)
	assert.True(t, p.UTCOffsetSet)
	assert.Equal(t, servo.KindPI, p.Servo, "the job's own default, not [global]'s servo")
	assert.Equal(t, servo.KindLinReg, s.Servo.Kind)
	assert.Equal(t, 0.7, p.KP, "phc2sys's PI constants")
	assert.Equal(t, 0.3, p.KI)
	assert.Equal(t, 5, p.Readings)
	assert.Equal(t, "", p.Source)

	c, err = Parse(strings.NewReader("[global]\n"), "test.conf")
	require.NoError(t, err)
	assert.False(t, c.HasPhc2sys())
}

func TestUnicastMasterTable(t *testing.T) {
	c := parse(t, `[unicast_master_table]
table_id 1
logQueryInterval 2
UDPv4 198.18.0.1
UDPv4 198.18.0.2
[eth0]
unicast_master_table 1
`)
	tabs := c.UnicastMasterTables()
	require.Len(t, tabs, 1)
	assert.Equal(t, 1, tabs[0].ID)
	assert.Equal(t, 2, tabs[0].LogQueryInterval)
	assert.Equal(t, []UnicastMaster{{"UDPv4", "198.18.0.1"}, {"UDPv4", "198.18.0.2"}}, tabs[0].Entries)
	assert.EqualValues(t, 1, c.int("eth0", "unicast_master_table"))
}

// Command-line values beat [global], as in ptp4l; an interface's section
// still wins for port options.
func TestCommandLineLocks(t *testing.T) {
	c := New("test.conf")
	require.NoError(t, c.Set("domainNumber", "7"))
	require.NoError(t, c.Set("logSyncInterval", "0"))
	require.NoError(t, c.Set("slaveOnly", "1"))
	// Read the file into the configuration that already holds the flags.
	require.NoError(t, c.Read(strings.NewReader("[global]\ndomainNumber 24\nlogSyncInterval -4\n[eth0]\nlogSyncInterval -5\n")))
	got := c
	assert.EqualValues(t, 7, got.int("", "domainNumber"))
	assert.EqualValues(t, 0, got.int("", "logSyncInterval"))
	assert.EqualValues(t, -5, got.int("eth0", "logSyncInterval"))
	assert.True(t, got.bool("", "clientOnly"))

	require.Error(t, c.Set("nosuch", "1"))
	err := c.Set("priority1", "256")
	require.ErrorContains(t, err, "256 is an out of range value for option priority1")
	c.AddInterface("eth3")
	c.AddInterface("eth3")
	assert.Equal(t, []string{"eth0", "eth3"}, got.Interfaces())
}

// The operator guide's configs resolve: none of their options is refused,
// and only the warnings the parser gave are printed.
func TestSeedConfigsResolve(t *testing.T) {
	for _, tc := range []struct {
		path     string
		warnings int
	}{
		{"../../testdata/seed/ptp4l.conf", 3},
		{"../../testdata/seed/gm.conf", 3},
	} {
		t.Run(tc.path, func(t *testing.T) {
			c, err := Load(tc.path)
			require.NoError(t, err)
			c.AddInterface("eth0")
			_, err = c.Resolve()
			require.NoError(t, err)
			assert.Len(t, c.Warnings, tc.warnings, "%q", warnings(c))
		})
	}
}
