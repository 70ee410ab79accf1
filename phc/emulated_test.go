package phc

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// newEmulated creates an emulated PHC in a temporary directory and opens a
// Device on it, as a daemon would open /dev/ptpN.
func newEmulated(t *testing.T, cfg EmulatedConfig) (*Emulated, *Device) {
	t.Helper()
	e, err := CreateEmulated(filepath.Join(t.TempDir(), "ptp0"), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	d, err := Open(e.Path())
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	return e, d
}

func TestEmulatedPath(t *testing.T) {
	assert.Equal(t, "/run/roko-ptpd/emulated/ptp0", EmulatedPath("ptp0"))
	assert.Equal(t, "/tmp/x/ptp1", EmulatedPath("/tmp/x/ptp1"))
	assert.Equal(t, "./ptp1", EmulatedPath("./ptp1"))
}

func TestEmulatedCaps(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  EmulatedConfig
		want Caps
	}{
		{"i210", DefaultEmulatedConfig(), Caps{MaxAdj: 62_499_999, NExtTS: 2, NPerOut: 2, PPS: true, NPins: 4}},
		{"zero config", EmulatedConfig{}, Caps{MaxAdj: 62_499_999}},
		{"e810-like", EmulatedConfig{MaxAdj: 999_999_999, NExtTS: 3, NPerOut: 4, NPins: 8, CrossTimestamping: true},
			Caps{MaxAdj: 999_999_999, NExtTS: 3, NPerOut: 4, NPins: 8, CrossTimestamping: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, d := newEmulated(t, tc.cfg)
			assert.Equal(t, tc.want, d.Caps())
			assert.Equal(t, int32(-1), d.ClockID())
			assert.Equal(t, float64(tc.want.MaxAdj), d.MaxFrequency())
		})
	}
	_, err := CreateEmulated(filepath.Join(t.TempDir(), "ptp0"), EmulatedConfig{NExtTS: 9})
	assert.ErrorContains(t, err, "at most 8")
}

// TestEmulatedFrequencyRoundTrip: the frequency goes in and comes back in
// the kernel's scaled-ppm unit; a NIC with a coarser step runs at the
// rounded frequency but reads back what was dialed, as the kernel does.
func TestEmulatedFrequencyRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name     string
		step     float64
		ppb      float64
		readBack float64 // through scaled ppm
		rate     float64
	}{
		{"whole ppb", 0, 12_345, 12_345, 12_345},
		{"sub-ppb in the kernel's unit", 0, 0.5, 33 / 65.536, 33 / 65.536},
		{"negative", 0, -62_499_999, -62_499_999, -62_499_999},
		{"8 ppb steps round", 8, 13, 13, 16},
		{"8 ppb steps round down", 8, -11.9, -11.9, -8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, d := newEmulated(t, EmulatedConfig{FrequencyStep: tc.step})
			require.NoError(t, d.AdjustFrequency(tc.ppb))
			f, err := d.Frequency()
			require.NoError(t, err)
			assert.InDelta(t, tc.readBack, f, 1/65.536)
			r, err := e.Rate()
			require.NoError(t, err)
			assert.InDelta(t, tc.rate, r, 1/65.536)
		})
	}
	_, d := newEmulated(t, EmulatedConfig{MaxAdj: 1000})
	require.ErrorIs(t, d.AdjustFrequency(1001), ErrFrequencyRange, "refused by Device before the kernel")
	// Past Device's own check, the emulated kernel refuses with ERANGE.
	tx := unix.Timex{Modes: unix.ADJ_FREQUENCY, Freq: ppbToScaledPPM(2000)}
	_, err := d.k.clockAdjtime(&tx)
	assert.ErrorIs(t, err, unix.ERANGE)
}

func TestEmulatedStep(t *testing.T) {
	for _, step := range []time.Duration{time.Second, -1500 * time.Millisecond, 37*time.Second + 1, -1} {
		t.Run(step.String(), func(t *testing.T) {
			e, d := newEmulated(t, EmulatedConfig{Offset: 10 * time.Millisecond})
			require.NoError(t, d.Step(step))
			te, err := e.TrueError()
			require.NoError(t, err)
			assert.InDelta(t, float64(10*time.Millisecond+step), float64(te), 2)
		})
	}
	_, d := newEmulated(t, EmulatedConfig{})
	tx := unix.Timex{Modes: unix.ADJ_SETOFFSET | unix.ADJ_NANO, Time: unix.Timeval{Usec: 1e9}}
	_, err := d.k.clockAdjtime(&tx)
	assert.ErrorIs(t, err, unix.EINVAL, "nanoseconds out of range")
	tx = unix.Timex{Modes: unix.ADJ_OFFSET}
	_, err = d.k.clockAdjtime(&tx)
	assert.ErrorIs(t, err, unix.EOPNOTSUPP)
}

// TestEmulatedRate: the clock's slope against CLOCK_MONOTONIC is its
// frequency error plus the steering, within the read windows'
// uncertainty, through Device.Now (clock_gettime).
func TestEmulatedRate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err, adj float64
	}{
		{"free, +25 ppm", 25_000, 0},
		{"-40 ppm steered +100 ppm", -40_000, 100_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, d := newEmulated(t, EmulatedConfig{FrequencyError: tc.err})
			require.NoError(t, d.AdjustFrequency(tc.adj))
			read := func() int64 { v, _ := d.Now(); return v.UnixNano() }
			got, unc := slope(t, unix.CLOCK_MONOTONIC, read, 300*time.Millisecond)
			assert.InDelta(t, tc.err+tc.adj, got, unc+2, "ppb (uncertainty %.1f)", unc)
		})
	}
}

// TestEmulatedWander: the random walk depends only on the seed, its steps
// are re-anchored so the clock stays continuous, and its spread after n
// steps is Wander·√(n·interval).
func TestEmulatedWander(t *testing.T) {
	walk := func(seed uint64, steps int) (*emuState, []float64) {
		s, _, err := EmulatedConfig{Wander: 2, WanderInterval: 100 * time.Millisecond, Seed: seed}.state(0, 0)
		require.NoError(t, err)
		var f []float64
		for i := range steps {
			before := s.atNs(int64(i+1) * 100e6)
			s.advance(int64(i+1) * 100e6)
			assert.Equal(t, before, s.atNs(int64(i+1)*100e6), "continuous across a step")
			f = append(f, s.WanderPPB)
		}
		return s, f
	}
	_, a := walk(7, 50)
	_, b := walk(7, 50)
	_, c := walk(8, 50)
	assert.Equal(t, a, b, "same seed, same walk")
	assert.NotEqual(t, a, c)
	// Taken at once or step by step, the walk is the same.
	s, _, err := EmulatedConfig{Wander: 2, WanderInterval: 100 * time.Millisecond, Seed: 7}.state(0, 0)
	require.NoError(t, err)
	s.advance(50 * 100e6)
	assert.Equal(t, a[49], s.WanderPPB)
	// Spread over 400 seeds after 100 steps of 0.1 s: σ = 2·√10 ppb.
	var sum2 float64
	for seed := range uint64(400) {
		s, _, err := EmulatedConfig{Wander: 2, WanderInterval: 100 * time.Millisecond, Seed: seed}.state(0, 0)
		require.NoError(t, err)
		s.advance(100 * 100e6)
		sum2 += s.WanderPPB * s.WanderPPB
	}
	assert.InDelta(t, 2*math.Sqrt(10), math.Sqrt(sum2/400), 0.2*2*math.Sqrt(10))
}

func TestEmulatedExtTS(t *testing.T) {
	for _, tc := range []struct {
		name     string
		edges    Edges
		inject   []Edges
		captured []bool
	}{
		{"rising", RisingEdge, []Edges{RisingEdge, FallingEdge}, []bool{true, false}},
		{"falling", FallingEdge, []Edges{RisingEdge, FallingEdge}, []bool{false, true}},
		{"both", BothEdges, []Edges{RisingEdge, FallingEdge}, []bool{true, true}},
		{"disabled", 0, []Edges{RisingEdge, FallingEdge}, []bool{false, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, d := newEmulated(t, EmulatedConfig{NExtTS: 2, NPins: 2, Offset: 37 * time.Second, FrequencyError: 1000})
			require.ErrorIs(t, d.EnableExtTS(1, RisingEdge), unix.EBUSY, "no pin assigned yet")
			require.NoError(t, d.SetPin(1, PinExtTS, 1))
			if tc.edges != 0 {
				require.NoError(t, d.EnableExtTS(1, tc.edges))
			}
			got, err := e.ExtTSEnabled(1)
			require.NoError(t, err)
			assert.Equal(t, tc.edges, got)
			rt := realtimeNs()
			var want []ExtTSEvent
			for i, edge := range tc.inject {
				at := rt + int64(i)*500e6
				ok, err := e.InjectEdge(1, edge, at)
				require.NoError(t, err)
				assert.Equal(t, tc.captured[i], ok)
				if ok {
					phc, err := e.FromRealtime(at)
					require.NoError(t, err)
					want = append(want, ExtTSEvent{Channel: 1, Time: phc})
				}
			}
			start := time.Now()
			evs, err := d.ReadExtTS(50 * time.Millisecond)
			require.NoError(t, err)
			assert.Equal(t, want, evs)
			if len(want) > 0 {
				// On the PHC's timescale: 37 s ahead of CLOCK_REALTIME.
				i := 0
				if !tc.captured[0] {
					i = 1
				}
				assert.InDelta(t, float64(rt+int64(i)*500e6+37e9), float64(evs[0].Time), 1e6)
				assert.Less(t, time.Since(start), 20*time.Millisecond, "events waiting are returned at once")
			} else {
				assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond, "ReadExtTS waits out its timeout")
			}
		})
	}
}

func TestEmulatedExtTSDetails(t *testing.T) {
	e, d := newEmulated(t, EmulatedConfig{NExtTS: 1})
	require.NoError(t, d.EnableExtTS(0, RisingEdge))
	// An edge placed on the PHC's own timescale comes out as given.
	ok, err := e.InjectEdgeAt(0, RisingEdge, 1_700_000_000_123_456_789)
	require.NoError(t, err)
	require.True(t, ok)
	// A reader waiting when the edge comes gets it.
	go func() {
		time.Sleep(20 * time.Millisecond)
		_, _ = e.InjectEdgeAt(0, RisingEdge, 1_700_000_001_000_000_000)
	}()
	evs, err := d.ReadExtTS(10 * time.Millisecond)
	require.NoError(t, err)
	assert.Equal(t, []ExtTSEvent{{0, 1_700_000_000_123_456_789}}, evs)
	evs, err = d.ReadExtTS(time.Second)
	require.NoError(t, err)
	assert.Equal(t, []ExtTSEvent{{0, 1_700_000_001_000_000_000}}, evs)
	// A negative timeout waits as long as it takes, as poll(2)'s does.
	go func() {
		time.Sleep(20 * time.Millisecond)
		_, _ = e.InjectEdgeAt(0, RisingEdge, 1_700_000_002_000_000_000)
	}()
	evs, err = d.ReadExtTS(-time.Millisecond)
	require.NoError(t, err)
	assert.Equal(t, []ExtTSEvent{{0, 1_700_000_002_000_000_000}}, evs)
	// Overflow drops the oldest, as the kernel's queue does.
	for i := range emuQueueLen + 5 {
		_, err := e.InjectEdgeAt(0, RisingEdge, int64(i))
		require.NoError(t, err)
	}
	var all []ExtTSEvent
	for {
		evs, err := d.ReadExtTS(0)
		require.NoError(t, err)
		if len(evs) == 0 {
			break
		}
		all = append(all, evs...)
	}
	require.Len(t, all, emuQueueLen)
	assert.Equal(t, int64(5), all[0].Time)
	// Disabled: edges are lost.
	require.NoError(t, d.DisableExtTS(0))
	ok, err = e.InjectEdgeAt(0, RisingEdge, 1)
	require.NoError(t, err)
	assert.False(t, ok)
	_, err = e.InjectEdgeAt(0, BothEdges, 1)
	assert.Error(t, err, "an edge is one edge")
	_, err = e.InjectEdgeAt(3, RisingEdge, 1)
	assert.ErrorIs(t, err, ErrNotSupported)
	// The kernel's checks on the request.
	r := ptpExttsRequest{Index: 0, Flags: ptpEnableFeature | 1<<7}
	assert.ErrorIs(t, d.k.ioctl(iocPtpExttsRequest2, unsafe.Pointer(&r)), unix.EINVAL, "unknown flag")
	r = ptpExttsRequest{Index: 1, Flags: ptpEnableFeature}
	assert.ErrorIs(t, d.k.ioctl(iocPtpExttsRequest2, unsafe.Pointer(&r)), unix.EINVAL, "no such channel")
	r = ptpExttsRequest{Index: 0, Flags: ptpEnableFeature | 1<<7}
	assert.NoError(t, d.k.ioctl(iocPtpExttsRequest, unsafe.Pointer(&r)), "the old ioctl masks flags")
}

func TestEmulatedPerOut(t *testing.T) {
	e, d := newEmulated(t, DefaultEmulatedConfig())
	require.ErrorIs(t, d.SetPPSOutput(0, 0, time.Millisecond), unix.EBUSY, "no pin")
	require.NoError(t, d.SetPin(2, PinPerOut, 0))
	require.NoError(t, d.SetPPSOutput(0, 250*time.Millisecond, 100*time.Millisecond))
	p, err := e.PerOut(0)
	require.NoError(t, err)
	assert.Equal(t, PerOutState{Channel: 0, Period: time.Second, Start: 250 * time.Millisecond, Phase: true,
		On: 100 * time.Millisecond, DutyCycle: true, Requests: 1}, p)
	require.NoError(t, d.SetPeriodicOutput(0, 1_700_000_002*time.Second, 500*time.Millisecond, 0))
	p, err = e.PerOut(0)
	require.NoError(t, err)
	assert.Equal(t, PerOutState{Channel: 0, Period: 500 * time.Millisecond, Start: 1_700_000_002 * time.Second, Requests: 2}, p)
	assert.ErrorIs(t, d.SetPeriodicOutput(0, 0, time.Second, 2*time.Second), unix.ERANGE, "high longer than the period")
	require.NoError(t, d.SetPeriodicOutput(0, 0, 0, 0))
	p, err = e.PerOut(0)
	require.NoError(t, err)
	assert.Zero(t, p.Period, "stopped")
	// Taking the pin away stops the output.
	require.NoError(t, d.SetPPSOutput(0, 0, 0))
	require.NoError(t, d.SetPin(2, PinNone, 0))
	p, err = e.PerOut(0)
	require.NoError(t, err)
	assert.Zero(t, p.Period)
	_, err = e.PerOut(2)
	assert.ErrorIs(t, err, ErrNotSupported)
	require.NoError(t, d.EnablePPS(true))
}

func TestEmulatedPins(t *testing.T) {
	_, d := newEmulated(t, DefaultEmulatedConfig())
	pins, err := d.Pins()
	require.NoError(t, err)
	require.Len(t, pins, 4)
	for i, p := range pins {
		assert.Equal(t, Pin{Name: fmt.Sprintf("SDP%d", i), Index: uint32(i), Function: PinNone}, p)
	}
	require.NoError(t, d.SetPin(0, PinExtTS, 1))
	require.NoError(t, d.SetPin(3, PinPerOut, 0))
	require.NoError(t, d.SetPin(1, PinExtTS, 1), "takes channel 1 from pin 0")
	pins, err = d.Pins()
	require.NoError(t, err)
	assert.Equal(t, []PinFunction{PinNone, PinExtTS, PinNone, PinPerOut}, []PinFunction{pins[0].Function, pins[1].Function, pins[2].Function, pins[3].Function})
	assert.Equal(t, uint32(1), pins[1].Channel)
	for _, tc := range []struct {
		f  PinFunction
		ch uint32
	}{{PinExtTS, 2}, {PinPerOut, 2}, {PinPhySync, 1}, {PinFunction(9), 0}} {
		assert.ErrorIs(t, d.SetPin(0, tc.f, tc.ch), unix.EINVAL, "%v %d", tc.f, tc.ch)
	}
	desc := ptpPinDesc{Index: 4}
	assert.ErrorIs(t, d.k.ioctl(iocPtpPinGetfunc2, unsafe.Pointer(&desc)), unix.EINVAL)
	desc = ptpPinDesc{Index: 0, Rsv: [5]uint32{1}}
	assert.ErrorIs(t, d.k.ioctl(iocPtpPinGetfunc2, unsafe.Pointer(&desc)), unix.EINVAL, "reserved fields")
	assert.ErrorIs(t, d.k.ioctl(0x1234, unsafe.Pointer(&desc)), unix.ENOTTY)
}

// TestEmulatedSysOffset: SysOffset chooses the best method the clock has,
// and each measures the clock's true offset with its own read delay.
func TestEmulatedSysOffset(t *testing.T) {
	base := EmulatedConfig{Offset: 37*time.Second + 1234, PreciseDelay: 300, ExtendedDelay: 1500, BasicDelay: 5000}
	for _, tc := range []struct {
		name   string
		cross  bool
		noExt  bool
		method OffsetMethod
		delay  time.Duration
	}{
		{"precise", true, false, MethodPrecise, 0},
		{"extended", false, false, MethodExtended, 1500},
		{"basic", false, true, MethodBasic, 5000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			cfg.CrossTimestamping, cfg.NoExtended = tc.cross, tc.noExt
			e, d := newEmulated(t, cfg)
			before := readMono()
			o, err := d.SysOffset(10)
			took := readMono() - before
			require.NoError(t, err)
			assert.Equal(t, tc.method, o.Method)
			assert.Equal(t, tc.delay, o.Delay)
			te, err := e.TrueError()
			require.NoError(t, err)
			assert.InDelta(t, float64(te), float64(o.Offset), 1, "the offset is exact")
			assert.InDelta(t, float64(cfg.Offset), float64(o.Offset), 1)
			assert.InDelta(t, float64(realtimeNs()), float64(o.Time), 5e6)
			// The call takes as long as its readings say.
			assert.GreaterOrEqual(t, took, int64(max(tc.delay, 300)))
		})
	}
	// CompareClocks reads through clock_gettime, as phc2sys's -R path.
	_, d := newEmulated(t, base)
	sys, err := NewSystem()
	require.NoError(t, err)
	o, err := CompareClocks(d, sys, 10)
	require.NoError(t, err)
	assert.InDelta(t, float64(base.Offset), float64(o.Offset), float64(o.Delay)/2+1000)
	// The kernel's checks.
	var ext ptpSysOffsetExtended
	ext.NSamples = 26
	assert.ErrorIs(t, d.k.ioctl(iocPtpSysOffsetExtended2, unsafe.Pointer(&ext)), unix.EINVAL)
	var p ptpSysOffsetPrecise
	assert.ErrorIs(t, d.k.ioctl(iocPtpSysOffsetPrecise2, unsafe.Pointer(&p)), unix.EOPNOTSUPP)
}

// TestEmulatedSharedClock: two Devices on one state file steer and read
// one clock, within a process and from a second process (this test binary
// run again with ROKO_EMUPHC_CHILD set).
func TestEmulatedSharedClock(t *testing.T) {
	e, a := newEmulated(t, EmulatedConfig{Offset: time.Second, NExtTS: 1})
	b, err := Open(e.Path())
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, a.AdjustFrequency(5000))
	f, err := b.Frequency()
	require.NoError(t, err)
	assert.InDelta(t, 5000, f, 0.01, "b reads a's frequency")
	require.NoError(t, b.Step(-time.Second))
	te, err := e.TrueError()
	require.NoError(t, err)
	assert.Less(t, te.Abs(), time.Millisecond, "b's step moved a's clock")
	ta, err := a.Now()
	require.NoError(t, err)
	tb, err := b.Now()
	require.NoError(t, err)
	assert.False(t, tb.Before(ta), "reads of the two are ordered")

	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "ROKO_EMUPHC_CHILD="+e.Path())
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	i := bytes.Index(out, []byte("child-freq "))
	require.GreaterOrEqual(t, i, 0, "%s", out)
	line := strings.Fields(string(out[i:]))[1]
	childFreq, err := strconv.ParseFloat(line, 64)
	require.NoError(t, err)
	assert.InDelta(t, 5000, childFreq, 0.01, "the child read the parent's frequency")
	// The child stepped by +250 ms, set -12 ppm and queued an edge.
	f, err = a.Frequency()
	require.NoError(t, err)
	assert.InDelta(t, -12_000, f, 0.01)
	te, err = e.TrueError()
	require.NoError(t, err)
	assert.InDelta(t, float64(250*time.Millisecond), float64(te), float64(time.Millisecond))
	evs, err := a.ReadExtTS(0)
	require.NoError(t, err)
	assert.Equal(t, []ExtTSEvent{{0, 42}}, evs)
}

// emulatedChild is TestEmulatedSharedClock's second process (TestMain
// runs it when ROKO_EMUPHC_CHILD names the clock's file): it reads the
// frequency, steps the clock, sets a frequency and queues an edge.
func emulatedChild(path string) error {
	d, err := Open(path)
	if err != nil {
		return err
	}
	defer d.Close()
	f, err := d.Frequency()
	if err != nil {
		return err
	}
	fmt.Printf("child-freq %v\n", f)
	if err := d.Step(250 * time.Millisecond); err != nil {
		return err
	}
	if err := d.AdjustFrequency(-12_000); err != nil {
		return err
	}
	e, err := OpenEmulated(path)
	if err != nil {
		return err
	}
	defer e.Close()
	// Pins: none configured, so EXTTS needs none.
	if err := d.EnableExtTS(0, BothEdges); err != nil {
		return err
	}
	ok, err := e.InjectEdgeAt(0, FallingEdge, 42)
	if err == nil && !ok {
		err = fmt.Errorf("the edge was not taken")
	}
	return err
}

func TestEmulatedBadFiles(t *testing.T) {
	dir := t.TempDir()
	good, err := CreateEmulated(filepath.Join(dir, "good"), EmulatedConfig{})
	require.NoError(t, err)
	good.Close()
	raw, err := os.ReadFile(filepath.Join(dir, "good"))
	require.NoError(t, err)
	mutate := func(f func(b []byte)) []byte { b := bytes.Clone(raw); f(b); return b }
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not an emulated PHC state file"},
		{"text", []byte("hello, world, this is not a clock"), "not an emulated PHC state file"},
		{"version 2", mutate(func(b []byte) { b[8] = 2 }), "format version 2, this build reads version 1"},
		{"short", raw[:100], "100 bytes"},
		{"bad channel count", mutate(func(b []byte) { b[int(unsafe.Offsetof(emuState{}.NExtTS))] = 200 }), "channels 200"},
		{"queue counters", mutate(func(b []byte) { b[int(unsafe.Offsetof(emuState{}.QTail))+3] = 1 }), "event queue"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			require.NoError(t, os.WriteFile(p, tc.data, 0o644))
			_, err := Open(p)
			require.ErrorIs(t, err, errCorrupt)
			assert.ErrorContains(t, err, tc.want)
			assert.ErrorContains(t, err, p)
		})
	}
	// A clock corrupted while open gives errors, not a panic.
	e, d := newEmulated(t, EmulatedConfig{})
	f, err := os.OpenFile(e.Path(), os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte{9}, 8)
	require.NoError(t, err)
	_, err = d.Now()
	assert.ErrorIs(t, err, errCorrupt)
	// Truncated under the mapping: the fault is an error too.
	require.NoError(t, f.Truncate(0))
	f.Close()
	_, err = d.Now()
	assert.ErrorIs(t, err, errCorrupt)
	_, err = e.TrueError()
	assert.Error(t, err)
}

// FuzzEmulatedState: whatever a state file holds, checking it and then
// running every request on it never panics.
func FuzzEmulatedState(f *testing.F) {
	s, buf, err := DefaultEmulatedConfig().state(1e9, 1.7e18)
	if err != nil {
		f.Fatal(err)
	}
	s.ExtTS[0] = ptpEnableFeature | ptpRisingEdge
	s.push(emuEvent{T: 5})
	good := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), emuStateSize)
	f.Add(bytes.Clone(good), int64(2e9))
	f.Add(good[:40], int64(0))
	f.Add([]byte(emuMagic), int64(-1))
	f.Fuzz(func(t *testing.T, data []byte, m int64) {
		words := make([]uint64, (len(data)+7)/8+1)
		b := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(data))
		copy(b, data)
		s, err := stateOf(b)
		if err != nil {
			return
		}
		s.advance(m)
		_ = s.atNs(m)
		var caps ptpClockCaps
		_ = s.ioctl(iocPtpClockGetcaps2, unsafe.Pointer(&caps), m, 0)
		for i := range uint32(emuMaxPins + 1) {
			pd := ptpPinDesc{Index: i}
			_ = s.ioctl(iocPtpPinGetfunc2, unsafe.Pointer(&pd), m, 0)
			_ = s.setPin(i%max(s.NPins, 1), PinFunction(i%4), i%3)
			_, _ = s.inject(i, RisingEdge, m)
			r := ptpExttsRequest{Index: i, Flags: ptpEnableFeature | ptpFallingEdge}
			_ = s.ioctl(iocPtpExttsRequest2, unsafe.Pointer(&r), m, 0)
			pr := ptpPeroutRequest{Index: i, Period: ptpClockTime{Sec: 1}}
			_ = s.ioctl(iocPtpPeroutRequest2, unsafe.Pointer(&pr), m, 0)
		}
		ev := make([]byte, 4*exttsEventLen)
		_ = s.pop(ev)
		for _, tx := range []unix.Timex{{}, {Modes: unix.ADJ_FREQUENCY, Freq: int64(m)}, {Modes: unix.ADJ_SETOFFSET, Time: unix.Timeval{Sec: m, Usec: 5}}} {
			_ = s.adjtime(&tx, m)
		}
	})
}

// BenchmarkEmulatedNow: a read of the emulated PHC (mutex, flock, mapped
// state), next to BenchmarkNow's clocks.
func BenchmarkEmulatedNow(b *testing.B) {
	e, err := CreateEmulated(filepath.Join(b.TempDir(), "ptp0"), DefaultEmulatedConfig())
	require.NoError(b, err)
	defer e.Close()
	d, err := Open(e.Path())
	require.NoError(b, err)
	defer d.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Now(); err != nil {
			b.Fatal(err)
		}
	}
}
