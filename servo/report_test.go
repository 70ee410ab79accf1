package servo_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/sim"
	"github.com/roko-network/roko-ptpd/servo"
)

// variant is one servo set-up in the report.
type variant struct {
	name string
	make func(sc sim.Scenario, cfg servo.Config) servo.Servo
}

func mustServo(kind servo.Kind, cfg servo.Config) servo.Servo {
	s, err := servo.New(kind, cfg, 0)
	if err != nil {
		panic(err)
	}
	return s
}

// configFor is the config a daemon would use: linuxptp's defaults, with the
// software-timestamping PI gains in the sw scenario.
func configFor(sc sim.Scenario) servo.Config {
	cfg := servo.DefaultConfig()
	cfg.PI.SoftwareTimestamps = sc.TimestampNoise >= 1000
	return cfg
}

var variants = []variant{
	// What roko-ptpd runs: the servo behind the spike filter.
	{"linreg", func(sc sim.Scenario, cfg servo.Config) servo.Servo {
		return servo.NewFilter(mustServo(servo.KindLinReg, cfg), servo.DefaultFilterConfig())
	}},
	{"pi", func(sc sim.Scenario, cfg servo.Config) servo.Servo {
		return servo.NewFilter(mustServo(servo.KindPI, cfg), servo.DefaultFilterConfig())
	}},
	// What ptp4l runs: 64-point linreg or PI, no filter.
	{"linreg (linuxptp)", func(sc sim.Scenario, cfg servo.Config) servo.Servo {
		cfg.LinRegMaxOrder = servo.LinRegLinuxPTPOrder
		return mustServo(servo.KindLinReg, cfg)
	}},
	{"pi (linuxptp)", func(sc sim.Scenario, cfg servo.Config) servo.Servo {
		return mustServo(servo.KindPI, cfg)
	}},
}

func fmtDur(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// TestServoReport runs every named scenario for ten simulated minutes with
// each servo and prints the table that the README's performance section
// shows (go test ./servo/ -run TestServoReport -v). It asserts the targets:
// linreg under 3 ns RMS and under 100 ns within 10 s in hw; linreg at least
// as good as PI where the servo, not the measurement, limits the result;
// one step only, at the start, in every scenario.
func TestServoReport(t *testing.T) {
	type key struct{ scenario, servo string }
	results := map[key]sim.Result{}
	var b strings.Builder
	fmt.Fprintf(&b, "| scenario | servo | to <1 µs | to <100 ns | RMS (ns) | max (ns) | steps | final freq err (ppb) | meanPathDelay err RMS (ns) |\n")
	fmt.Fprintf(&b, "|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, sc := range sim.Scenarios() {
		for _, v := range variants {
			r, err := sim.Run(sc, v.make(sc, configFor(sc)))
			require.NoError(t, err)
			results[key{sc.Name, v.name}] = r
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %.2f | %.1f | %d | %+.2f | %.2f |\n",
				sc.Name, v.name, fmtDur(r.TimeTo1us), fmtDur(r.TimeTo100ns), r.SteadyRMS, r.SteadyMax, r.Steps, r.FinalFrequencyError, r.PathDelayRMS)
		}
	}
	t.Log("\n" + b.String())

	hw := results[key{"hw", "linreg"}]
	assert.LessOrEqual(t, hw.SteadyRMS, 3.0, "hw: linreg steady-state RMS true error")
	assert.LessOrEqual(t, hw.TimeTo100ns, 10*time.Second, "hw: linreg below 100 ns")
	assert.GreaterOrEqual(t, hw.TimeTo100ns, time.Duration(0))

	for _, sc := range sim.Scenarios() {
		lr, pi := results[key{sc.Name, "linreg"}], results[key{sc.Name, "pi"}]
		switch sc.Name {
		case "hw", "hw-fast":
			// Both servos sit at the floor the path delay estimate sets
			// (its error passes straight into the offset); PI's narrower
			// loop averages that floor a little better at 128 Hz. Both
			// stay far below the 5 ns timestamp noise.
			assert.LessOrEqual(t, lr.SteadyRMS, 1.25*pi.SteadyRMS, "%s: linreg within 25%% of PI at the floor", sc.Name)
			assert.Less(t, lr.SteadyRMS, 5.0, sc.Name)
		default:
			assert.LessOrEqual(t, lr.SteadyRMS, pi.SteadyRMS, "%s: linreg at least as good as PI", sc.Name)
		}
		for _, v := range variants {
			r := results[key{sc.Name, v.name}]
			assert.Equal(t, 1, r.Steps, "%s/%s: one step, at the start", sc.Name, v.name)
			if r.Steps > 0 {
				// The step is the start-up's (PI with software gains waits
				// 16 s to estimate the frequency first): it is what first
				// brings the error under 1 µs.
				assert.LessOrEqual(t, r.StepTimes[0], r.TimeTo1us, "%s/%s", sc.Name, v.name)
			}
		}
	}
	// The filter is what keeps spikes from reaching the servo.
	assert.Less(t, results[key{"lossy", "linreg"}].SteadyRMS, results[key{"lossy", "linreg (linuxptp)"}].SteadyRMS/10)
}

// TestSpikesNeverStep runs the lossy scenario with step_threshold at 5 µs,
// a tenth of the 50 µs spikes and far above the noise: with the filter, no
// spike may cause a step.
func TestSpikesNeverStep(t *testing.T) {
	var lossy sim.Scenario
	for _, sc := range sim.Scenarios() {
		if sc.Name == "lossy" {
			lossy = sc
		}
	}
	require.Equal(t, "lossy", lossy.Name)
	for _, v := range variants[:2] {
		cfg := configFor(lossy)
		cfg.StepThreshold = 5 * time.Microsecond
		r, err := sim.Run(lossy, v.make(lossy, cfg))
		require.NoError(t, err)
		assert.Equal(t, 1, r.Steps, "%s: steps at %v", v.name, r.StepTimes)
		assert.Less(t, r.SteadyMax, 100.0, v.name)
	}
	// Without the filter the same spikes do step linuxptp's linreg: the
	// test above would catch the filter going missing.
	cfg := configFor(lossy)
	cfg.StepThreshold = 5 * time.Microsecond
	r, err := sim.Run(lossy, variants[2].make(lossy, cfg))
	require.NoError(t, err)
	assert.Greater(t, r.Steps, 1)
}

// TestSimulatorDeterministic: the same seed gives the same run, bit for
// bit; another seed does not.
func TestSimulatorDeterministic(t *testing.T) {
	sc := sim.Scenarios()[0]
	sc.Duration = time.Minute
	run := func(seed uint64) []float64 {
		sc.Seed = seed
		r, err := sim.Run(sc, mustServo(servo.KindLinReg, servo.DefaultConfig()))
		require.NoError(t, err)
		return r.Errors
	}
	a, b, c := run(7), run(7), run(8)
	assert.Equal(t, a, b)
	assert.NotEqual(t, a, c)
}

// BenchmarkScenarioHW times a ten-minute hw run (9600 samples) with the
// linreg servo: the simulator must make reports cheap.
func BenchmarkScenarioHW(b *testing.B) {
	sc := sim.Scenarios()[0]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sim.Run(sc, servo.NewFilter(mustServo(servo.KindLinReg, configFor(sc)), servo.DefaultFilterConfig())); err != nil {
			b.Fatal(err)
		}
	}
}
