package sim

import "time"

// hw is the base of the named scenarios: hardware timestamps at 16 Hz with
// 5 ns RMS noise, a client 10 ms ahead and 50 ppm fast, oscillator wander of
// 1e-9/√s, a 10 µs path, ten simulated minutes. Delay_Req goes at the Sync
// rate, as telecom profiles and nanosecond deployments run it; path delays
// pass linuxptp's default moving median of 10.
func hw() Scenario {
	return Scenario{
		Name:              "hw",
		SyncRate:          16,
		DelayReqInterval:  time.Second / 16,
		DelayFilterLength: 10,
		TimestampNoise:    5,
		Oscillator:        Oscillator{Offset: 10e6, Frequency: 50e3, Wander: 1},
		Network:           Network{Delay: 10 * time.Microsecond},
		Duration:          10 * time.Minute,
		Seed:              1588,
	}
}

// Scenarios returns the named scenarios of the servo report, in order:
// hw, hw-fast (128 Hz), sw (2 µs noise), lossy (10 % loss and 1 % delay
// spikes of +50 µs) and wander (a 100 ppb frequency step every 60 s).
func Scenarios() []Scenario {
	hwFast := hw()
	hwFast.Name, hwFast.SyncRate, hwFast.DelayReqInterval = "hw-fast", 128, time.Second/128

	sw := hw()
	sw.Name, sw.TimestampNoise = "sw", 2000

	lossy := hw()
	lossy.Name = "lossy"
	lossy.Network.Loss = 0.10
	lossy.Network.SpikeProb = 0.01
	lossy.Network.Spike = 50 * time.Microsecond

	wander := hw()
	wander.Name = "wander"
	wander.Oscillator.StepEvery = time.Minute
	wander.Oscillator.StepSize = 100

	return []Scenario{hw(), hwFast, sw, lossy, wander}
}
