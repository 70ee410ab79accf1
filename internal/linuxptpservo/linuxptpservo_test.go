package linuxptpservo_test

import (
	"math"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/linuxptpservo"
	"github.com/roko-network/roko-ptpd/internal/sim"
	"github.com/roko-network/roko-ptpd/servo"
)

func TestMain(m *testing.M) {
	code := m.Run()
	linuxptpservo.RemoveBuild()
	os.Exit(code)
}

func scenario(t *testing.T, name string) sim.Scenario {
	t.Helper()
	for _, sc := range sim.Scenarios() {
		if sc.Name == name {
			return sc
		}
	}
	t.Fatalf("no scenario %q", name)
	return sim.Scenario{}
}

// TestPIMatchesRokoPI: roko-ptpd's PI servo is linuxptp's PI rewritten, so
// the same run through both must give the same clock, to rounding. A
// difference in any gain, in the start-up, the clamp or the sign ptp4l
// applies would show as nanoseconds here.
func TestPIMatchesRokoPI(t *testing.T) {
	for _, tc := range []struct {
		scenario string
		mutate   func(*servo.Config)
	}{
		{"hw", nil},
		{"hw-fast", nil},
		{"wander", nil},
		{"sw", func(c *servo.Config) { c.PI.SoftwareTimestamps = true }},
		{"hw", func(c *servo.Config) { c.StepThreshold = 500 * time.Nanosecond }},
		{"hw", func(c *servo.Config) { c.PI.ProportionalConst, c.PI.IntegralConst = 0.4, 0.1 }},
		// One constant alone is ignored, and one scale alone gives way
		// to both defaults (pi.c).
		{"hw", func(c *servo.Config) { c.PI.ProportionalConst = 0.4 }},
		{"hw", func(c *servo.Config) { c.PI.IntegralConst = 0.1 }},
		{"hw", func(c *servo.Config) { c.PI.ProportionalScale = 0.2 }},
		{"hw", func(c *servo.Config) { c.PI.ProportionalScale, c.PI.IntegralScale = 0.2, 0.05 }},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			sc := scenario(t, tc.scenario)
			sc.Duration = 2 * time.Minute
			cfg := servo.DefaultConfig()
			if tc.mutate != nil {
				tc.mutate(&cfg)
			}
			rokoPI, err := servo.NewPI(cfg, 0)
			require.NoError(t, err)
			want, err := sim.Run(sc, rokoPI)
			require.NoError(t, err)
			got, err := sim.Run(sc, linuxptpservo.StartForTest(t, servo.KindPI, cfg, 0))
			require.NoError(t, err)

			require.Len(t, got.Errors, len(want.Errors))
			var worst float64
			for i := range want.Errors {
				worst = max(worst, math.Abs(got.Errors[i]-want.Errors[i]))
			}
			t.Logf("largest difference in true error: %.3g ns over %d samples", worst, len(want.Errors))
			assert.Less(t, worst, 1e-6, "linuxptp's PI and roko's differ")
			assert.Equal(t, want.StepTimes, got.StepTimes)
			assert.Equal(t, 1, got.Steps)
		})
	}
}

// TestLinRegAsPTP4L drives linuxptp's linreg by hand: a clock 10 ms ahead
// and 50 ppm fast is stepped at the fourth sample (first_step_threshold),
// and the frequency ptp4l sets is the clock's error negated: −50000 ppb.
func TestLinRegAsPTP4L(t *testing.T) {
	s := linuxptpservo.StartForTest(t, servo.KindLinReg, servo.DefaultConfig(), 0)
	s.SetSyncInterval(1)
	const start = int64(1_790_000_000) * 1e9
	var (
		ppb   float64
		state servo.State
	)
	for k := range int64(4) {
		offset := 10_000_000 + 50_000*k // 50 µs more per second: 50 ppm fast
		ppb, state = s.Sample(offset, start+k*1e9+offset)
		if k < 3 {
			assert.Equal(t, servo.Unlocked, state, "sample %d", k)
		}
	}
	assert.Equal(t, servo.Jump, state)
	// The slope takes out the 50 ppm; the intercept (offset removed by the
	// step) adds nothing more.
	assert.InDelta(t, -50_000, ppb, 5)
	ratio, err := s.RateRatio()
	require.NoError(t, err)
	assert.InDelta(t, 1, ratio, 1e-6)
	require.NoError(t, s.Err())
}

// TestConfigReachesLinuxPTP: options given in servo.Config reach linuxptp's
// servo: with step_threshold 1 µs, a 2 µs offset while locked makes
// linuxptp's PI start over (UNLOCKED), where the default would not.
func TestConfigReachesLinuxPTP(t *testing.T) {
	for _, tc := range []struct {
		name string
		step time.Duration
		want servo.State
	}{
		{"default step_threshold 0", 0, servo.Locked},
		{"step_threshold 1 µs", time.Microsecond, servo.Unlocked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := servo.DefaultConfig()
			cfg.StepThreshold = tc.step
			s := linuxptpservo.StartForTest(t, servo.KindPI, cfg, 0)
			s.SetSyncInterval(1)
			_, st := s.Sample(0, 1e9)
			assert.Equal(t, servo.Unlocked, st)
			_, st = s.Sample(0, 2e9)
			assert.Equal(t, servo.Locked, st)
			_, st = s.Sample(2000, 3e9)
			assert.Equal(t, tc.want, st)
		})
	}
}

// TestHarnessErrors: the harness refuses what it does not model, and the
// adapter reports it instead of inventing an answer.
func TestHarnessErrors(t *testing.T) {
	bin := linuxptpservo.Harness(t)
	_, err := linuxptpservo.Start(bin, "ntpshm", servo.DefaultConfig(), 0)
	assert.ErrorContains(t, err, "not pi or linreg")

	s, err := linuxptpservo.Start(bin, servo.KindPI, servo.DefaultConfig(), 0)
	require.NoError(t, err)
	s.SetSyncInterval(-1) // the harness refuses a non-positive interval
	assert.ErrorContains(t, s.Err(), "interval")
	ppb, st := s.Sample(5, 1e9)
	assert.Equal(t, servo.Unlocked, st, "no answer after a failure")
	assert.Zero(t, ppb)
	assert.Error(t, s.Close())

	s, err = linuxptpservo.Start(bin, servo.KindLinReg, servo.DefaultConfig(), 0)
	require.NoError(t, err)
	s.Sample(5, -1)
	assert.ErrorContains(t, s.Err(), "negative local time")
	assert.Error(t, s.Close())
}
