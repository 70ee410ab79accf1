package config

import (
	"os"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary text to the parser: it must never panic, and a
// configuration it accepts must answer every option for every section.
func FuzzParse(f *testing.F) {
	for _, p := range []string{"../../testdata/seed/ptp4l.conf", "../../testdata/seed/gm.conf"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("[global]\ndomainNumber 0x18 # c\n[eth0]\nlogSyncInterval -4\n[unicast_master_table]\ntable_id 1\nUDPv4 198.18.0.1\n")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := Parse(strings.NewReader(text), "fuzz.conf")
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		sections := append([]string{""}, c.Interfaces()...)
		sections = append(sections, c.PPSInputs()...)
		for _, s := range sections {
			for _, o := range options {
				c.value(s, o.Name)
			}
		}
	})
}
