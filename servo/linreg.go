package servo

import "math"

// Window sizes of the regressions, as powers of two: 4 to 64 points.
const (
	linregMinOrder = 2
	// LinRegMaxOrder is the largest window this servo can use, 2^10 = 1024
	// points; linuxptp's linreg stops at 2^6 = 64.
	LinRegMaxOrder = 10
	// LinRegLinuxPTPOrder is linuxptp's largest window, 2^6 points.
	LinRegLinuxPTPOrder = 6
	linregPoints        = 1 << LinRegMaxOrder
	linregFits          = LinRegMaxOrder - linregMinOrder + 1
)

// Prediction-error bookkeeping used to choose the window.
const (
	// errWarmup is how many prediction errors a window averages plainly
	// before switching to an exponential average, and how many it needs
	// before it may be chosen over a smaller one.
	errWarmup = 10
	// errAlpha is the weight of a new prediction error in the average.
	errAlpha = 0.02
	// errTie is how much worse a larger window's error may be and still
	// win: larger windows average more noise away, so ties go to them.
	errTie = 1.05
	// errTieLong is the tie margin for windows beyond linuxptp's 64
	// points. Going from N to 2N points lowers the noise part of the
	// prediction error by only about 1/N, so a 5% margin there would let a
	// window that lags the oscillator's wander by a few ns win on noise
	// alone. 2% was the best trade in the simulator's scenarios (see
	// TestServoReport): it keeps hw at PI's level and halves sw's error.
	errTieLong = 1.02
	// errFloor (ns) makes prediction errors that differ by less than a
	// picosecond equal: below that they are rounding noise of the fit, and
	// a tie goes to the larger window.
	errFloor = 1e-3
)

// linregPoint pairs the clock's uncorrected time (x: what it would read had
// no frequency correction been applied) with the reference's time (y),
// both relative to the servo's running origin.
type linregPoint struct {
	x, y int64
}

// linregFit is the regression over one window size.
type linregFit struct {
	slope, intercept float64 // y = intercept + slope·x, x relative to now
	err              float64 // average |prediction error| of this window
	errN             int     // prediction errors averaged so far
	valid            bool
}

// LinReg is a linear-regression servo. It keeps the last 64 pairs of
// (uncorrected local time, reference time), fits a line through the newest
// 4, 8, 16, 32 and 64 of them, and steers with the window that has
// predicted each new point best. The slope gives the frequency; the
// intercept, the time error now, is removed over one interval (or over
// several with the larger windows, whose slope is trusted more).
//
// This is the method of linuxptp's linreg servo; a larger window is
// preferred while its prediction error is within 5% of the best.
type LinReg struct {
	common
	points   [linregPoints]linregPoint
	n        int // points stored, up to linregPoints
	newest   int // index of the newest point
	fits     [linregFits]linregFit
	maxOrder int // largest window used is 1<<maxOrder points
	order    int // chosen window is 1<<order points; 0 while none
	interval float64

	// The origin moves with every sample so that the numbers in the fit
	// stay small: refX/refY are uncorrected/reference time "now".
	refX, refY int64
	xFrac      float64 // sub-nanosecond rest of refX
	lastLocal  int64
	started    bool

	freq      float64 // frequency now set on the clock, ppb
	rateRatio float64
	// rebase: the next sample is measured against a new reference (see
	// Rebase).
	rebase bool
}

// NewLinReg returns a linreg servo starting from the frequency now set on
// the clock.
func NewLinReg(cfg Config, frequency float64) *LinReg {
	order := cfg.LinRegMaxOrder
	if order == 0 {
		order = LinRegMaxOrder
	}
	order = max(linregMinOrder, min(LinRegMaxOrder, order))
	return &LinReg{common: newCommon(cfg), freq: frequency, interval: 1, rateRatio: 1, maxOrder: order}
}

// SetSyncInterval implements Servo.
func (s *LinReg) SetSyncInterval(seconds float64) {
	if seconds > 0 {
		s.interval = seconds
	}
}

// Reset implements Servo.
func (s *LinReg) Reset() {
	s.n, s.order, s.started, s.rebase = 0, 0, false, false
	s.rateRatio = 1
	for i := range s.fits {
		s.fits[i] = linregFit{}
	}
}

// Rebase tells the servo that the next offset is measured against a new
// reference (a new grandmaster) whose time may differ from the old one's
// by an unknown constant. The servo then takes the new offset's departure
// from what the chosen window predicts for the old reference as that
// constant, and moves its history by it, as linuxptp's linreg moves its
// history by a leap second: the regression keeps the clock's frequency it
// learned and meets the new reference's time as a time error, which it
// removes as it removes any other (over one interval, or over order/2
// with the larger windows).
//
// Without it, the new reference's time is a step in the points of every
// window: the long windows, barely moved, lose to the short ones, whose
// slope the step tilts, and the clock overshoots: by 200 ns after a
// grandmaster 500 ns ahead in the simulator's gm-switch scenario, where
// linuxptp's 64-point linreg overshoots by 23. With Rebase the error
// decays without overshoot (TestServoReport: 12.1–13.1 ns RMS against
// linuxptp's 13.2–13.5, from 13.6).
func (s *LinReg) Rebase() { s.rebase = true }

// rebaseTo moves the history so that the chosen window's line passes
// through y, the newest point relative to the origin.
func (s *LinReg) rebaseTo(y int64) {
	s.rebase = false
	if s.order == 0 {
		return
	}
	d := y - int64(math.Round(s.fits[s.order-linregMinOrder].intercept))
	for i := range s.n {
		s.points[(s.newest-i+linregPoints)%linregPoints].y += d
	}
	for i := range s.fits {
		s.fits[i].intercept += float64(d)
	}
}

// RateRatio is the reference's rate over the clock's corrected rate, as
// the last fit estimates it (1 when unknown).
func (s *LinReg) RateRatio() float64 { return s.rateRatio }

// Window returns the number of points in the window now chosen (0 before
// there are enough).
func (s *LinReg) Window() int {
	if s.order == 0 {
		return 0
	}
	return 1 << s.order
}

// shift moves the origin by dx, dy and rewrites every intercept for it.
func (s *LinReg) shift(dx, dy int64) {
	s.refX += dx
	s.refY += dy
	for i := range s.fits {
		f := &s.fits[i]
		f.intercept += float64(dx)*f.slope - float64(dy)
	}
}

// advance moves the origin to localTime: the local clock advanced by the
// corrected interval; the uncorrected clock by that interval with the
// frequency correction taken out.
func (s *LinReg) advance(localTime int64) {
	if s.started {
		dy := localTime - s.lastLocal
		dx := float64(dy)/(1+s.freq/1e9) + s.xFrac
		whole := math.Trunc(dx)
		s.xFrac = dx - whole
		s.shift(int64(whole), dy)
	}
	s.lastLocal = localTime
	s.started = true
}

// regress updates every window's prediction error with the newest point and
// refits it.
func (s *LinReg) regress() {
	newest := s.points[s.newest]
	y0 := float64(newest.y - s.refY)
	var sx, sy, sxy, sxx, sw float64
	i := 0
	for k := range s.fits[:s.maxOrder-linregMinOrder+1] {
		n := 1 << (k + linregMinOrder)
		if n > s.n {
			break
		}
		f := &s.fits[k]
		if f.valid {
			// How far off was this window's line at the point that
			// just arrived?
			e := math.Abs(f.intercept - y0)
			if f.errN < errWarmup {
				f.err = (f.err*float64(f.errN) + e) / float64(f.errN+1)
				f.errN++
			} else {
				f.err += errAlpha * (e - f.err)
			}
		}
		// The sums of a window extend those of the window before it.
		for ; i < n; i++ {
			p := s.points[(s.newest-i+linregPoints)%linregPoints]
			x := float64(p.x - s.refX)
			y := float64(p.y - s.refY)
			sx += x
			sy += y
			sxy += x * y
			sxx += x * x
			sw++
		}
		f.slope = (sxy - sx*sy/sw) / (sxx - sx*sx/sw)
		f.intercept = (sy - f.slope*sx) / sw
		f.valid = !math.IsNaN(f.slope) && !math.IsInf(f.slope, 0)
	}
}

// choose picks the largest window whose settled prediction error is within
// errTie of the best seen among smaller ones; the smallest valid window
// until one has settled.
func (s *LinReg) choose() {
	best, bestErr := 0, 0.0
	for k := range s.fits[:s.maxOrder-linregMinOrder+1] {
		f := &s.fits[k]
		if !f.valid {
			continue
		}
		tie := errTie
		if k+linregMinOrder > LinRegLinuxPTPOrder {
			tie = errTieLong
		}
		if best == 0 || (f.errN >= errWarmup && f.err <= bestErr*tie+errFloor) {
			best, bestErr = k+linregMinOrder, f.err
		}
	}
	s.order = best
}

// Sample implements Servo.
func (s *LinReg) Sample(offset, localTime int64) (float64, State) {
	s.advance(localTime)
	if s.rebase {
		s.rebaseTo(-offset)
	}
	s.newest = (s.newest + 1) % linregPoints
	s.points[s.newest] = linregPoint{x: s.refX, y: s.refY - offset}
	if s.n < linregPoints {
		s.n++
	}
	s.regress()
	s.choose()
	if s.order == 0 {
		return s.freq, s.finish(offset, Unlocked)
	}
	f := &s.fits[s.order-linregMinOrder]
	state := Locked
	if s.shouldStep(math.Abs(f.intercept)) {
		// The caller steps the clock by −offset: the local clock's history
		// moves with it.
		s.shift(0, -offset)
		s.lastLocal -= offset
		state = Jump
	}
	// The slope is the reference's rate over the uncorrected clock's: the
	// frequency to set makes them equal. The intercept (reference minus
	// local, now) is then corrected over one interval, or over order/2
	// intervals for the 32- and 64-point windows, whose slope is good
	// enough that a slower phase correction costs less frequency noise.
	freq := 1e9 * (f.slope - 1)
	spread := 1.0
	if s.order > 4 {
		spread = float64(s.order / 2)
	}
	freq += f.intercept / s.interval / spread
	s.freq = s.clamp(freq)
	s.rateRatio = f.slope / (1 + s.freq/1e9)
	return s.freq, s.finish(offset, state)
}
