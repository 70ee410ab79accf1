package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/roko-network/roko-ptpd/servo"
)

// Oscillator describes the client's free-running clock.
type Oscillator struct {
	// Offset is the clock's time error at the start, ns (positive ahead).
	Offset float64
	// Frequency is its frequency error at the start, ppb (positive fast).
	Frequency float64
	// Wander is the random-walk frequency noise, in ppb per √s: 1 means a
	// fractional frequency random walk of 1e-9/√s.
	Wander float64
	// StepEvery and StepSize model temperature-like frequency jumps: every
	// StepEvery the frequency error moves by StepSize ppb, alternately up
	// and down so that it stays bounded.
	StepEvery time.Duration
	StepSize  float64
	// TemperatureSwing and TemperaturePeriod model the frequency following
	// the room's temperature: the frequency error moves by
	// TemperatureSwing·sin(2πt/TemperaturePeriod) ppb, whose steepest
	// slope, at the start, is 2π·TemperatureSwing/TemperaturePeriod.
	TemperatureSwing  float64
	TemperaturePeriod time.Duration
	// Resolution (ppb) is the step of the clock's frequency register: a
	// frequency the servo sets is truncated toward zero to a multiple of
	// it, as a PHC with a coarse adjustment does, without the servo being
	// told. Zero applies frequencies exactly.
	Resolution float64
}

// Network describes the path between master and client.
type Network struct {
	Delay     time.Duration // base one-way delay, the same both ways
	Jitter    time.Duration // mean of an exponential extra delay per message, both ways
	SpikeProb float64       // probability that a message is delayed by Spike more
	Spike     time.Duration
	Loss      float64 // probability that a message is lost
	// SyncQueue is the mean of an exponential extra delay on messages
	// from master to client only: a busy switch's queue in one direction,
	// which makes the path asymmetric on average.
	SyncQueue time.Duration
	// At DelayStepAt (from the start) the base delay grows by DelayStep
	// both ways and stays so: a reroute. Zero DelayStepAt means never.
	DelayStep, DelayStepAt time.Duration
}

// Scenario is one simulated run.
type Scenario struct {
	Name string
	// SyncRate is Sync messages per second.
	SyncRate float64
	// DelayReqInterval is the time between Delay_Req messages (linuxptp's
	// default logMinDelayReqInterval 0 is one second).
	DelayReqInterval time.Duration
	// DelayFilterLength is the moving-median window over path delays
	// (delay_filter_length, 10 in linuxptp).
	DelayFilterLength int
	// TimestampNoise is the RMS of white noise added to each of t1..t4, ns.
	TimestampNoise float64
	Oscillator     Oscillator
	Network        Network
	Duration       time.Duration
	Seed           uint64
	// At MasterSwitchAt (from the start; zero means never) the client's
	// grandmaster changes to one whose time is MasterSwitchOffset ahead of
	// the old one's: the client's true error is measured against the new
	// one from then on.
	MasterSwitchAt, MasterSwitchOffset time.Duration
}

// event returns when the scenario's disturbance (a reroute or a change of
// grandmaster) happens, zero if it has none.
func (sc Scenario) event() time.Duration {
	switch {
	case sc.Network.DelayStepAt > 0:
		return sc.Network.DelayStepAt
	case sc.MasterSwitchAt > 0:
		return sc.MasterSwitchAt
	}
	return 0
}

// Daemon is what the daemon around a servo does that the simulator must
// copy: the daemons differ in how they meet a new grandmaster.
type Daemon struct {
	// MeetNewMaster, when set, is given the servo and the first offset
	// measured from a new grandmaster before the servo sees it (roko-ptpd
	// resets the servo or its spike filter there); nil keeps the servo as
	// it is, as ptp4l does. Both restart the delay measurement.
	MeetNewMaster func(s servo.Servo, offset int64)
	// DelayFilter, when set, returns the daemon's meanPathDelay filter;
	// nil is linuxptp's moving median of the scenario's
	// DelayFilterLength.
	DelayFilter func() DelayFilter
	// PairAge: with a PairingDelayFilter, a Sync that comes at most
	// PairAge after the last Delay_Req is measured with the filter's
	// Paired delay.
	PairAge time.Duration
}

// DelayFilter turns raw path delays (ns) into the meanPathDelay that
// offsets are measured with, as ptp/engine's filters do.
type DelayFilter interface {
	// Sample adds a raw path delay and returns the estimate.
	Sample(d int64) int64
	// Reset forgets every sample (a new master).
	Reset()
}

// PairingDelayFilter is a DelayFilter that measures each Sync's offset
// with the Sync's own master-to-slave delay paired with the last
// Delay_Req's, as ptp/engine's WindowedDelayFilter does.
type PairingDelayFilter interface {
	DelayFilter
	// Paired returns the path delay to measure a Sync with, given the
	// mean of its own delay and the last Delay_Req's.
	Paired(p int64) int64
}

// PTP4L is ptp4l around its servo: the servo kept across a change of
// grandmaster, path delays through the moving median of the scenario's
// DelayFilterLength.
var PTP4L = Daemon{}

// Result is what a run measured.
type Result struct {
	// Errors holds the client's true time error (ns) at each Sync
	// transmission, and Times when it was taken (s from the start).
	Errors []float64
	Times  []float64
	// TimeTo1us and TimeTo100ns are when |true error| first fell below
	// 1 µs and 100 ns; negative if it never did.
	TimeTo1us, TimeTo100ns time.Duration
	// SteadyRMS and SteadyMax are the RMS and largest |true error| over the
	// second half of the run, ns.
	SteadyRMS, SteadyMax float64
	// Steps counts the steps the servo asked for; StepTimes says when.
	Steps     int
	StepTimes []time.Duration
	// FinalFrequencyError is the client's frequency error at the end with
	// the servo's correction applied, ppb.
	FinalFrequencyError float64
	// Samples is how many offsets reached the servo; Lost how many Sync
	// or Delay_Req messages the network dropped.
	Samples, Lost int
	// PathDelayRMS is the RMS error of the filtered meanPathDelay over the
	// second half, ns, against the mean delay from master to client (the
	// delay that makes the offset unbiased): it passes straight into the
	// measured offset, so no servo can do better than it.
	PathDelayRMS float64
	// Recovery is, in a scenario with a disturbance (Scenario's DelayStep
	// or MasterSwitch), how long after it the true error took to come
	// back under RecoveryBound for the rest of the run: zero if it never
	// left, negative without a disturbance. EventMax is the largest |true
	// error| after it.
	Recovery time.Duration
	EventMax float64
}

// RecoveryBound is the |true error| (ns) that Result.Recovery waits for.
const RecoveryBound = 100.0

// epoch is the simulated start of time on the master's clock: timestamps
// are large numbers, as real ones are, without float64 ever holding them.
const epoch = int64(1_790_000_000) * 1e9

// client is the simulated clock: true time error phase (ns) evolving at a
// rate set by the oscillator and the servo's correction.
type client struct {
	now    float64 // true time, ns since the start
	phase  float64 // clock minus true time, ns
	osc    float64 // oscillator frequency error, ppb, less temperature
	adj    float64 // frequency correction set by the servo, ppb
	wander float64
	// temperature swing (ppb) and angular frequency (rad/ns)
	tempSwing, tempOmega float64
	resolution           float64
	rng                  *rand.Rand
}

// advance moves true time to t, integrating the clock's rate and the
// oscillator's random walk.
func (c *client) advance(t float64) {
	dt := t - c.now
	if dt <= 0 {
		return
	}
	if c.wander > 0 {
		c.osc += c.wander * math.Sqrt(dt/1e9) * c.rng.NormFloat64()
	}
	osc := c.osc
	if c.tempSwing != 0 {
		// the temperature term's exact mean over the interval
		osc += c.tempSwing * (math.Cos(c.tempOmega*c.now) - math.Cos(c.tempOmega*t)) / (c.tempOmega * dt)
	}
	c.phase += rate(osc, c.adj) * dt
	c.now = t
}

// frequency is the oscillator's frequency error now, ppb.
func (c *client) frequency() float64 {
	return c.osc + c.tempSwing*math.Sin(c.tempOmega*c.now)
}

// setAdj sets the servo's correction as the clock's register holds it.
func (c *client) setAdj(ppb float64) {
	if c.resolution > 0 {
		ppb = math.Trunc(ppb/c.resolution) * c.resolution
	}
	c.adj = ppb
}

// rate is a clock's rate error: (1+osc)(1+adj) − 1.
func rate(osc, adj float64) float64 {
	return osc/1e9 + adj/1e9 + osc*adj/1e18
}

// read returns the clock's reading at the current true time, with noise.
func (c *client) read(noise float64) int64 {
	return epoch + int64(math.Round(c.now+c.phase+noise))
}

// Run plays the scenario against s as ptp4l runs its servo (RunDaemon
// with PTP4L).
func Run(sc Scenario, s servo.Servo) (Result, error) {
	return RunDaemon(sc, PTP4L, s)
}

// RunDaemon plays the scenario against s, which starts with the scenario's
// initial frequency unknown to it, as a daemon's servo does, with d's
// behaviour around the servo.
func RunDaemon(sc Scenario, d Daemon, s servo.Servo) (Result, error) {
	if !(sc.SyncRate > 0) || sc.Duration <= 0 {
		return Result{}, fmt.Errorf("sim: scenario %q: SyncRate and Duration must be positive", sc.Name)
	}
	if sc.Oscillator.TemperatureSwing != 0 && sc.Oscillator.TemperaturePeriod <= 0 {
		return Result{}, fmt.Errorf("sim: scenario %q: TemperatureSwing needs a positive TemperaturePeriod", sc.Name)
	}
	if sc.DelayReqInterval <= 0 {
		sc.DelayReqInterval = time.Second
	}
	if sc.DelayFilterLength <= 0 {
		sc.DelayFilterLength = 10
	}
	rng := rand.New(rand.NewPCG(sc.Seed, 0x9e3779b97f4a7c15))
	c := &client{phase: sc.Oscillator.Offset, osc: sc.Oscillator.Frequency, wander: sc.Oscillator.Wander,
		tempSwing: sc.Oscillator.TemperatureSwing, resolution: sc.Oscillator.Resolution, rng: rng}
	if sc.Oscillator.TemperaturePeriod > 0 {
		c.tempOmega = 2 * math.Pi / float64(sc.Oscillator.TemperaturePeriod)
	}
	noise := func() float64 { return sc.TimestampNoise * rng.NormFloat64() }
	lost := func() bool { return sc.Network.Loss > 0 && rng.Float64() < sc.Network.Loss }
	base := func(t float64) float64 {
		d := float64(sc.Network.Delay)
		if sc.Network.DelayStepAt > 0 && t >= float64(sc.Network.DelayStepAt) {
			d += float64(sc.Network.DelayStep)
		}
		return d
	}
	// delay is the one-way delay of a message sent at t; queue is the mean
	// of the extra exponential delay in its direction.
	delay := func(t float64, queue time.Duration) float64 {
		d := base(t)
		if sc.Network.Jitter > 0 {
			d += float64(sc.Network.Jitter) * rng.ExpFloat64()
		}
		if queue > 0 {
			d += float64(queue) * rng.ExpFloat64()
		}
		if sc.Network.SpikeProb > 0 && rng.Float64() < sc.Network.SpikeProb {
			d += float64(sc.Network.Spike)
		}
		return d
	}

	interval := 1e9 / sc.SyncRate
	s.SetSyncInterval(interval / 1e9)
	n := int(float64(sc.Duration) / interval)
	res := Result{TimeTo1us: -1, TimeTo100ns: -1, Recovery: -1, Errors: make([]float64, 0, n), Times: make([]float64, 0, n)}
	var med DelayFilter = newMedian(sc.DelayFilterLength)
	if d.DelayFilter != nil {
		med = d.DelayFilter()
	}
	event := float64(sc.event())
	var (
		nextDelayReq float64
		havePath     bool
		pathDelay    int64
		nextStep     = float64(sc.Oscillator.StepEvery)
		stepSign     = 1.0
		// the master's time minus true time: the new grandmaster's offset
		// after a switch
		master   float64
		switched bool
		// the last time after the event that the error was out of bounds
		lastOut = -1.0
		pdSum2  float64
		// the last Delay_Req's slave-to-master delay, t4 − t3, and t3
		lastReq, lastReqAt int64
		haveReq            bool
		// the next offset is the first from a new grandmaster
		meet bool
		pdN  int
	)
	for k := 0; k < n; k++ {
		t1 := float64(k) * interval
		for sc.Oscillator.StepEvery > 0 && t1 >= nextStep {
			c.advance(nextStep)
			c.osc += stepSign * sc.Oscillator.StepSize
			stepSign = -stepSign
			nextStep += float64(sc.Oscillator.StepEvery)
		}
		if sc.MasterSwitchAt > 0 && !switched && t1 >= float64(sc.MasterSwitchAt) {
			// A new grandmaster: both daemons forget the path delay of
			// the old one.
			switched, master = true, float64(sc.MasterSwitchOffset)
			med.Reset()
			havePath, haveReq, nextDelayReq = false, false, t1
			meet = d.MeetNewMaster != nil
		}
		c.advance(t1)
		e := c.phase - master
		res.Errors = append(res.Errors, e)
		res.Times = append(res.Times, t1/1e9)
		if res.TimeTo1us < 0 && math.Abs(e) < 1e3 {
			res.TimeTo1us = time.Duration(t1)
		}
		if res.TimeTo100ns < 0 && math.Abs(e) < 100 {
			res.TimeTo100ns = time.Duration(t1)
		}
		if event > 0 && t1 >= event {
			res.EventMax = max(res.EventMax, math.Abs(e))
			if math.Abs(e) >= RecoveryBound {
				lastOut = t1
			}
		}

		if lost() {
			res.Lost++
			continue
		}
		ts1 := epoch + int64(math.Round(t1+master+noise()))
		c.advance(t1 + delay(t1, sc.Network.SyncQueue))
		ts2 := c.read(noise())

		// As in both daemons, the Sync's offset is measured with the
		// path delay known when it arrives; the Delay_Req that follows
		// pairs with it and updates the path delay for later ones.
		stepped := false
		if havePath {
			use := pathDelay
			if pf, ok := med.(PairingDelayFilter); ok && haveReq && float64(ts2-lastReqAt) <= float64(d.PairAge) {
				use = pf.Paired(((ts2 - ts1) + lastReq) / 2)
			}
			offset := ts2 - ts1 - use
			if meet {
				meet = false
				d.MeetNewMaster(s, offset)
			}
			res.Samples++
			if k >= n/2 {
				// the mean delay from master to client, which makes the
				// offset unbiased
				d := float64(pathDelay) - (base(t1) + float64(sc.Network.Jitter+sc.Network.SyncQueue))
				pdSum2 += d * d
				pdN++
			}
			ppb, state := s.Sample(offset, ts2)
			switch state {
			case servo.Jump:
				c.phase -= float64(offset)
				c.setAdj(ppb)
				res.Steps++
				res.StepTimes = append(res.StepTimes, time.Duration(c.now))
				stepped = true
			case servo.Locked, servo.LockedStable:
				c.setAdj(ppb)
			}
		}
		if t1 >= nextDelayReq {
			nextDelayReq = t1 + float64(sc.DelayReqInterval)
			switch {
			case lost():
				res.Lost++
			case stepped:
				// A step between the Sync and the Delay_Req would pair
				// timestamps from either side of it: both daemons drop
				// the Sync's.
			default:
				ts3 := c.read(noise())
				ts4 := epoch + int64(math.Round(c.now+delay(c.now, 0)+master+noise()))
				pathDelay, havePath = med.Sample(((ts2-ts1)+(ts4-ts3))/2), true
				lastReq, lastReqAt, haveReq = ts4-ts3, ts3, true
			}
		}
	}
	res.FinalFrequencyError = rate(c.frequency(), c.adj) * 1e9
	half := res.Errors[len(res.Errors)/2:]
	var sum2 float64
	for _, e := range half {
		sum2 += e * e
		res.SteadyMax = max(res.SteadyMax, math.Abs(e))
	}
	res.SteadyRMS = math.Sqrt(sum2 / float64(len(half)))
	if pdN > 0 {
		res.PathDelayRMS = math.Sqrt(pdSum2 / float64(pdN))
	}
	if event > 0 {
		res.Recovery = 0
		if lastOut >= 0 {
			res.Recovery = time.Duration(lastOut + interval - event)
		}
	}
	return res, nil
}

// median is a moving median of the last n path delays.
type median struct {
	ring   []int64
	next   int
	full   bool
	sorted []int64
}

func newMedian(n int) *median { return &median{ring: make([]int64, n), sorted: make([]int64, 0, n)} }

// Reset implements DelayFilter.
func (m *median) Reset() { m.next, m.full = 0, false }

// Sample implements DelayFilter.
func (m *median) Sample(v int64) int64 {
	m.ring[m.next] = v
	m.next++
	if m.next == len(m.ring) {
		m.next, m.full = 0, true
	}
	return m.value()
}

func (m *median) value() int64 {
	n := m.next
	if m.full {
		n = len(m.ring)
	}
	m.sorted = append(m.sorted[:0], m.ring[:n]...)
	// insertion sort: n is at most a few dozen
	for i := 1; i < len(m.sorted); i++ {
		for j := i; j > 0 && m.sorted[j] < m.sorted[j-1]; j-- {
			m.sorted[j], m.sorted[j-1] = m.sorted[j-1], m.sorted[j]
		}
	}
	if n%2 == 1 {
		return m.sorted[n/2]
	}
	return (m.sorted[n/2-1] + m.sorted[n/2]) / 2
}
