package ptpd

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMetricsDistNames: the alerting rules, the scrape config and the
// Grafana dashboard in dist/ name only metrics roko-ptpd exports, and
// together they use the ones the guide's alerts and the fleet view need.
func TestMetricsDistNames(t *testing.T) {
	exported := map[string]bool{}
	for _, d := range allDescs {
		exported[d.Name()] = true
	}
	used := map[string]bool{}
	name := regexp.MustCompile(`roko_ptp_[a-z0-9_]+`)
	for _, f := range []string{"prometheus/roko-ptpd.rules.yml", "prometheus/roko-ptpd.rules.test.yml", "grafana/roko-ptpd-fleet.json"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "dist", f))
		require.NoError(t, err)
		for _, n := range name.FindAllString(string(b), -1) {
			assert.True(t, exported[n], "%s names %s, which roko-ptpd does not export", f, n)
			used[n] = true
		}
	}
	for _, n := range []string{"roko_ptp_offset_from_master_seconds", "roko_ptp_mean_path_delay_seconds", "roko_ptp_port_state",
		"roko_ptp_port_link_up", "roko_ptp_grandmaster_changes_total", "roko_ptp_sync_lost_total", "roko_ptp_messages_received_total"} {
		assert.True(t, used[n], "dist/ does not use %s", n)
	}
}
