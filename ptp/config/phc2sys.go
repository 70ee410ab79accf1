package config

import (
	"math"
	"sort"
	"strings"
)

// Phc2sysSection is the name of the section that runs the phc2sys job
// inside roko-ptpd: "[phc2sys]". Its settings are phc2sys's command-line
// options under long names; the standalone roko-phc2sys remains for those
// who keep two units.
const Phc2sysSection = "phc2sys"

// phc2sysOptions are the settings a [phc2sys] section may hold, with the
// phc2sys flag each stands for.
var phc2sysOptions = map[string]Option{
	// -s: the clock to follow; default the clock roko-ptpd steers.
	"source": st("source", Global, ""),
	// -c: the clock to steer.
	"target": st("target", Global, "CLOCK_REALTIME"),
	// -R, updates per second.
	"update_rate": fl("update_rate", Global, "1", math.SmallestNonzeroFloat64, 1e6),
	// -N, readings per update.
	"readings": in("readings", Global, "5", 1, 25),
	// -E.
	"clock_servo": en("clock_servo", Global, "pi", "pi", "linreg"),
	// -P and -I (phc2sys's own defaults, 0.7 and 0.3, when absent).
	"pi_proportional_const": fl("pi_proportional_const", Global, "0.7", 0, math.MaxFloat64),
	"pi_integral_const":     fl("pi_integral_const", Global, "0.3", 0, math.MaxFloat64),
	// -S and -F, seconds.
	"step_threshold":       fl("step_threshold", Global, "0.0", 0, math.MaxFloat64),
	"first_step_threshold": fl("first_step_threshold", Global, "0.00002", 0, math.MaxFloat64),
	// -L, ppb.
	"sanity_freq_limit": in("sanity_freq_limit", Global, "200000000", 0, i32max),
	// -u: updates per summary line (0: a line per update).
	"summary_updates": in("summary_updates", Global, "0", 0, 1<<20),
	// -O, seconds: target = source + utc_offset. Absent: from the
	// daemon's own TIME_PROPERTIES_DATA_SET, as phc2sys -w does.
	"utc_offset": in("utc_offset", Global, "0", i32min, i32max),
}

// phc2sysNames lists the [phc2sys] options for error messages.
func phc2sysNames() string {
	out := make([]string, 0, len(phc2sysOptions))
	for n := range phc2sysOptions {
		out = append(out, n)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// HasPhc2sys reports whether the file has a [phc2sys] section.
func (c *Config) HasPhc2sys() bool { return c.phc2sys != nil }

// Phc2sys returns a [phc2sys] setting: its value (the default when not
// set) and whether it was set.
func (c *Config) Phc2sys(option string) (Value, bool) {
	if c.phc2sys != nil {
		if v, ok := c.phc2sys.values[option]; ok {
			return v, true
		}
	}
	o, ok := phc2sysOptions[option]
	if !ok {
		return Value{}, false
	}
	v, _ := parseValue(&o, o.Default)
	return v, false
}

// setPhc2sys checks and keeps one [phc2sys] setting.
func (c *Config) setPhc2sys(option, raw string, line int) error {
	o, ok := phc2sysOptions[option]
	if !ok {
		return c.errorf(line, option, "unknown option %s at line %d in [phc2sys] section (it takes %s)", option, line, phc2sysNames())
	}
	v, err := parseValue(&o, raw)
	if err != nil {
		return c.errorf(line, option, "%s is %s value for option %s at line %d (%s)", raw, err.kind, option, line, err.want)
	}
	v.Line = line
	c.phc2sys.values[option] = v
	return nil
}
