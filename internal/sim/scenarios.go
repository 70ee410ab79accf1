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
//
//   - hw: the base above
//   - hw-fast: 128 Hz Sync and Delay_Req
//   - hw-1hz: linuxptp's default intervals, 1 Hz Sync and Delay_Req
//   - sw: 2 µs RMS timestamp noise (software timestamping)
//   - lossy: 10 % loss and 1 % delay spikes of +50 µs
//   - wander: a 100 ppb frequency step every 60 s
//   - temperature: the frequency follows the room, ±10 ppb over a 20 min
//     cycle, 3.1 ppb per minute at its steepest
//   - coarse: a PHC whose frequency register moves in 10 ppb steps
//   - busy: a busy switch queues Sync messages (master to client only) by
//     an exponential delay of mean 500 ns
//   - reroute: the path delay grows by 1 µs both ways at 6 min
//   - gm-switch: at 6 min the grandmaster changes to one 500 ns ahead
//
// The disturbances of reroute and gm-switch fall in the second half of the
// run, which the steady-state figures cover, so that they show their cost.
func Scenarios() []Scenario {
	hwFast := hw()
	hwFast.Name, hwFast.SyncRate, hwFast.DelayReqInterval = "hw-fast", 128, time.Second/128

	hw1Hz := hw()
	hw1Hz.Name, hw1Hz.SyncRate, hw1Hz.DelayReqInterval = "hw-1hz", 1, time.Second

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

	temperature := hw()
	temperature.Name = "temperature"
	temperature.Oscillator.TemperatureSwing = 10
	temperature.Oscillator.TemperaturePeriod = 20 * time.Minute

	coarse := hw()
	coarse.Name = "coarse"
	coarse.Oscillator.Resolution = 10

	busy := hw()
	busy.Name = "busy"
	busy.Network.SyncQueue = 500 * time.Nanosecond

	reroute := hw()
	reroute.Name = "reroute"
	reroute.Network.DelayStep = time.Microsecond
	reroute.Network.DelayStepAt = 6 * time.Minute

	gmSwitch := hw()
	gmSwitch.Name = "gm-switch"
	gmSwitch.MasterSwitchAt = 6 * time.Minute
	gmSwitch.MasterSwitchOffset = 500 * time.Nanosecond

	return []Scenario{hw(), hwFast, hw1Hz, sw, lossy, wander, temperature, coarse, busy, reroute, gmSwitch}
}
