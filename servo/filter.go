package servo

import "math"

// FilterConfig configures Filter. This is a roko-ptpd extension with no
// linuxptp counterpart.
type FilterConfig struct {
	// Factor: a sample is an outlier when |offset| exceeds Factor times the
	// running mean of |offset| (plus Floor). 6 is about 7.5 standard
	// deviations of Gaussian noise.
	Factor float64
	// Floor (ns) is added to the limit so that a very quiet clock does not
	// reject ordinary noise.
	Floor float64
	// MaxRun is how many outliers in a row are dropped before the filter
	// believes them: a persistent change (a master's step, a new path) must
	// reach the servo, and a spike never lasts that long.
	MaxRun int
	// Warmup is how many accepted locked samples the running mean needs
	// before the filter rejects anything.
	Warmup int
}

// DefaultFilterConfig returns the settings roko-ptpd uses.
func DefaultFilterConfig() FilterConfig {
	return FilterConfig{Factor: 6, Floor: 20, MaxRun: 4, Warmup: 8}
}

// Filter drops isolated outliers (delay spikes, a late timestamp) before
// they reach a servo. A single Sync delayed by 50 µs makes a servo without
// it change frequency by tens of ppm; dropping the sample costs nothing, as
// a lost message would. Only samples taken while the servo is locked are
// judged; anything else passes.
type Filter struct {
	inner Servo
	cfg   FilterConfig
	mean  float64 // running mean of |offset| of accepted locked samples
	n     int     // accepted locked samples so far (capped)
	run   int     // outliers dropped in a row
	ppb   float64 // the inner servo's last answer
	state State

	// Dropped counts the samples the filter kept from the servo.
	Dropped uint64
}

// NewFilter wraps s.
func NewFilter(s Servo, cfg FilterConfig) *Filter {
	return &Filter{inner: s, cfg: cfg}
}

// meanWindow is the effective length of the running mean once warm.
const meanWindow = 64

// Sample implements Servo.
func (f *Filter) Sample(offset, localTime int64) (float64, State) {
	mag := math.Abs(float64(offset))
	locked := f.state == Locked || f.state == LockedStable
	if locked && f.n >= f.cfg.Warmup && f.run < f.cfg.MaxRun && mag > f.cfg.Factor*f.mean+f.cfg.Floor {
		f.run++
		f.Dropped++
		return f.ppb, f.state
	}
	if f.run >= f.cfg.MaxRun {
		// The outliers persisted: start judging afresh around the new
		// normal.
		f.n, f.mean = 0, 0
	}
	f.run = 0
	f.ppb, f.state = f.inner.Sample(offset, localTime)
	if f.state == Locked || f.state == LockedStable {
		if f.n < meanWindow {
			f.n++
		}
		f.mean += (mag - f.mean) / float64(f.n)
	} else {
		f.n, f.mean = 0, 0
	}
	return f.ppb, f.state
}

// SetSyncInterval implements Servo.
func (f *Filter) SetSyncInterval(seconds float64) { f.inner.SetSyncInterval(seconds) }

// Reset implements Servo.
func (f *Filter) Reset() {
	f.inner.Reset()
	f.n, f.mean, f.run, f.state = 0, 0, 0, Unlocked
}

// ResetFilter forgets what the filter learned of the offsets but keeps the
// servo: after a change of master the offsets may settle somewhere new
// (another grandmaster's time), and the first of them are not outliers,
// while the servo's frequency estimate still holds for the clock.
func (f *Filter) ResetFilter() {
	f.n, f.mean, f.run = 0, 0, 0
}

// Rebase passes the news of a new reference on to the servo, when it
// takes it (LinReg.Rebase). The filter's own judgement is ResetFilter's.
func (f *Filter) Rebase() {
	if r, ok := f.inner.(interface{ Rebase() }); ok {
		r.Rebase()
	}
}
