package config

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Value is one option's value as set in a file or on the command line.
type Value struct {
	Raw   string  // as written (an Enum is stored in its canonical spelling)
	Int   int64   // for Int and Enum (the label's index) options
	Float float64 // for Float options
	Line  int     // line in the file; 0 for defaults and the command line
}

// Section is one [name] section of the file.
type Section struct {
	Name   string
	Line   int
	values map[string]Value
}

// newSection returns an empty section.
func newSection(name string, line int) *Section {
	return &Section{Name: name, Line: line, values: map[string]Value{}}
}

// Warning is something the file does that works but deserves the operator's
// attention; each prints as "FILE:LINE: option NAME: message".
type Warning struct {
	File   string
	Line   int
	Option string
	Msg    string
}

func (w Warning) String() string {
	if w.Line == 0 {
		return fmt.Sprintf("%s: option %s: %s", w.File, w.Option, w.Msg)
	}
	return fmt.Sprintf("%s:%d: option %s: %s", w.File, w.Line, w.Option, w.Msg)
}

// Error is a configuration error: the file, the line, the option when there
// is one, and what is wrong, in ptp4l's words where ptp4l has them.
type Error struct {
	File   string
	Line   int
	Option string
	Msg    string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// UnicastMasterTable is one table of the [unicast_master_table] section.
type UnicastMasterTable struct {
	ID               int
	LogQueryInterval int
	PeerAddress      string
	Entries          []UnicastMaster
	Line             int
}

// UnicastMaster is one entry of a unicast master table.
type UnicastMaster struct {
	Transport string // "UDPv4", "UDPv6" or "L2"
	Address   string
}

// Config is a parsed configuration.
type Config struct {
	// File names the source in messages.
	File string
	// Warnings collects what the file did that deserves attention.
	Warnings []Warning

	global    *Section
	ports     []*Section
	pps       []*Section
	phc2sys   *Section // [phc2sys], when present
	umt       []UnicastMasterTable
	locked    map[string]bool
	warnedNoE map[string]bool
	// warnedSA is set once the sa_file's permissions were warned about,
	// so that resolving twice (daemon and management) says it once.
	warnedSA bool
}

// New returns an empty configuration (every option at its default).
func New(file string) *Config {
	return &Config{File: file, global: newSection("global", 0), locked: map[string]bool{}, warnedNoE: map[string]bool{}}
}

// Load reads the file at path; "-" reads standard input, as ptp4l -f - does.
func Load(path string) (*Config, error) {
	c := New(path)
	if err := c.ReadFile(path); err != nil {
		return nil, err
	}
	return c, nil
}

// ReadFile reads the file at path into c, on top of what c holds (the
// command line's values, which the file's [global] cannot change).
func (c *Config) ReadFile(path string) error {
	c.File = path
	if path == "-" {
		c.File = "stdin"
		return c.Read(os.Stdin)
	}
	f, err := os.Open(path)
	if err != nil {
		return &Error{File: path, Msg: fmt.Sprintf("failed to open configuration file: %v", err)}
	}
	defer f.Close()
	return c.Read(f)
}

type sectionKind uint8

const (
	noSection sectionKind = iota
	globalSection
	portSection
	ppsSection
	umtSection
	phc2sysSection
)

// Parse reads a configuration in ptp4l.conf's format from r; name names it
// in messages.
//
// Like ptp4l: lines are trimmed; blank lines and lines whose first
// character is '#' are ignored; a line "[global]" (any case) starts the
// global section, "[unicast_master_table]" the unicast tables, and any other
// "[NAME]" an interface's section; a setting is "option value", where the
// value is the rest of the line; option names are case-sensitive and enum
// values are not; integers take 0x and 0 prefixes. Unknown options,
// malformed and out-of-range values, settings before any section, and
// clock-wide options in an interface's section are errors.
//
// Deliberately unlike ptp4l 3.1.1: a '#' that follows white space starts a
// comment (ptp4l takes it as part of the value, and then rejects numbers
// and enums and silently keeps it in strings); "bmca" is read as "BMCA";
// assumeReversible is accepted and ignored, with a warning; "[/dev/ppsN]"
// names a PPS input (its options are checked; clock-wide options found there
// apply to the clock, with a warning); "[ global ]" is the global section.
// Deprecated names (slaveOnly, masterOnly, pi_offset_const, …) are accepted
// with linuxptp 4.x's warning.
func Parse(r io.Reader, name string) (*Config, error) {
	c := New(name)
	if err := c.Read(r); err != nil {
		return nil, err
	}
	return c, nil
}

// Read reads a configuration from r into c (see Parse for the rules).
func (c *Config) Read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	kind := noSection
	var cur *Section
	var table *UnicastMasterTable
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		text = stripComment(text)
		if text[0] == '[' {
			k, sec, err := c.section(text, line)
			if err != nil {
				return err
			}
			kind, cur, table = k, sec, nil
			continue
		}
		switch kind {
		case noSection:
			return c.errorf(line, "", "line %d is not in a section", line)
		case umtSection:
			var err error
			if table, err = c.unicastLine(text, line, table); err != nil {
				return err
			}
			continue
		}
		option, value, ok := splitSetting(text)
		if !ok {
			return c.errorf(line, option, "could not parse line %d in %s section: option %s has no value", line, cur.Name, option)
		}
		if kind == phc2sysSection {
			if err := c.setPhc2sys(option, value, line); err != nil {
				return err
			}
			continue
		}
		if err := c.set(kind, cur, option, value, line); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return &Error{File: c.File, Msg: fmt.Sprintf("reading: %v", err)}
	}
	return nil
}

// stripComment removes a trailing comment: a '#' that follows white space.
func stripComment(s string) string {
	for i := 1; i < len(s); i++ {
		if s[i] == '#' && (s[i-1] == ' ' || s[i-1] == '\t') {
			return strings.TrimSpace(s[:i])
		}
	}
	return s
}

func splitSetting(s string) (option, value string, ok bool) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, "", false
	}
	return s[:i], strings.TrimSpace(s[i+1:]), true
}

func (c *Config) errorf(line int, option, format string, args ...any) *Error {
	return &Error{File: c.File, Line: line, Option: option, Msg: fmt.Sprintf(format, args...)}
}

func (c *Config) warn(line int, option, format string, args ...any) {
	c.Warnings = append(c.Warnings, Warning{File: c.File, Line: line, Option: option, Msg: fmt.Sprintf(format, args...)})
}

func (c *Config) section(text string, line int) (sectionKind, *Section, error) {
	end := strings.IndexByte(text, ']')
	if end < 0 || strings.TrimSpace(text[end+1:]) != "" {
		return 0, nil, c.errorf(line, "", "could not parse section name on line %d: want [name]", line)
	}
	name := strings.TrimSpace(text[1:end])
	switch {
	case strings.EqualFold(name, "global"):
		return globalSection, c.global, nil
	case strings.EqualFold(name, "unicast_master_table"):
		return umtSection, nil, nil
	case name == "" || strings.ContainsAny(name, " \t"):
		return 0, nil, c.errorf(line, "", "could not parse port name on line %d: %q", line, name)
	case name == Phc2sysSection:
		if c.phc2sys == nil {
			c.phc2sys = newSection(name, line)
		}
		return phc2sysSection, c.phc2sys, nil
	case strings.HasPrefix(name, "/dev/pps"):
		s := c.findSection(c.pps, name)
		if s == nil {
			s = newSection(name, line)
			c.pps = append(c.pps, s)
		}
		return ppsSection, s, nil
	}
	s := c.findSection(c.ports, name)
	if s == nil {
		s = newSection(name, line)
		c.ports = append(c.ports, s)
	}
	return portSection, s, nil
}

func (c *Config) findSection(list []*Section, name string) *Section {
	for _, s := range list {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// resolve applies respellings and renamings to an option name.
func (c *Config) resolve(option string, line int) string {
	if r, ok := respelled[option]; ok {
		c.warn(line, option, "read as %s (ptp4l spells it %s and would reject %s)", r, r, option)
		option = r
	}
	if r, ok := renamed[option]; ok {
		c.warn(line, option, "option %s is deprecated, please use %s instead", option, r)
		option = r
	}
	return option
}

func (c *Config) set(kind sectionKind, sec *Section, option, raw string, line int) error {
	name := c.resolve(option, line)
	o, ok := byName[name]
	if !ok {
		return c.errorf(line, option, "unknown option %s at line %d in %s section", option, line, sec.Name)
	}
	v, err := parseValue(o, raw)
	if err != nil {
		return c.errorf(line, option, "%s is %s value for option %s at line %d (%s)", raw, err.kind, option, line, err.want)
	}
	v.Line = line
	// Writing the default asks for nothing: configs that spell out every
	// option (linuxptp's default.cfg) load without a wall of warnings.
	if o.NoEffect != "" && !c.warnedNoE[name] && !sameValue(o, v, o.Default) {
		c.warnedNoE[name] = true
		c.warn(line, option, "accepted and ignored: %s", o.NoEffect)
	}
	switch kind {
	case globalSection:
		if c.locked[name] {
			return nil // the command line set it: ptp4l keeps that value
		}
		c.global.values[name] = v
	case portSection:
		if o.Scope != Port {
			return c.errorf(line, option, "unknown option %s at line %d in %s section (%s is a [global] option)", option, line, sec.Name, name)
		}
		sec.values[name] = v
	case ppsSection:
		switch {
		case ppsOptions[name]:
			sec.values[name] = v
		case o.Scope == Global:
			c.warn(line, option, "%s applies to the whole clock, not to the PPS input %s; set it in [global]", name, sec.Name)
			if !c.locked[name] {
				c.global.values[name] = v
			}
		default:
			return c.errorf(line, option, "option %s at line %d cannot be set for the PPS input %s", option, line, sec.Name)
		}
	}
	return nil
}

type valueError struct{ kind, want string }

// parseValue checks raw against o's type and range.
func parseValue(o *Option, raw string) (Value, *valueError) {
	v := Value{Raw: raw}
	switch o.Kind {
	case Int:
		if o.Name == "fault_reset_interval" && strings.EqualFold(raw, "ASAP") {
			v.Int = -128
			return v, nil
		}
		n, err := strconv.ParseInt(raw, 0, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return v, &valueError{"an out of range", intWant(o)}
			}
			return v, &valueError{"a malformed", intWant(o)}
		}
		if n < o.Min || n > o.Max {
			return v, &valueError{"an out of range", intWant(o)}
		}
		v.Int = n
	case Float:
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return v, &valueError{"a malformed", fmt.Sprintf("want a number from %g to %g", o.MinF, o.MaxF)}
		}
		if f < o.MinF || f > o.MaxF {
			return v, &valueError{"an out of range", fmt.Sprintf("want a number from %g to %g", o.MinF, o.MaxF)}
		}
		v.Float = f
	case Enum:
		for i, label := range o.Values {
			if strings.EqualFold(label, raw) {
				v.Raw, v.Int = label, int64(i)
				return v, nil
			}
		}
		return v, &valueError{"a bad", "want one of " + strings.Join(o.Values, ", ")}
	}
	return v, nil
}

func intWant(o *Option) string {
	return fmt.Sprintf("want an integer from %d to %d", o.Min, o.Max)
}

func (c *Config) unicastLine(text string, line int, table *UnicastMasterTable) (*UnicastMasterTable, error) {
	key, value, ok := splitSetting(text)
	if !ok {
		return table, c.errorf(line, key, "could not parse line %d in unicast_master_table section", line)
	}
	if key == "table_id" {
		id, err := strconv.Atoi(value)
		if err != nil || id < 1 {
			return table, c.errorf(line, key, "bad table_id %q at line %d (want a positive integer)", value, line)
		}
		for _, t := range c.umt {
			if t.ID == id {
				return table, c.errorf(line, key, "table_id %d already taken (line %d)", id, line)
			}
		}
		c.umt = append(c.umt, UnicastMasterTable{ID: id, Line: line})
		return &c.umt[len(c.umt)-1], nil
	}
	if table == nil {
		return table, c.errorf(line, key, "table_id must be the first line of a unicast master table (line %d)", line)
	}
	switch key {
	case "logQueryInterval":
		n, err := strconv.Atoi(value)
		if err != nil || n < -128 || n > 127 {
			return table, c.errorf(line, key, "bad logQueryInterval %q at line %d", value, line)
		}
		table.LogQueryInterval = n
	case "peer_address":
		table.PeerAddress = value
	case "UDPv4", "UDPv6", "L2":
		table.Entries = append(table.Entries, UnicastMaster{Transport: key, Address: value})
	default:
		return table, c.errorf(line, key, "unknown unicast master table line %q at line %d", key, line)
	}
	return table, nil
}
