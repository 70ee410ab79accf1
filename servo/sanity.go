package servo

import "fmt"

// DefaultSanityFreqLimit is linuxptp's sanity_freq_limit, 200000000 ppb
// (20%).
const DefaultSanityFreqLimit = 200000000

// sanityMinInterval is how far apart, in ns of both clocks, two checks must
// be: shorter intervals would make scheduling noise look like a bad clock.
const sanityMinInterval = 1e9

// sanityFreqBound marks the bounds "no frequency seen yet".
const sanityFreqBound = 900000000

// Sanity watches a steered clock for running at a rate its frequency
// setting cannot explain: a clock that jumped, or that someone else steers.
// It compares the clock's elapsed time, with the servo's corrections taken
// out, with a reference that nobody steers (CLOCK_MONOTONIC_RAW), as ptp4l
// does with sanity_freq_limit. It is pure: the caller reads both clocks.
type Sanity struct {
	limit float64 // ppb; 0 disables
	known bool    // a frequency has been set
	freq  float64 // frequency now set
	// lowest and highest frequency set since the last check: the clock
	// ran at some mix of them.
	lo, hi       float64
	lastClock    int64
	lastRef      int64
	havePrevious bool
}

// NewSanity returns a check with the given limit in ppb; 0 disables it.
func NewSanity(limit float64) *Sanity {
	s := &Sanity{limit: limit}
	s.Reset()
	return s
}

// Reset forgets the history, as after the servo was reset.
func (s *Sanity) Reset() {
	s.known, s.havePrevious = false, false
	s.lo, s.hi = sanityFreqBound, -sanityFreqBound
}

// SetFrequency records a frequency the caller set on the clock, in ppb.
func (s *Sanity) SetFrequency(ppb float64) {
	s.freq, s.known = ppb, true
	s.lo, s.hi = min(s.lo, ppb), max(s.hi, ppb)
}

// Step records a step the caller made, so that it is not mistaken for a
// jump.
func (s *Sanity) Step(ns int64) {
	if s.havePrevious {
		s.lastClock += ns
	}
}

// SanityError says the clock's rate is out of bounds.
type SanityError struct {
	Offset float64 // the clock's uncorrected frequency offset, ppb (the bound nearest to passing)
	Limit  float64
}

// Error uses ptp4l's wording so that existing log alerts keep matching.
func (e *SanityError) Error() string {
	if e.Offset > 0 {
		return fmt.Sprintf("clockcheck: clock jumped forward or running faster than expected! (%+.0f ppb, limit %.0f)", e.Offset, e.Limit)
	}
	return fmt.Sprintf("clockcheck: clock jumped backward or running slower than expected! (%+.0f ppb, limit %.0f)", e.Offset, e.Limit)
}

// Check takes a reading of the clock and of the reference (ns each) taken
// together, and returns a *SanityError when, over the time since the last
// accepted reading, the clock ran faster or slower than any frequency set
// in that time allows, by more than the limit. Readings less than a second
// after the last are ignored.
func (s *Sanity) Check(clock, ref int64) error {
	if s.limit <= 0 || !s.known {
		return nil
	}
	if s.havePrevious {
		di, dr := clock-s.lastClock, ref-s.lastRef
		if di >= 0 && di < sanityMinInterval || dr < sanityMinInterval {
			return nil
		}
	}
	var err error
	if s.havePrevious && s.hi <= sanityFreqBound {
		di, dr := float64(clock-s.lastClock), float64(ref-s.lastRef)
		// The uncorrected rate lies between the rates with the highest and
		// the lowest correction taken out.
		fastest := 1e9 * (di/(1+s.lo/1e9)/dr - 1)
		slowest := 1e9 * (di/(1+s.hi/1e9)/dr - 1)
		switch {
		case slowest > s.limit:
			err = &SanityError{Offset: slowest, Limit: s.limit}
		case fastest < -s.limit:
			err = &SanityError{Offset: fastest, Limit: s.limit}
		}
	}
	s.lastClock, s.lastRef, s.havePrevious = clock, ref, true
	s.lo, s.hi = s.freq, s.freq
	return err
}
