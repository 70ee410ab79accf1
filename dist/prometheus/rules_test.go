// Package prometheus_test checks dist/prometheus with promtool: the
// alerting rules and scrape config load, and the rules' unit tests pass.
package prometheus_test

import (
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/roko-network/roko-ptpd/internal/testenv"
)

// TestPromtool: promtool check rules and check config accept the files,
// and promtool test rules runs roko-ptpd.rules.test.yml, in which each of
// the guide's five alerts, PTPAuthFailures and phc2sys's two offset
// alerts is checked quiet and firing.
func TestPromtool(t *testing.T) {
	promtool := testenv.RequireCommand(t, "promtool", "prometheus")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"check rules", []string{"check", "rules", "roko-ptpd.rules.yml"}},
		{"check config", []string{"check", "config", "prometheus.yml"}},
		{"test rules", []string{"test", "rules", "roko-ptpd.rules.test.yml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command(promtool, tc.args...).CombinedOutput()
			assert.NoError(t, err, "promtool %v:\n%s", tc.args, out)
		})
	}
}
