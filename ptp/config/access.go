package config

import "fmt"

// Set sets a global option from the command line, as ptp4l's flags and
// --option=value long options do: the value is checked like the file's,
// and locked so that the file's [global] section cannot change it (an
// interface's section still can, for port options).
func (c *Config) Set(option, value string) error {
	name := option
	if r, ok := respelled[name]; ok {
		name = r
	}
	if r, ok := renamed[name]; ok {
		name = r
	}
	o, ok := byName[name]
	if !ok {
		return &Error{File: "command line", Option: option, Msg: fmt.Sprintf("unknown option %s", option)}
	}
	v, err := parseValue(o, value)
	if err != nil {
		return &Error{File: "command line", Option: option,
			Msg: fmt.Sprintf("%s is %s value for option %s (%s)", value, err.kind, option, err.want)}
	}
	c.global.values[name] = v
	c.locked[name] = true
	if o.NoEffect != "" && !c.warnedNoE[name] && !sameValue(o, v, o.Default) {
		c.warnedNoE[name] = true
		c.Warnings = append(c.Warnings, Warning{File: "command line", Option: option, Msg: "accepted and ignored: " + o.NoEffect})
	}
	return nil
}

// AddInterface adds an interface as ptp4l's -i does, keeping its file
// section if it has one.
func (c *Config) AddInterface(name string) {
	if c.findSection(c.ports, name) == nil {
		c.ports = append(c.ports, newSection(name, 0))
	}
}

// Interfaces returns the interfaces configured, in file order.
func (c *Config) Interfaces() []string {
	out := make([]string, len(c.ports))
	for i, s := range c.ports {
		out[i] = s.Name
	}
	return out
}

// PPSInputs returns the [/dev/ppsN] sections.
func (c *Config) PPSInputs() []string {
	out := make([]string, len(c.pps))
	for i, s := range c.pps {
		out[i] = s.Name
	}
	return out
}

// UnicastMasterTables returns the tables of [unicast_master_table].
func (c *Config) UnicastMasterTables() []UnicastMasterTable { return c.umt }

// value finds the value of option for section (an interface, a PPS input,
// or "" for the clock): the section's own value, else [global]'s, else the
// default. It panics for an option the table does not have, a programming
// error that tests catch. Only this package reads options by name: the
// rest of roko-ptpd takes the typed Settings that Resolve makes.
func (c *Config) value(section, option string) Value {
	o, ok := byName[option]
	if !ok {
		panic("config: no option " + option)
	}
	if section != "" {
		if s := c.findSection(c.ports, section); s != nil {
			if v, ok := s.values[option]; ok {
				return v
			}
		}
		if s := c.findSection(c.pps, section); s != nil {
			if v, ok := s.values[option]; ok {
				return v
			}
		}
	}
	if v, ok := c.global.values[option]; ok {
		return v
	}
	v, err := parseDefault(o)
	if err != nil {
		panic("config: bad default for " + option)
	}
	return v
}

// parseDefault parses an option's default without its range check:
// linuxptp has defaults outside their settable range (-1 meaning "unset").
func parseDefault(o *Option) (Value, error) {
	wide := *o
	wide.Min, wide.Max, wide.MinF, wide.MaxF = -1<<63, 1<<63-1, -maxFloat, maxFloat
	v, err := parseValue(&wide, o.Default)
	if err != nil {
		return v, fmt.Errorf("%s", err.kind)
	}
	return v, nil
}

const maxFloat = 1.7976931348623157e308

// isSet reports whether option was set for section (or in [global], or on
// the command line), rather than left at its default.
func (c *Config) isSet(section, option string) bool {
	return c.value(section, option).Line != 0 || c.locked[option]
}

// int returns an Int option's value (see value).
func (c *Config) int(section, option string) int64 { return c.value(section, option).Int }

// bool returns an Int option whose range is 0–1 as a bool.
func (c *Config) bool(section, option string) bool { return c.value(section, option).Int != 0 }

// float returns a Float option's value.
func (c *Config) float(section, option string) float64 { return c.value(section, option).Float }

// str returns a String option's value, or an Enum's label.
func (c *Config) str(section, option string) string { return c.value(section, option).Raw }

// errorAt is a configuration error about option as set for section: it
// names the file and line where the value came from (or the command line,
// or the default).
func (c *Config) errorAt(section, option, format string, args ...any) *Error {
	v := c.value(section, option)
	e := &Error{File: c.File, Line: v.Line, Option: option, Msg: fmt.Sprintf(format, args...)}
	if v.Line == 0 {
		switch {
		case c.locked[option]:
			e.File = "command line"
		default:
			e.Msg += " (the default)"
		}
	}
	return e
}
