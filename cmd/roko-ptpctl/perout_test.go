package main

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/phc"
)

// emulated makes an emulated PHC (an i210 unless changed by cfg) and
// returns its state file, usable as roko-ptpctl's CLOCK.
func emulated(t *testing.T, cfg func(*phc.EmulatedConfig)) (string, *phc.Emulated) {
	t.Helper()
	c := phc.DefaultEmulatedConfig()
	if cfg != nil {
		cfg(&c)
	}
	path := filepath.Join(t.TempDir(), "ptp0")
	e, err := phc.CreateEmulated(path, c)
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	return path, e
}

func pinFunctions(t *testing.T, path string) map[uint32]phc.Pin {
	t.Helper()
	d, err := phc.Open(path)
	require.NoError(t, err)
	defer d.Close()
	pins, err := d.Pins()
	require.NoError(t, err)
	m := map[uint32]phc.Pin{}
	for _, p := range pins {
		m[p.Index] = p
	}
	return m
}

// What the hardware receives for each form of the command.
func TestPerout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		channel uint32
		pin     uint32
		period  time.Duration
		phase   time.Duration
		on      time.Duration // 0: the driver's duty cycle
		out     []string
	}{
		{name: "defaults", args: nil, pin: 0, period: time.Second, on: 500 * time.Millisecond,
			out: []string{`set pin 0 "SDP0" to periodic output channel 0 (no pin had the channel, and this one was unused; give pin N to choose)`,
				"periodic output request okay: channel 0, period 1000000000 ns, first edge at ", "(PHC time), 500000000 ns high"}},
		{name: "channel pin phase width", args: []string{"channel", "1", "pin", "3", "phase", "100000", "width", "1000000"},
			channel: 1, pin: 3, period: time.Second, phase: 100 * time.Microsecond, on: time.Millisecond,
			out: []string{`set pin 3 "SDP3" to periodic output channel 1` + "\n", ".000100000 (PHC time), 1000000 ns high"}},
		{name: "durations and the driver's width", args: []string{"period", "100ms", "width", "0", "phase", "10ms"},
			period: 100 * time.Millisecond, phase: 10 * time.Millisecond,
			out: []string{"period 100000000 ns", ".010000000 (PHC time), the driver's pulse width"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, e := emulated(t, nil)
			d, err := phc.Open(path)
			require.NoError(t, err)
			defer d.Close()
			before, err := d.Now()
			require.NoError(t, err)

			a, n, err := parsePerout(tc.args)
			require.NoError(t, err)
			assert.Equal(t, len(tc.args), n)
			var out bytes.Buffer
			require.NoError(t, perout(d, a, &out))
			for _, s := range tc.out {
				assert.Contains(t, out.String(), s)
			}

			got, err := e.PerOut(tc.channel)
			require.NoError(t, err)
			assert.Equal(t, tc.period, got.Period)
			assert.False(t, got.Phase, "an absolute start, which every driver takes")
			assert.Equal(t, tc.phase, got.Start%time.Second, "the first edge is a whole PHC second plus phase")
			assert.Greater(t, got.Start, time.Duration(before.UnixNano()), "the first edge is ahead")
			assert.Less(t, got.Start, time.Duration(before.UnixNano())+3*time.Second)
			assert.Equal(t, tc.on, got.On)
			assert.Equal(t, tc.on != 0, got.DutyCycle)

			p := pinFunctions(t, path)[tc.pin]
			assert.Equal(t, phc.PinPerOut, p.Function)
			assert.Equal(t, tc.channel, p.Channel)
		})
	}
}

// Through the command line: start, keep a pin that already has the
// channel, stop, and carry on with the next command.
func TestPeroutRun(t *testing.T) {
	path, e := emulated(t, nil)
	require.NoError(t, run([]string{path, "perout", "channel", "1", "pin", "2", "pins"}))
	p, err := e.PerOut(1)
	require.NoError(t, err)
	assert.Equal(t, time.Second, p.Period)

	require.NoError(t, run([]string{path, "perout", "channel", "1"}), "pin 2 already has channel 1")
	pins := pinFunctions(t, path)
	assert.Equal(t, phc.PinPerOut, pins[2].Function)
	assert.Equal(t, phc.PinNone, pins[0].Function, "no second pin was taken")

	require.NoError(t, run([]string{path, "perout", "channel", "1", "off", "get"}))
	p, err = e.PerOut(1)
	require.NoError(t, err)
	assert.Zero(t, p.Period, "stopped")
	assert.Equal(t, uint64(3), p.Requests)

	// A device without programmable pins drives a fixed pin.
	fixed, e := emulated(t, func(c *phc.EmulatedConfig) { c.NPins = 0 })
	require.NoError(t, run([]string{fixed, "perout"}))
	p, err = e.PerOut(0)
	require.NoError(t, err)
	assert.Equal(t, time.Second, p.Period)
}

func TestPeroutErrors(t *testing.T) {
	busy := func(t *testing.T, path string) {
		// Every pin has another job.
		d, err := phc.Open(path)
		require.NoError(t, err)
		defer d.Close()
		require.NoError(t, d.SetPin(0, phc.PinExtTS, 0))
		require.NoError(t, d.SetPin(1, phc.PinExtTS, 1))
		require.NoError(t, d.SetPin(2, phc.PinPerOut, 1))
		require.NoError(t, d.SetPin(3, phc.PinPhySync, 0))
	}
	for _, tc := range []struct {
		name  string
		cfg   func(*phc.EmulatedConfig)
		setup func(*testing.T, string)
		args  []string
		want  string
	}{
		{name: "no PEROUT", cfg: func(c *phc.EmulatedConfig) { c.NPerOut, c.NPins = 0, 0 },
			want: "device has 0 periodic outputs; use a NIC with SDP pins"},
		{name: "no such channel", args: []string{"channel", "2"}, want: "channel 2: device has 2 periodic outputs (channels 0 to 1)"},
		{name: "no such pin", args: []string{"pin", "4"}, want: "pin 4: device has 4 pins (0 to 3)"},
		{name: "no pins", cfg: func(c *phc.EmulatedConfig) { c.NPins = 0 }, args: []string{"pin", "0"},
			want: "device has 0 programmable pins; its outputs are wired to fixed pins, so leave out pin"},
		{name: "no free pin", setup: busy, want: "no pin drives channel 0 and none is free; give pin N"},
		{name: "missing number", args: []string{"channel"}, want: "perout: channel needs a number"},
		{name: "bad number", args: []string{"pin", "x"}, want: `perout: pin "x": not a number`},
		{name: "missing ns", args: []string{"width"}, want: "perout: width needs nanoseconds"},
		{name: "bad ns", args: []string{"phase", "soon"}, want: `perout: phase "soon": want nanoseconds or a duration`},
		{name: "negative", args: []string{"phase", "-1"}, want: `perout: phase "-1": must not be negative`},
		{name: "zero period", args: []string{"period", "0"}, want: "period must be positive (use off to stop the output)"},
		{name: "wide", args: []string{"width", "2s"}, want: "width 2s is longer than the period 1s"},
		{name: "late phase", args: []string{"phase", "1000000000"}, want: "phase 1s must be less than the period 1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, _ := emulated(t, tc.cfg)
			if tc.setup != nil {
				tc.setup(t, path)
			}
			assert.ErrorContains(t, run(append([]string{path, "perout"}, tc.args...)), tc.want)
		})
	}
	assert.ErrorContains(t, run([]string{"CLOCK_REALTIME", "perout"}), "perout: CLOCK_REALTIME is not a PTP hardware clock")
}
