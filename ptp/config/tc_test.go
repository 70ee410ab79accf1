package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// clock_type picks the engine's clock type; a transparent clock needs two
// interfaces of its delay mechanism (ptp4l's checks), and OC and BC are
// what the number of ports makes anyway.
func TestResolveClockType(t *testing.T) {
	for _, tt := range []struct {
		name, text string
		ifaces     []string
		want       engine.ClockType
		err        string
	}{
		{"default", "[global]\n", []string{"eth0"}, engine.OrdinaryOrBoundary, ""},
		{"BC", "[global]\nclock_type BC\n", []string{"eth0", "eth1"}, engine.OrdinaryOrBoundary, ""},
		{"E2E_TC", "[global]\nclock_type E2E_TC\n", []string{"eth0", "eth1"}, engine.E2ETransparent, ""},
		{"P2P_TC", "[global]\nclock_type P2P_TC\ndelay_mechanism P2P\n", []string{"eth0", "eth1"}, engine.P2PTransparent, ""},
		{"one interface", "[global]\nclock_type E2E_TC\n", []string{"eth0"}, 0, "at least two interfaces"},
		{"jbod", "[global]\nclock_type E2E_TC\nboundary_clock_jbod 1\n", []string{"eth0", "eth1"}, 0, "a transparent clock measures residence on one clock"},
		{"P2P_TC with E2E", "[global]\nclock_type P2P_TC\n", []string{"eth0", "eth1"}, 0, "needs delay_mechanism P2P"},
		{"E2E_TC with a P2P port", "[global]\nclock_type E2E_TC\n[eth1]\ndelay_mechanism P2P\n", []string{"eth0", "eth1"}, 0, "[eth1] clock_type E2E_TC needs delay_mechanism E2E"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := resolve(t, tt.text, tt.ifaces...)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, s.Clock.Type)
		})
	}
}
