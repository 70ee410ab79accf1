package phc2sys

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/phc"
)

// TestEmulatedSource: phc2sys opens an emulated PHC by its path, as it
// opens /dev/ptpN, and keeps a virtual clock on it through the Device's
// ordinary read path.
func TestEmulatedSource(t *testing.T) {
	cfg := phc.DefaultEmulatedConfig()
	cfg.Offset, cfg.FrequencyError, cfg.Wander, cfg.Seed = 37*time.Second, 20_000, 0.5, 1
	e, err := phc.CreateEmulated(filepath.Join(t.TempDir(), "ptp0"), cfg)
	require.NoError(t, err)
	defer e.Close()
	src, err := OpenClock(e.Path())
	require.NoError(t, err)
	defer src.(*phc.Device).Close()
	dst, err := phc.NewVirtual(phc.VirtualConfig{Name: "target", Offset: 5 * time.Millisecond, FrequencyError: -30_000})
	require.NoError(t, err)
	s := linregSyncer(src, dst, -37e9)
	trueErr := func() float64 {
		a, err := dst.TrueError()
		require.NoError(t, err)
		b, err := e.TrueError()
		require.NoError(t, err)
		return float64(a-b) + 37e9
	}
	rms, worst, n, _ := runSyncer(t, s, 4*time.Second, 2500*time.Millisecond, trueErr)
	t.Logf("virtual clock on an emulated PHC: true error RMS %.0f ns, worst %.0f ns over the last 1.5 s (%d updates)", rms, worst, n)
	assert.Less(t, rms, 1000.0)
	assert.Less(t, worst, 5000.0)
}
