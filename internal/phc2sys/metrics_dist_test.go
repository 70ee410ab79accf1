package phc2sys

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMetricsDistNames: the alerting rules, the scrape config and the
// Grafana dashboard in dist/ name only metrics phc2sys exports (a
// histogram's by its _bucket, _sum and _count series), and use its offset.
func TestMetricsDistNames(t *testing.T) {
	exported := map[string]bool{}
	for _, d := range metricsDescs {
		exported[d.Name()] = true
	}
	used := map[string]bool{}
	name := regexp.MustCompile(`roko_phc2sys_[a-z0-9_]+`)
	for _, f := range []string{"prometheus/roko-ptpd.rules.yml", "prometheus/roko-ptpd.rules.test.yml", "prometheus/prometheus.yml", "grafana/roko-ptpd-fleet.json"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "dist", f))
		require.NoError(t, err)
		for _, n := range name.FindAllString(string(b), -1) {
			base := n
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if b, ok := strings.CutSuffix(n, suffix); ok && exported[b] {
					base = b
				}
			}
			assert.True(t, exported[base], "%s names %s, which phc2sys does not export", f, n)
			used[base] = true
		}
	}
	for _, n := range []string{"roko_phc2sys_offset_seconds", "roko_phc2sys_abs_offset_seconds", "roko_phc2sys_samples_total"} {
		assert.True(t, used[n], "dist/ does not use %s", n)
	}
}
