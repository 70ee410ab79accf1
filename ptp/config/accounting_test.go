package config

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// effects names, for each option that acts, a test that fails if its
// effect breaks, as "package path.TestName" from the module's root.
// [phc2sys] options are keyed "[phc2sys] name".
var effects = map[string]string{
	"spp":                             "ptp/config.TestResolveSecurity",
	"active_key_id":                   "ptp/config.TestResolveSecurity",
	"sa_file":                         "ptp/config.TestResolveSecurity",
	"priority1":                       "ptp/config.TestResolveClockAndPorts",
	"unicast_listen":                  "ptp/config.TestResolveUnicast",
	"unicast_master_table":            "ptp/config.TestResolveUnicast",
	"unicast_req_duration":            "ptp/config.TestResolveUnicast",
	"inhibit_multicast_service":       "ptp/config.TestResolveUnicast",
	"hybrid_e2e":                      "internal/ptpd.TestHybridE2EInterop",
	"domainNumber":                    "ptp/config.TestResolveClockAndPorts",
	"clientOnly":                      "ptp/config.TestResolveClockAndPorts",
	"logSyncInterval":                 "ptp/config.TestResolveClockAndPorts",
	"delay_mechanism":                 "ptp/config.TestResolveClockAndPorts",
	"network_transport":               "ptp/config.TestResolveClockAndPorts",
	"delay_filter":                    "ptp/config.TestResolveClockAndPorts",
	"delayAsymmetry":                  "ptp/config.TestResolveClockAndPorts",
	"udp_ttl":                         "ptp/config.TestResolveClockAndPorts",
	"serverOnly":                      "ptp/config.TestResolveClockAndPorts",
	"clockIdentity":                   "ptp/config.TestResolveClockAndPorts",
	"time_stamping":                   "ptp/config.TestResolveTimestamping",
	"twoStepFlag":                     "ptp/config.TestResolveTimestamping",
	"virtual_clock":                   "ptp/config.TestResolveTimestamping",
	"logging_level":                   "ptp/config.TestResolveDaemonSettings",
	"message_tag":                     "ptp/config.TestResolveDaemonSettings",
	"verbose":                         "ptp/config.TestResolveDaemonSettings",
	"use_syslog":                      "ptp/config.TestResolveDaemonSettings",
	"summary_interval":                "ptp/config.TestResolveDaemonSettings",
	"tx_timestamp_timeout":            "ptp/config.TestResolveDaemonSettings",
	"dscp_event":                      "ptp/config.TestResolveDaemonSettings",
	"uds_address":                     "ptp/config.TestResolveDaemonSettings",
	"uds_file_mode":                   "ptp/config.TestResolveDaemonSettings",
	"uds_ro_address":                  "ptp/config.TestResolveDaemonSettings",
	"virtual_clock_offset":            "ptp/config.TestResolveDaemonSettings",
	"virtual_clock_frequency":         "ptp/config.TestResolveDaemonSettings",
	"emulated_hardware":               "ptp/config.TestResolveEmulatedHardware",
	"emulated_timestamp_noise":        "ptp/config.TestResolveEmulatedHardware",
	"emulated_phc_offset":             "ptp/config.TestResolveEmulatedHardware",
	"emulated_phc_frequency":          "ptp/config.TestResolveEmulatedHardware",
	"emulated_tx_timestamp_loss":      "ptp/config.TestResolveEmulatedHardware",
	"emulated_tx_timestamp_late":      "ptp/config.TestResolveEmulatedHardware",
	"boundary_clock_jbod":             "ptp/config.TestResolveEmulatedHardware",
	"clock_servo":                     "ptp/config.TestServoSettings",
	"step_threshold":                  "ptp/config.TestServoSettings",
	"first_step_threshold":            "ptp/config.TestServoSettings",
	"servo_offset_threshold":          "ptp/config.TestServoSettings",
	"servo_num_offset_values":         "ptp/config.TestServoSettings",
	"pi_proportional_const":           "ptp/config.TestServoSettings",
	"servo_spike_filter":              "ptp/config.TestServoSettings",
	"linreg_max_points":               "ptp/config.TestServoSettings",
	"max_frequency":                   "ptp/config.TestServoForClock",
	"pps_input":                       "ptp/config.TestResolveTimeSource",
	"ts2phc.tod_source":               "ptp/config.TestResolveTimeSource",
	"ts2phc.nmea_serialport":          "ptp/config.TestResolveTimeSource",
	"ts2phc.pulsewidth":               "ptp/config.TestResolveTimeSource",
	"time_source_qualification":       "ptp/config.TestResolveTimeSource",
	"leapfile":                        "ptp/config.TestResolveTimeSource",
	"ts2phc.pin_index":                "ptp/config.TestResolveTimeSource",
	"ts2phc.channel":                  "ptp/config.TestResolveTimeSource",
	"ts2phc.extts_polarity":           "ptp/config.TestResolveTimeSource",
	"ts2phc.extts_correction":         "ptp/config.TestResolveTimeSource",
	"ts2phc.holdover":                 "ptp/config.TestResolveTimeSource",
	"ts2phc.nmea_baudrate":            "ptp/config.TestResolveTimeSource",
	"gpsd_address":                    "ptp/config.TestResolveTimeSource",
	"ts2phc.nmea_remote_host":         "ptp/config.TestResolveTimeSource",
	"ts2phc.nmea_remote_port":         "ptp/config.TestResolveTimeSource",
	"dataset_comparison":              "ptp/config.TestResolveTimeSourceSeedGM",
	"[phc2sys] target":                "ptp/config.TestPhc2sysSection",
	"[phc2sys] update_rate":           "ptp/config.TestPhc2sysSection",
	"[phc2sys] utc_offset":            "ptp/config.TestPhc2sysSection",
	"priority2":                       "ptp/config.TestResolveOptionEffects",
	"clockClass":                      "ptp/config.TestResolveOptionEffects",
	"clockAccuracy":                   "ptp/config.TestResolveOptionEffects",
	"offsetScaledLogVariance":         "ptp/config.TestResolveOptionEffects",
	"G.8275.defaultDS.localPriority":  "ptp/config.TestResolveOptionEffects",
	"G.8275.portDS.localPriority":     "ptp/config.TestResolveOptionEffects",
	"free_running":                    "ptp/config.TestResolveOptionEffects",
	"clock_type":                      "ptp/config.TestResolveClockType",
	"utc_offset":                      "ptp/config.TestResolveOptionEffects",
	"timeSource":                      "ptp/config.TestResolveOptionEffects",
	"maxStepsRemoved":                 "ptp/config.TestResolveOptionEffects",
	"ptp_minor_version":               "ptp/config.TestResolveOptionEffects",
	"transportSpecific":               "ptp/config.TestResolveOptionEffects",
	"allow_network_set":               "ptp/config.TestResolveOptionEffects",
	"userDescription":                 "ptp/config.TestResolveOptionEffects",
	"BMCA":                            "ptp/config.TestResolveOptionEffects",
	"logAnnounceInterval":             "ptp/config.TestResolveOptionEffects",
	"announceReceiptTimeout":          "ptp/config.TestResolveOptionEffects",
	"logMinDelayReqInterval":          "ptp/config.TestResolveOptionEffects",
	"logMinPdelayReqInterval":         "ptp/config.TestResolveOptionEffects",
	"delay_filter_length":             "ptp/config.TestResolveOptionEffects",
	"delay_window":                    "ptp/config.TestResolveOptionEffects",
	"delay_change_count":              "ptp/config.TestResolveOptionEffects",
	"delay_pair_age":                  "ptp/config.TestResolveOptionEffects",
	"fault_reset_interval":            "ptp/config.TestResolveOptionEffects",
	"ignore_transport_specific":       "ptp/config.TestResolveOptionEffects",
	"check_fup_sync":                  "ptp/config.TestResolveOptionEffects",
	"msg_interval_request":            "ptp/config.TestResolveOptionEffects",
	"operLogSyncInterval":             "ptp/config.TestResolveOptionEffects",
	"operLogPdelayReqInterval":        "ptp/config.TestResolveOptionEffects",
	"udp6_scope":                      "ptp/config.TestResolveOptionEffects",
	"dscp_general":                    "ptp/config.TestResolveOptionEffects",
	"uds_ro_file_mode":                "ptp/config.TestResolveOptionEffects",
	"uds_owner":                       "internal/ptpd.TestUDSOwner",
	"uds_group":                       "internal/ptpd.TestUDSOwner",
	"uds_ro_owner":                    "ptp/config.TestResolveUDSOwner",
	"uds_ro_group":                    "internal/ptpd.TestUDSOwner",
	"emulated_hardware_dir":           "ptp/config.TestResolveOptionEffects",
	"metrics_address":                 "internal/ptpd.TestMetrics",
	"receive_holdoff":                 "internal/ptpd.TestReceiveHoldoff",
	"receive_holdoff_rate":            "internal/ptpd.TestReceiveHoldoff",
	"emulated_phc_wander":             "ptp/config.TestResolveOptionEffects",
	"pi_integral_const":               "ptp/config.TestResolveOptionEffects",
	"pi_proportional_scale":           "ptp/config.TestResolveOptionEffects",
	"pi_proportional_exponent":        "ptp/config.TestResolveOptionEffects",
	"pi_proportional_norm_max":        "ptp/config.TestResolveOptionEffects",
	"pi_integral_scale":               "ptp/config.TestResolveOptionEffects",
	"pi_integral_exponent":            "ptp/config.TestResolveOptionEffects",
	"pi_integral_norm_max":            "ptp/config.TestResolveOptionEffects",
	"time_source_window":              "ptp/config.TestResolveOptionEffects",
	"ts2phc.nmea_delay":               "ptp/config.TestResolveOptionEffects",
	"[phc2sys] source":                "ptp/config.TestResolveOptionEffects",
	"[phc2sys] readings":              "ptp/config.TestResolveOptionEffects",
	"[phc2sys] clock_servo":           "ptp/config.TestResolveOptionEffects",
	"[phc2sys] pi_proportional_const": "ptp/config.TestResolveOptionEffects",
	"[phc2sys] pi_integral_const":     "ptp/config.TestResolveOptionEffects",
	"[phc2sys] step_threshold":        "ptp/config.TestResolveOptionEffects",
	"[phc2sys] first_step_threshold":  "ptp/config.TestResolveOptionEffects",
	"[phc2sys] summary_updates":       "ptp/config.TestResolveOptionEffects",
	"egressLatency":                   "ptp/engine.TestTimestampLatencies",
	"ingressLatency":                  "ptp/engine.TestTimestampLatencies",
	"ptp_dst_mac":                     "transport.TestConfiguredDestinations",
	"p2p_dst_mac":                     "transport.TestConfiguredDestinations",
	"ptp_dst_ipv4":                    "transport.TestConfiguredDestinations",
	"p2p_dst_ipv4":                    "transport.TestConfiguredDestinations",
	"ptp_dst_ipv6":                    "transport.TestConfiguredDestinations",
	"p2p_dst_ipv6":                    "transport.TestConfiguredDestinations",
}

// accountKey is how the walk names an option of a table: its name, or
// "[phc2sys] name" for the [phc2sys] section's.
type accountKey struct {
	key    string
	option *Option
	phc2   bool
}

// accountable lists every option roko-ptpd accepts: linuxptp's table and
// roko-ptpd's own, the extras of noEffect, and the [phc2sys] section's.
// A [/dev/ppsN] section takes options of the main table (ppsOptions), so
// they are walked with it.
func accountable(t *testing.T) []accountKey {
	var out []accountKey
	for name := range byName {
		out = append(out, accountKey{key: name, option: byName[name]})
	}
	for name := range phc2sysOptions {
		o := phc2sysOptions[name]
		out = append(out, accountKey{key: "[phc2sys] " + name, option: &o, phc2: true})
	}
	for name := range ppsOptions {
		require.Contains(t, byName, name, "ppsOptions holds an option of the table")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// TestEveryOptionAccountedFor walks every option roko-ptpd accepts and
// holds it to one of three classes (issue 18, part 4: no silent options):
// an effect with a test that exists and mentions the option; a refusal
// that stops Resolve, naming the option, file and line, unless the value
// is what roko-ptpd does anyway; or no effect, with exactly one warning
// naming the option and a row in the README.
func TestEveryOptionAccountedFor(t *testing.T) {
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	tests := newTestIndex(t, root)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	noEffectRows := readmeNoEffectRows(t, string(readme))

	var counts [3]int
	for _, a := range accountable(t) {
		test, hasEffect := effects[a.key]
		r, refused := refusals[a.key]
		if a.phc2 {
			refused = false
		}
		ignored := a.option.NoEffect != ""
		classes := 0
		for _, b := range []bool{hasEffect, refused, ignored} {
			if b {
				classes++
			}
		}
		if classes != 1 {
			t.Errorf("%s: want exactly one of an effect with a test, a refusal, or no effect with a warning, have %d; %s",
				a.key, classes, tests.suggest(a.option.Name))
			continue
		}
		t.Run(a.key, func(t *testing.T) {
			switch {
			case hasEffect:
				counts[0]++
				tests.check(t, test, a.option.Name)
			case refused:
				counts[1]++
				checkRefused(t, a.option, r)
			case ignored:
				counts[2]++
				checkIgnored(t, a, noEffectRows)
			}
		})
	}
	for key := range effects {
		assert.Contains(t, keys(accountable(t)), key, "effects names an option roko-ptpd does not have")
	}
	for key := range refusals {
		assert.Contains(t, byName, key, "refusals names an option roko-ptpd does not have")
	}
	t.Logf("%d options: %d with an effect, %d refused, %d accepted without effect", counts[0]+counts[1]+counts[2], counts[0], counts[1], counts[2])
}

func keys(as []accountKey) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.key
	}
	return out
}

// otherValue returns a value of o that is neither its default nor one of
// avoid, as it would be written in a file.
func otherValue(t *testing.T, o *Option, avoid []string) string {
	t.Helper()
	ok := func(raw string) bool {
		if _, err := parseValue(o, raw); err != nil {
			return false
		}
		for _, a := range append([]string{o.Default}, avoid...) {
			v, _ := parseValue(o, raw)
			if sameValue(o, v, a) {
				return false
			}
		}
		return true
	}
	var candidates []string
	switch o.Kind {
	case Int:
		d, err := parseDefault(o)
		require.NoError(t, err)
		candidates = []string{strconv.FormatInt(d.Int+1, 10), strconv.FormatInt(d.Int-1, 10), strconv.FormatInt(o.Min, 10)}
	case Float:
		d, err := parseDefault(o)
		require.NoError(t, err)
		candidates = []string{fmt.Sprint(d.Float + 0.5), fmt.Sprint(d.Float / 2), fmt.Sprint(o.MinF)}
	case Enum:
		candidates = o.Values
	case String:
		candidates = []string{"01:80:C2:00:00:0E", "224.0.0.107", "FF02::6B", "/tmp/roko-optwalk"}
	}
	for _, c := range candidates {
		if ok(c) {
			return c
		}
	}
	t.Fatalf("%s: no value other than the default to try", o.Name)
	return ""
}

// checkRefused: a file that sets the option to something roko-ptpd
// cannot honour does not resolve, and the error names the file, line and
// option; the default, or an allowed value, loads without a word.
func checkRefused(t *testing.T, o *Option, r refusal) {
	other := otherValue(t, o, r.allow)
	for _, tc := range []struct {
		name, text, want string
	}{
		{"global", "[global]\n" + o.Name + " " + other + "\n", "t.conf:2: " + o.Name + " " + other + ": " + r.why},
		{"port", "[eth0]\n" + o.Name + " " + other + "\n", "t.conf:2: [eth0] " + o.Name + " " + other + ": " + r.why},
	} {
		if tc.name == "port" && o.Scope != Port {
			continue
		}
		c, err := Parse(strings.NewReader(tc.text), "t.conf")
		require.NoError(t, err, "the file loads; Resolve refuses it")
		c.AddInterface("eth0")
		_, err = c.Resolve()
		require.Error(t, err, tc.text)
		assert.EqualError(t, err, tc.want, tc.text)
		var ce *Error
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, o.Name, ce.Option)
	}
	for _, v := range append([]string{o.Default}, r.allow...) {
		if v == "" {
			continue // a string option cannot be written empty
		}
		c, err := Parse(strings.NewReader("[global]\n"+o.Name+" "+v+"\n"), "t.conf")
		require.NoError(t, err)
		c.AddInterface("eth0")
		_, err = c.Resolve()
		require.NoError(t, err, "%s %s is what roko-ptpd does: a file may spell it out", o.Name, v)
		assert.Empty(t, c.Warnings)
	}
}

// checkIgnored: setting the option loads, with exactly one warning that
// names it (none at its default), and the README lists it.
func checkIgnored(t *testing.T, a accountKey, rows map[string]bool) {
	o := a.option
	other := otherValue(t, o, nil)
	text := "[global]\n" + o.Name + " " + other + "\n"
	if a.phc2 {
		text = "[phc2sys]\n" + o.Name + " " + other + "\n"
	} else if o.Scope == Port {
		text += "[eth0]\n" + o.Name + " " + other + "\n"
	}
	c, err := Parse(strings.NewReader(text), "t.conf")
	require.NoError(t, err)
	c.AddInterface("eth0")
	_, err = c.Resolve()
	require.NoError(t, err)
	if assert.Len(t, c.Warnings, 1, "one warning, however often the option is set") {
		assert.Equal(t, o.Name, c.Warnings[0].Option)
		assert.Contains(t, c.Warnings[0].String(), "t.conf:2: option "+o.Name+": ")
	}
	if !a.phc2 {
		c = New("t.conf")
		require.NoError(t, c.Set(o.Name, other))
		c.AddInterface("eth0")
		_, err = c.Resolve()
		require.NoError(t, err)
		if assert.Len(t, c.Warnings, 1, "from the command line too") {
			assert.Equal(t, "command line: option "+o.Name+": accepted and ignored: "+o.NoEffect, c.Warnings[0].String())
		}
	}
	// Spelling out the default asks for nothing, and gets no warning.
	def := "[global]\n" + o.Name + " " + o.Default + "\n"
	if a.phc2 {
		def = "[phc2sys]\n" + o.Name + " " + o.Default + "\n"
	}
	if o.Default != "" {
		c, err = Parse(strings.NewReader(def), "t.conf")
		require.NoError(t, err)
		c.AddInterface("eth0")
		_, err = c.Resolve()
		require.NoError(t, err)
		assert.Empty(t, c.Warnings, "%s at its default", o.Name)
	}
	assert.True(t, rows[a.key], "README.md's table of options accepted without effect lists `%s`", a.key)
}

// readmeNoEffectRows returns the options the README's table "Options
// accepted without effect" lists: the first cell of each row, whose code
// spans name options ("`a`, `b`").
func readmeNoEffectRows(t *testing.T, readme string) map[string]bool {
	_, table, ok := strings.Cut(readme, "### Options accepted without effect")
	require.True(t, ok, "README.md has a section \"Options accepted without effect\"")
	if end := strings.Index(table, "\n#"); end >= 0 {
		table = table[:end]
	}
	rows := map[string]bool{}
	code := regexp.MustCompile("`([^`]+)`")
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 2 {
			continue
		}
		for _, m := range code.FindAllStringSubmatch(cells[1], -1) {
			rows[m[1]] = true
		}
	}
	return rows
}

// testIndex holds the test functions of the module, by package path and
// name, with the text each one reads: its own source, the package-level
// declarations it names (helpers, tables, config strings) and the files
// its string literals name (testdata configs).
type testIndex struct {
	root  string
	funcs map[string]string // "ptp/config.TestX" → text
}

func newTestIndex(t *testing.T, root string) *testIndex {
	idx := &testIndex{root: root, funcs: map[string]string{}}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return idx.addPackage(path)
		}
		return nil
	})
	require.NoError(t, err)
	return idx
}

// addPackage indexes the test functions of the package in dir.
func (idx *testIndex) addPackage(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	fset := token.NewFileSet()
	decls := map[string][]string{} // package-level name → source
	type fn struct {
		decl *ast.FuncDecl
		src  []byte
	}
	var tests []fn
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		src, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, e.Name(), src, 0)
		if err != nil {
			return err
		}
		text := func(n ast.Node) string {
			return string(src[fset.Position(n.Pos()).Offset:fset.Position(n.End()).Offset])
		}
		test := strings.HasSuffix(e.Name(), "_test.go")
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					if test {
						decls[d.Name.Name] = append(decls[d.Name.Name], text(d))
					}
					// The walk itself names every option.
					if test && strings.HasPrefix(d.Name.Name, "Test") && d.Name.Name != "TestEveryOptionAccountedFor" {
						tests = append(tests, fn{d, src})
					}
				}
			case *ast.GenDecl:
				if !test {
					continue // the option table itself would mention every option
				}
				for _, s := range d.Specs {
					if v, ok := s.(*ast.ValueSpec); ok {
						for _, n := range v.Names {
							decls[n.Name] = append(decls[n.Name], text(v))
						}
					}
				}
			}
		}
	}
	rel, err := filepath.Rel(idx.root, dir)
	if err != nil {
		return err
	}
	for _, tf := range tests {
		var b strings.Builder
		b.Write(tf.src[fset.Position(tf.decl.Pos()).Offset:fset.Position(tf.decl.End()).Offset])
		seen := map[string]bool{}
		ast.Inspect(tf.decl.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.Ident:
				if !seen[n.Name] {
					seen[n.Name] = true
					for _, s := range decls[n.Name] {
						b.WriteString("\n" + s)
					}
				}
			case *ast.BasicLit:
				if s, err := strconv.Unquote(n.Value); err == nil && n.Kind == token.STRING && strings.Contains(s, "testdata/") && !strings.ContainsAny(s, "\n") {
					if data, err := os.ReadFile(filepath.Join(dir, s)); err == nil {
						b.Write(data)
					}
				}
			}
			return true
		})
		idx.funcs[filepath.ToSlash(rel)+"."+tf.decl.Name.Name] = b.String()
	}
	return nil
}

// mentions reports whether text names option (or an older name of it) as
// a whole word.
func mentions(text, option string) bool {
	// Config text in Go strings: "[global]\npriority1 1" names priority1.
	text = strings.NewReplacer(`\n`, "\n", `\t`, "\t").Replace(text)
	names := []string{option}
	for old, now := range renamed {
		if now == option {
			names = append(names, old)
		}
	}
	word := func(b byte) bool {
		return b == '_' || '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
	}
	for _, n := range names {
		for rest, at := text, 0; ; {
			i := strings.Index(rest, n)
			if i < 0 {
				break
			}
			start, end := at+i, at+i+len(n)
			if (start == 0 || !word(text[start-1]) && text[start-1] != '.') && (end == len(text) || !word(text[end])) {
				return true
			}
			at = start + 1
			rest = text[at:]
		}
	}
	return false
}

// check: the test named exists and mentions the option.
func (idx *testIndex) check(t *testing.T, test, option string) {
	text, ok := idx.funcs[test]
	switch {
	case !ok:
		t.Errorf("%s: no test %s in the module; %s", option, test, idx.suggest(option))
	case !mentions(text, option):
		t.Errorf("%s: %s does not mention the option; %s", option, test, idx.suggest(option))
	}
}

// suggest lists the tests that mention option, to help classify it.
func (idx *testIndex) suggest(option string) string {
	var out []string
	for name, text := range idx.funcs {
		if mentions(text, option) {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return "no test mentions it"
	}
	slices.Sort(out)
	var b bytes.Buffer
	fmt.Fprintf(&b, "tests that mention it: %s", strings.Join(out, ", "))
	return b.String()
}
