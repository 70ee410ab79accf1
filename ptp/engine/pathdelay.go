package engine

import (
	"errors"
	"slices"
)

// WindowedDelayFilter is roko-ptpd's meanPathDelay estimate
// (delay_window): the mean of up to Window path delays measured since
// the path last changed, with outliers kept out.
//
// Each path delay carries the timestamp noise of its four timestamps, and
// the offset of every Sync measured with it inherits the estimate's error
// whole; a servo cannot average that error away as it does the Sync's own
// noise, because it changes only as slowly as the filter's window moves.
// linuxptp's moving median of 10 leaves about 0.4 times the noise of one
// path delay in every offset; a mean of 1024 leaves a thirtieth of it.
//
// A long window must neither take in a delay spike (a Delay_Req or Sync
// queued behind other traffic) nor lag a real change of path. Both are
// told by the same rule: a path delay further from the window's median
// than OutlierWidth robust standard deviations (from the interquartile
// range, plus OutlierFloor) is an outlier and stays out of the window;
// ChangeCount outliers in a row on the same side of the median are a new
// path, and the window restarts from them. A 1 µs reroute measured 16
// times a second is so followed after three exchanges, before the spike
// filter in front of the servo has let any of the offsets it made
// through.
type WindowedDelayFilter struct {
	window  int
	change  int
	ring    []int64 // the window's samples in arrival order, circular
	next    int     // where the next sample goes in ring
	sorted  []int64 // the same samples, ascending
	run     []int64 // the outliers of the current run, oldest first
	runHigh bool    // the run's side: above the median
	value   int64   // the estimate last returned

	// Outliers counts the path delays kept out of the window; Changes
	// the times a run of them restarted it.
	Outliers, Changes uint64
}

// Settings of WindowedDelayFilter's outlier rule.
const (
	// OutlierWidth is the outlier bound in robust standard deviations
	// of the window's path delays: 6 is where Gaussian noise crosses
	// about once in five hundred million samples.
	OutlierWidth = 6
	// OutlierFloor (ns) keeps the bound from closing on a window whose
	// samples happen to agree to the nanosecond.
	OutlierFloor = 10
	// minJudged is how many samples the window needs before it judges
	// a new one: below that the spread means nothing.
	minJudged = 8
)

// NewWindowedDelayFilter returns the estimate over up to window path
// delays, which restarts after changeCount outliers in a row on one side.
func NewWindowedDelayFilter(window, changeCount int) (*WindowedDelayFilter, error) {
	if window < 1 {
		return nil, errors.New("engine: delay_window must be at least 1")
	}
	if changeCount < 1 {
		return nil, errors.New("engine: delay_change_count must be at least 1")
	}
	return &WindowedDelayFilter{window: window, change: changeCount,
		ring: make([]int64, window), sorted: make([]int64, 0, window), run: make([]int64, 0, changeCount)}, nil
}

// Sample adds a raw path delay and returns the estimate.
func (f *WindowedDelayFilter) Sample(d int64) int64 {
	if len(f.sorted) >= minJudged {
		med := f.median()
		if dev := d - med; dev > f.bound() || -dev > f.bound() {
			f.Outliers++
			high := dev > 0
			if len(f.run) > 0 && high != f.runHigh {
				f.run = f.run[:0]
			}
			f.runHigh = high
			f.run = append(f.run, d)
			if len(f.run) < f.change {
				return f.value
			}
			// The outliers agree on a side: the path changed. Start
			// afresh from them.
			f.Changes++
			run := append([]int64(nil), f.run...)
			f.Reset()
			for _, v := range run {
				f.add(v)
			}
			f.value = f.mean()
			return f.value
		}
	}
	f.run = f.run[:0]
	f.add(d)
	f.value = f.mean()
	return f.value
}

// Paired returns the path delay to measure one Sync's offset with, given
// p, the mean of the Sync's own master-to-slave delay (t2 − t1) and the
// last Delay_Req's slave-to-master delay (t4 − t3): p itself when it lies
// within the outlier bound of the window, otherwise the estimate.
//
// Measured with p, the offset is ((t2 − t1) − (t4 − t3)) / 2: the noise
// of the Sync's timestamps counts half, where with any estimate made
// before the Sync it counts whole, and the estimate's own error is gone.
// For white timestamp noise that halves the variance of every offset a
// servo sees. An outlier (a queued Sync or Delay_Req) is measured with the
// estimate instead, and the servo's spike filter judges the offset.
func (f *WindowedDelayFilter) Paired(p int64) int64 {
	if len(f.sorted) < minJudged {
		return f.value
	}
	if dev := p - f.median(); dev > f.bound() || -dev > f.bound() {
		return f.value
	}
	return p
}

// Reset forgets every sample.
func (f *WindowedDelayFilter) Reset() {
	f.sorted, f.run, f.next, f.value = f.sorted[:0], f.run[:0], 0, 0
}

// add puts d in the window, dropping the oldest sample when it is full.
func (f *WindowedDelayFilter) add(d int64) {
	if len(f.sorted) == f.window {
		old := f.ring[f.next]
		i, _ := slices.BinarySearch(f.sorted, old)
		f.sorted = slices.Delete(f.sorted, i, i+1)
	}
	f.ring[f.next] = d
	f.next = (f.next + 1) % f.window
	i, _ := slices.BinarySearch(f.sorted, d)
	f.sorted = slices.Insert(f.sorted, i, d)
}

func (f *WindowedDelayFilter) median() int64 {
	n := len(f.sorted)
	if n%2 == 1 {
		return f.sorted[n/2]
	}
	return (f.sorted[n/2-1] + f.sorted[n/2]) / 2
}

// bound is how far from the median a sample may be and still count: the
// interquartile range over 1.349 is the standard deviation of Gaussian
// noise, and is not moved by the few outliers a window may hold.
func (f *WindowedDelayFilter) bound() int64 {
	n := len(f.sorted)
	iqr := float64(f.sorted[3*n/4] - f.sorted[n/4])
	return int64(OutlierWidth*iqr/1.349) + OutlierFloor
}

// mean is the mean of the window's samples within the outlier bound of its
// median: all of them, once the window holds only samples it judged.
func (f *WindowedDelayFilter) mean() int64 {
	n := len(f.sorted)
	if n < minJudged {
		return f.median()
	}
	med, b := f.median(), f.bound()
	lo, _ := slices.BinarySearch(f.sorted, med-b)
	hi, _ := slices.BinarySearch(f.sorted, med+b+1)
	var sum int64
	for _, v := range f.sorted[lo:hi] {
		sum += v - med
	}
	return med + roundDiv(sum, int64(hi-lo))
}

// roundDiv is a / b rounded to the nearest integer, b > 0.
func roundDiv(a, b int64) int64 {
	if a >= 0 {
		return (a + b/2) / b
	}
	return -((-a + b/2) / b)
}

// NewPathDelayFilter returns the filter a port with cfg puts its path
// delays through: WindowedDelayFilter with a DelayWindow, otherwise
// linuxptp's DelayFilter over DelayFilterLength.
func NewPathDelayFilter(cfg PortConfig) (DelayFilter, error) {
	if cfg.DelayWindow > 0 {
		return NewWindowedDelayFilter(cfg.DelayWindow, cfg.DelayChangeCount)
	}
	return NewDelayFilter(cfg.DelayFilter, cfg.DelayFilterLength)
}
