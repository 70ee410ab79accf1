package config

import (
	"bytes"
	"net"
	"strings"
)

// Every option roko-ptpd accepts is accounted for in one of three ways, so
// that none is taken and silently dropped (issue 18, part 4):
//
//   - it has an effect, and a named test fails if that breaks (the
//     effects table of accounting_test.go);
//   - refusals: setting it to anything but what roko-ptpd does refuses to
//     start, naming the option and why;
//   - Option.NoEffect: it is accepted with one warning that it does
//     nothing, and the README's "Options accepted without effect" table
//     lists it.
//
// TestEveryOptionAccountedFor walks the tables and holds each entry to
// its class.

// refusal is an option roko-ptpd cannot honour: left at its default (or
// set to one of allow) it describes what roko-ptpd does anyway, so a file
// that spells it out still loads; any other value is refused at start,
// because running without it would change what the operator relies on.
type refusal struct {
	allow []string // values accepted besides the default
	why   string
}

// refusals lists the options refused at start unless left at what
// roko-ptpd does.
var refusals = map[string]refusal{
	"clock_class_threshold": {why: "not implemented: roko-ptpd would stay locked to a master of any clockClass"},
	"phc_index":             {why: "choosing the PHC is not implemented: roko-ptpd would use the interface's own PHC"},
	"gmCapable":             {why: "802.1AS gmCapable is not implemented: roko-ptpd could become grandmaster (clientOnly 1 keeps a clock from it)"},
	"follow_up_info":        {why: "the 802.1AS Follow_Up information TLV is not implemented: gPTP clients that need it would not synchronise"},
	"inhibit_announce":      {why: "not implemented: roko-ptpd would send Announce and time out waiting for them (BMCA noop with serverOnly or clientOnly makes a static master)"},
	"inhibit_delay_req":     {why: "not implemented: roko-ptpd would send Delay_Req"},
	"ignore_source_id":      {why: "not implemented: roko-ptpd would take Sync and Follow_Up only from the master its Announce messages chose"},
	"power_profile.version": {why: "the power profile (IEEE C37.238) TLV is not implemented: roko-ptpd would send Announce without it"},
	"user":                  {why: "dropping privileges is not implemented: roko-ptpd would keep running as the user that started it"},
}

// refuse returns the error for the first refused option set, in [global]
// or an interface's section, to a value roko-ptpd cannot honour.
func (c *Config) refuse() error {
	sections := append([]string{"global"}, c.Interfaces()...)
	for _, o := range options {
		r, ok := refusals[o.Name]
		if !ok {
			continue
		}
		for _, sec := range sections {
			v := c.value(sec, o.Name)
			if (v.Line == 0 && !c.locked[o.Name]) || r.allows(&o, v) {
				continue
			}
			where := ""
			if sec != "global" {
				where = "[" + sec + "] "
			}
			return c.errorAt(sec, o.Name, "%s%s %s: %s", where, o.Name, v.Raw, r.why)
		}
	}
	return nil
}

// allows reports whether v is the default or one of the allowed values.
func (r refusal) allows(o *Option, v Value) bool {
	for _, a := range append([]string{o.Default}, r.allow...) {
		if sameValue(o, v, a) {
			return true
		}
	}
	return false
}

// sameValue reports whether v is the value raw would be: numbers by value,
// enums by label, addresses by what they address (FF02:0:0:0:0:0:0:6B is
// ff02::6b), other strings as written.
func sameValue(o *Option, v Value, raw string) bool {
	wide := *o
	wide.Min, wide.Max, wide.MinF, wide.MaxF = -1<<63, 1<<63-1, -maxFloat, maxFloat
	w, err := parseValue(&wide, raw)
	if err != nil {
		return false
	}
	switch o.Kind {
	case Int, Enum:
		return v.Int == w.Int
	case Float:
		return v.Float == w.Float
	}
	if a, b := net.ParseIP(v.Raw), net.ParseIP(w.Raw); a != nil && b != nil {
		return a.Equal(b)
	}
	if a, err := net.ParseMAC(v.Raw); err == nil {
		if b, err := net.ParseMAC(w.Raw); err == nil {
			return bytes.Equal(a, b)
		}
	}
	return strings.TrimSpace(v.Raw) == strings.TrimSpace(w.Raw)
}
