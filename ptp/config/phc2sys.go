package config

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/roko-network/roko-ptpd/servo"
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
	"sanity_freq_limit": none(in("sanity_freq_limit", Global, "200000000", 0, i32max),
		"the job inside roko-ptpd has no sanity check yet (roko-phc2sys -L has)"),
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

// Phc2sysSettings is the [phc2sys] section, typed: what roko-phc2sys's
// command line would say, for the job inside the daemon.
type Phc2sysSettings struct {
	// Source is -s: the clock to follow; "" for the clock roko-ptpd steers.
	Source string
	// Target is -c: the clock to steer.
	Target string
	// UpdateRate is -R, updates per second.
	UpdateRate float64
	// Readings is -N, clock readings per update.
	Readings int
	// Servo is -E, with -P and -I in KP and KI.
	Servo  servo.Kind
	KP, KI float64
	// StepThreshold and FirstStepThreshold are -S and -F, seconds.
	StepThreshold, FirstStepThreshold float64
	// SanityFreqLimit is -L, ppb.
	SanityFreqLimit int
	// SummaryUpdates is -u: updates per summary line (0: a line each).
	SummaryUpdates int
	// UTCOffset is -O in seconds, valid when UTCOffsetSet; otherwise the
	// offset comes from the daemon's time properties, as phc2sys -w.
	UTCOffset    int
	UTCOffsetSet bool
	// SourceAt, TargetAt and ServoAt say where source, target and
	// clock_servo were set, for the messages of errors found when the
	// clocks are opened: "FILE:LINE: [phc2sys] target", or the default.
	SourceAt, TargetAt, ServoAt string
}

// phc2sysSettings types the [phc2sys] section.
func (c *Config) phc2sysSettings() *Phc2sysSettings {
	get := func(option string) Value {
		if v, ok := c.phc2sys.values[option]; ok {
			return v
		}
		o := phc2sysOptions[option]
		v, _ := parseValue(&o, o.Default)
		return v
	}
	p := &Phc2sysSettings{
		Source:             get("source").Raw,
		Target:             get("target").Raw,
		UpdateRate:         get("update_rate").Float,
		Readings:           int(get("readings").Int),
		Servo:              servo.Kind(get("clock_servo").Raw),
		KP:                 get("pi_proportional_const").Float,
		KI:                 get("pi_integral_const").Float,
		StepThreshold:      get("step_threshold").Float,
		FirstStepThreshold: get("first_step_threshold").Float,
		SanityFreqLimit:    int(get("sanity_freq_limit").Int),
		SummaryUpdates:     int(get("summary_updates").Int),
		UTCOffset:          int(get("utc_offset").Int),
	}
	at := func(option string) string {
		if v, ok := c.phc2sys.values[option]; ok {
			return fmt.Sprintf("%s:%d: [phc2sys] %s", c.File, v.Line, option)
		}
		return fmt.Sprintf("%s: [phc2sys] %s (default)", c.File, option)
	}
	p.SourceAt, p.TargetAt, p.ServoAt = at("source"), at("target"), at("clock_servo")
	_, p.UTCOffsetSet = c.phc2sys.values["utc_offset"]
	return p
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
	if o.NoEffect != "" && !sameValue(&o, v, o.Default) {
		c.warn(line, option, "[phc2sys] %s accepted and ignored: %s", option, o.NoEffect)
	}
	c.phc2sys.values[option] = v
	return nil
}
