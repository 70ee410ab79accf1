package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// On a machine without a PHC, the command says so and what to do; the
// system clock can still be read and compared.
func TestRun(t *testing.T) {
	err := run([]string{"lo", "caps"})
	assert.ErrorContains(t, err, "no PTP hardware clock for lo")
	assert.ErrorContains(t, err, "use software timestamping (-S) or the virtual clock")
	err = run([]string{"/dev/ptp99", "get"})
	assert.ErrorContains(t, err, "/dev/ptp99: no such clock: check that the NIC driver exposes a PTP hardware clock")
	assert.NoError(t, run([]string{"CLOCK_REALTIME", "get", "freq", "cmp"}))
	assert.NoError(t, run([]string{"lo", "tsinfo"}))
	assert.ErrorContains(t, run([]string{"CLOCK_REALTIME", "caps"}), "not a PTP hardware clock")
	assert.ErrorContains(t, run([]string{"CLOCK_REALTIME", "bogus"}), `unknown command "bogus"`)
	assert.Error(t, run(nil))

	err = run([]string{"selftest", "lo"})
	assert.ErrorContains(t, err, "selftest of lo: a check failed", "lo has no PHC")
	err = run([]string{"selftest", "--emulated=" + t.TempDir(), "lo"})
	assert.ErrorContains(t, err, "selftest --emulated: ", "no emulated PHC made for lo there")
	assert.ErrorContains(t, run([]string{"selftest", "--json"}), "give the interface")
}
