package servo_test

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/linuxptpservo"
	"github.com/roko-network/roko-ptpd/internal/sim"
	"github.com/roko-network/roko-ptpd/ptp/config"
	"github.com/roko-network/roko-ptpd/ptp/engine"
	"github.com/roko-network/roko-ptpd/servo"
)

func TestMain(m *testing.M) {
	code := m.Run()
	linuxptpservo.RemoveBuild()
	os.Exit(code)
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

// rokoDefaults is what roko-ptpd resolves from a config file that sets
// nothing: its servo settings and its port's, with the first-step
// threshold the engine carries.
func rokoDefaults() (config.ServoSettings, engine.PortConfig, int64) {
	c, err := config.Parse(strings.NewReader("[global]\n"), "defaults")
	if err != nil {
		panic(err)
	}
	c.AddInterface("eth0")
	st, err := c.Resolve()
	if err != nil {
		panic(err)
	}
	sv, err := st.Servo.ForClock(servo.DefaultConfig().MaxFrequency)
	if err != nil {
		panic(err)
	}
	return sv, st.Ports[0].Engine, st.Clock.FirstStepThreshold
}

// rokoDaemon is roko-ptpd's engine around its servo: its meanPathDelay
// filter (delay_window, delay_change_count, delay_pair_age) and what it
// does with the servo on a new grandmaster.
func rokoDaemon() sim.Daemon {
	_, port, firstStep := rokoDefaults()
	return sim.Daemon{
		DelayFilter: func() sim.DelayFilter {
			f, err := engine.NewPathDelayFilter(port)
			if err != nil {
				panic(err)
			}
			return f
		},
		PairAge:       time.Duration(port.DelayPairAge),
		MeetNewMaster: func(s servo.Servo, offset int64) { engine.MeetNewMaster(s, firstStep, offset) },
	}
}

// rokoServo is what roko-ptpd runs: the servo of the given kind with
// roko-ptpd's defaults (linreg_max_points, servo_spike_filter), and the
// software-timestamping PI gains in the sw scenario.
func rokoServo(kind servo.Kind, sc sim.Scenario, stepThreshold time.Duration) servo.Servo {
	sv, _, _ := rokoDefaults()
	sv.Kind = kind
	sv.Config.PI.SoftwareTimestamps = sc.TimestampNoise >= 1000
	if stepThreshold > 0 {
		sv.Config.StepThreshold = stepThreshold
	}
	s, err := sv.NewServo(0)
	if err != nil {
		panic(err)
	}
	return s
}

// runRoko runs sc with roko-ptpd's servo of the given kind, as roko-ptpd
// runs it; a positive stepThreshold replaces its step_threshold.
func runRoko(t testing.TB, sc sim.Scenario, kind servo.Kind, stepThreshold time.Duration) sim.Result {
	t.Helper()
	r, err := sim.RunDaemon(sc, rokoDaemon(), rokoServo(kind, sc, stepThreshold))
	require.NoError(t, err)
	return r
}

// runLinuxPTP runs sc with linuxptp 4.4's own servo of the given kind (C,
// in a harness process), as ptp4l runs it: no filter, −adj, the servo kept
// across a change of grandmaster.
func runLinuxPTP(t testing.TB, harness string, sc sim.Scenario, kind servo.Kind, cfg servo.Config) sim.Result {
	t.Helper()
	s, err := linuxptpservo.Start(harness, kind, cfg, 0)
	require.NoError(t, err)
	r, err := sim.RunDaemon(sc, sim.PTP4L, s)
	require.NoError(t, err)
	require.NoError(t, s.Close(), "%s/%s: linuxptp's servo", sc.Name, kind)
	return r
}

// reportSeeds are the seeds every scenario runs with.
var reportSeeds = []uint64{1588, 2019, 8275}

// kinds are the servos compared, roko-ptpd's against linuxptp's of the
// same kind.
var kinds = []servo.Kind{servo.KindLinReg, servo.KindPI}

// comparison is one scenario, seed and servo kind run by both daemons.
type comparison struct {
	scenario string
	seed     uint64
	kind     servo.Kind
	roko     sim.Result
	linuxptp sim.Result
}

// ratio is roko-ptpd's steady-state RMS true error over linuxptp's.
func (c comparison) ratio() float64 { return c.roko.SteadyRMS / c.linuxptp.SteadyRMS }

// compare runs every scenario with every seed and servo kind in both
// daemons, for duration of simulated time each (the scenarios' own ten
// minutes if zero), on both CPUs.
func compare(t *testing.T, duration time.Duration) []comparison {
	harness := linuxptpservo.Harness(t)
	var jobs []comparison
	for _, sc := range sim.Scenarios() {
		for _, seed := range reportSeeds {
			for _, kind := range kinds {
				jobs = append(jobs, comparison{scenario: sc.Name, seed: seed, kind: kind})
			}
		}
	}
	scenarios := map[string]sim.Scenario{}
	for _, sc := range sim.Scenarios() {
		if duration > 0 {
			sc.Duration = duration
		}
		scenarios[sc.Name] = sc
	}
	var (
		wg   sync.WaitGroup
		next = make(chan int)
	)
	for range 2 {
		wg.Go(func() {
			for i := range next {
				j := &jobs[i]
				sc := scenarios[j.scenario]
				sc.Seed = j.seed
				cfg := configFor(sc)
				j.roko = runRoko(t, sc, j.kind, 0)
				j.linuxptp = runLinuxPTP(t, harness, sc, j.kind, cfg)
			}
		})
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	return jobs
}

func fmtDur(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return fmt.Sprintf("%.2f", d.Seconds())
}

// cells joins one figure of the three seeds' runs.
func cells(cs []comparison, f func(comparison) string) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = f(c)
	}
	return strings.Join(parts, " / ")
}

// table prints the comparisons grouped by scenario and servo kind, one
// figure per seed in each cell.
func table(cs []comparison) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| scenario | servo | RMS roko (ns) | RMS linuxptp (ns) | roko ÷ linuxptp | max roko (ns) | max linuxptp (ns) | to <100 ns roko (s) | to <100 ns linuxptp (s) | steps roko, linuxptp | recovery roko, linuxptp (s) |\n")
	fmt.Fprintf(&b, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, sc := range sim.Scenarios() {
		for _, kind := range kinds {
			var group []comparison
			for _, c := range cs {
				if c.scenario == sc.Name && c.kind == kind {
					group = append(group, c)
				}
			}
			writeRow(&b, group)
		}
	}
	return b.String()
}

func writeRow(b *strings.Builder, g []comparison) {
	fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
		g[0].scenario, g[0].kind,
		cells(g, func(c comparison) string { return fmt.Sprintf("%.2f", c.roko.SteadyRMS) }),
		cells(g, func(c comparison) string { return fmt.Sprintf("%.2f", c.linuxptp.SteadyRMS) }),
		cells(g, func(c comparison) string { return fmt.Sprintf("%.2f", c.ratio()) }),
		cells(g, func(c comparison) string { return fmt.Sprintf("%.1f", c.roko.SteadyMax) }),
		cells(g, func(c comparison) string { return fmt.Sprintf("%.1f", c.linuxptp.SteadyMax) }),
		cells(g, func(c comparison) string { return fmtDur(c.roko.TimeTo100ns) }),
		cells(g, func(c comparison) string { return fmtDur(c.linuxptp.TimeTo100ns) }),
		cells(g, func(c comparison) string { return fmt.Sprintf("%d, %d", c.roko.Steps, c.linuxptp.Steps) }),
		cells(g, func(c comparison) string {
			if c.roko.Recovery < 0 {
				return "–"
			}
			return fmtDur(c.roko.Recovery) + ", " + fmtDur(c.linuxptp.Recovery)
		}))
}

// ratioTarget is the target for roko ÷ linuxptp (steady-state RMS
// true error): roko-ptpd at least as good as ptp4l everywhere, and clearly
// better (0.8) in hw.
func ratioTarget(scenario string, kind servo.Kind) float64 {
	if scenario == "hw" && kind == servo.KindLinReg {
		return 0.8
	}
	return 1.0
}

// ratioGuards are the ratios that miss ratioTarget today, each the worst of
// the three seeds rounded up: regression guards, not targets. The
// simulator is deterministic, so a change that makes any of them worse
// fails here; one that meets the target should lower or remove its line.
var ratioGuards = map[string]float64{
	// Pairing each Sync with the last Delay_Req halves the offset noise
	// that both linregs see, but roko's linreg gains less from it than PI
	// (0.95, 0.98, 0.95 by seed, target 0.8): it takes out the intercept
	// of a short window within a few intervals, passing more of the
	// remaining noise to the clock than PI's narrow loop.
	"hw/linreg": 0.98,
	// A 10 ppb frequency register: 0.96, 1.03, 1.01 by seed. The clock
	// runs up to 10 ppb off what the servo set, which linreg's chosen
	// short windows chase; the pairing's gain is smaller than that.
	"coarse/linreg": 1.04,
	// A new grandmaster 500 ns ahead: 1.007, 1.006, 1.006 by seed. PI
	// meets the new time as ptp4l's does, with the same gains, but from
	// half a second after the switch (eight path delays) roko pairs each
	// Sync with the Delay_Req before it, and while PI slews the 500 ns
	// away the clock runs hundreds of ppb off for a while: a pair then
	// lags the Sync by half the clock's drift over the 62.5 ms between
	// them, and roko's overshoot is 124 ns to ptp4l's 117 (seed 1588).
	// Pairing from the first exchange made it worse (a pair from before
	// a correction); pairing only from 32 path delays on gave 0.998 but
	// moved coarse/linreg by 3 % either way by seed, so it is not a fix.
	// (linreg, told of the new reference by Rebase, is at 0.92, 0.89,
	// 0.97.)
	"gm-switch/pi": 1.007,
}

// TestServoReport runs every named scenario for ten simulated minutes with
// three seeds, each with roko-ptpd's linreg and PI and with linuxptp 4.4's
// own (its C code, driven as ptp4l drives it), and prints the table that
// the README's performance section shows (make servo-report). It asserts
// roko ÷ linuxptp against the target or, where the target is missed, the
// regression guard; that roko-ptpd never steps where ptp4l does not; that a
// reroute is followed within 10 s without a step; and roko's own targets:
// linreg under 3 ns RMS and under 100 ns within 10 s in hw, the spike
// filter's effect, one step only, at the start.
func TestServoReport(t *testing.T) {
	cs := compare(t, 0)
	t.Log("\n" + table(cs))
	byKey := map[string]comparison{}
	worst := map[string]float64{}
	for _, c := range cs {
		key := fmt.Sprintf("%s/%s", c.scenario, c.kind)
		byKey[fmt.Sprintf("%s/%d", key, c.seed)] = c
		limit, guarded := ratioGuards[key]
		if !guarded {
			limit = ratioTarget(c.scenario, c.kind)
		}
		assert.LessOrEqual(t, c.ratio(), limit, "%s seed %d: roko ÷ linuxptp RMS (%.2f ns ÷ %.2f ns); target %.1f",
			key, c.seed, c.roko.SteadyRMS, c.linuxptp.SteadyRMS, ratioTarget(c.scenario, c.kind))
		if guarded {
			worst[key] = max(worst[key], c.ratio())
		}

		assert.LessOrEqual(t, c.roko.Steps, c.linuxptp.Steps, "%s seed %d: roko steps where linuxptp does not (%v against %v)",
			key, c.seed, c.roko.StepTimes, c.linuxptp.StepTimes)
		for name, r := range map[string]sim.Result{"roko": c.roko, "linuxptp": c.linuxptp} {
			// The one step is the start-up's (PI with software gains waits
			// 16 s to estimate the frequency first): it is what first
			// brings the error under 1 µs.
			if assert.Equal(t, 1, r.Steps, "%s seed %d %s: one step, at the start", key, c.seed, name) {
				assert.LessOrEqual(t, r.StepTimes[0], r.TimeTo1us, "%s seed %d %s", key, c.seed, name)
			}
		}
		if c.scenario == "reroute" {
			assert.GreaterOrEqual(t, c.roko.Recovery, time.Duration(0), key)
			assert.LessOrEqual(t, c.roko.Recovery, 10*time.Second, "%s seed %d: a 1 µs reroute followed within 10 s", key, c.seed)
		}
	}

	for _, sc := range sim.Scenarios() {
		for _, kind := range kinds {
			key := fmt.Sprintf("%s/%s", sc.Name, kind)
			if w, ok := worst[key]; ok {
				t.Logf("%s misses its target %.1f: roko ÷ linuxptp up to %.6f (guard %.4g)", key, ratioTarget(sc.Name, kind), w, ratioGuards[key])
			}
		}
	}

	for _, seed := range reportSeeds {
		hw := byKey[fmt.Sprintf("hw/linreg/%d", seed)].roko
		assert.LessOrEqual(t, hw.SteadyRMS, 3.0, "hw seed %d: linreg steady-state RMS true error", seed)
		assert.LessOrEqual(t, hw.TimeTo100ns, 10*time.Second, "hw seed %d: linreg below 100 ns", seed)
		assert.GreaterOrEqual(t, hw.TimeTo100ns, time.Duration(0))
		// The filter is what keeps spikes from reaching the servo.
		lossy := byKey[fmt.Sprintf("lossy/linreg/%d", seed)]
		assert.Less(t, lossy.roko.SteadyRMS, lossy.linuxptp.SteadyRMS/10, "lossy seed %d", seed)

		for _, sc := range sim.Scenarios() {
			lr := byKey[fmt.Sprintf("%s/linreg/%d", sc.Name, seed)].roko
			pi := byKey[fmt.Sprintf("%s/pi/%d", sc.Name, seed)].roko
			switch sc.Name {
			case "hw", "hw-fast", "temperature", "coarse", "lossy", "reroute":
				// Both servos sit at the floor the timestamp noise sets;
				// PI's narrower loop averages it a little better (up to
				// 26 % in hw-fast). Both stay far below the 5 ns noise.
				assert.LessOrEqual(t, lr.SteadyRMS, 1.3*pi.SteadyRMS, "%s seed %d: linreg within 30%% of PI at the floor", sc.Name, seed)
				assert.Less(t, lr.SteadyRMS, 5.0, sc.Name)
			case "sw":
				// linreg is under 1 µs over 40 s sooner; its RMS is 0.98
				// to 1.23 times PI's by seed.
				assert.LessOrEqual(t, lr.SteadyRMS, 1.25*pi.SteadyRMS, "%s seed %d: linreg within 25%% of PI", sc.Name, seed)
				assert.Less(t, lr.TimeTo1us, pi.TimeTo1us-40*time.Second, "%s seed %d", sc.Name, seed)
			default:
				assert.LessOrEqual(t, lr.SteadyRMS, pi.SteadyRMS, "%s seed %d: linreg at least as good as PI", sc.Name, seed)
			}
		}
	}
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
	cfg := configFor(lossy)
	cfg.StepThreshold = 5 * time.Microsecond
	for _, kind := range kinds {
		r := runRoko(t, lossy, kind, cfg.StepThreshold)
		assert.Equal(t, 1, r.Steps, "%s: steps at %v", kind, r.StepTimes)
		assert.Less(t, r.SteadyMax, 100.0, kind)
	}
	// Without the filter the same spikes do step linuxptp's linreg: the
	// test above would catch the filter going missing.
	r := runLinuxPTP(t, linuxptpservo.Harness(t), lossy, servo.KindLinReg, cfg)
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
		if _, err := sim.RunDaemon(sc, rokoDaemon(), rokoServo(servo.KindLinReg, sc, 0)); err != nil {
			b.Fatal(err)
		}
	}
}
