package phc

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// newEmulatedPPS creates an emulated PPS source in a temporary directory
// and opens it as a daemon would open /dev/ppsN.
func newEmulatedPPS(t *testing.T) (*EmulatedPPS, *PPS) {
	t.Helper()
	e, err := CreateEmulatedPPS(filepath.Join(t.TempDir(), "pps0"))
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	p, err := OpenPPS(e.Path())
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return e, p
}

// A pulse's CLOCK_REALTIME time in the tests: 2024-06-30 12:00:00.
const ppsT0 = int64(1_719_748_800) * 1e9

func TestEmulatedPPSCapsAndParams(t *testing.T) {
	_, p := newEmulatedPPS(t)
	caps, err := p.Caps()
	require.NoError(t, err)
	assert.Equal(t, int32(PPSCaptureAssert|PPSCaptureClear|PPSOffsetAssert|PPSOffsetClear|PPSCanWait|PPSTsfmtTspec), caps)
	pp, err := p.Params()
	require.NoError(t, err)
	assert.Equal(t, PPSParams{Mode: PPSCaptureAssert | PPSOffsetAssert}, pp, "pps-gpio's defaults: assert only")

	for _, tc := range []struct {
		name string
		set  PPSParams
		want PPSParams // read back; zero with err
		err  error
	}{
		{"no capture mode", PPSParams{Mode: PPSOffsetAssert}, PPSParams{}, unix.EINVAL},
		{"echo is no capability", PPSParams{Mode: PPSCaptureAssert | PPSEchoAssert}, PPSParams{}, unix.EINVAL},
		{"NTP format is no capability", PPSParams{Mode: PPSCaptureAssert | PPSTsfmtNtpfp}, PPSParams{}, unix.EINVAL},
		{"both edges get timespec and canwait", PPSParams{Mode: PPSCaptureAssert | PPSCaptureClear},
			PPSParams{Mode: PPSCaptureAssert | PPSCaptureClear | PPSTsfmtTspec | PPSCanWait}, nil},
		{"offsets kept as set", PPSParams{Mode: PPSCaptureClear | PPSOffsetClear, AssertOffset: 3 * time.Second, ClearOffset: -1500 * time.Millisecond},
			PPSParams{Mode: PPSCaptureClear | PPSOffsetClear | PPSTsfmtTspec | PPSCanWait, AssertOffset: 3 * time.Second, ClearOffset: -1500 * time.Millisecond}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, err := p.Params()
			require.NoError(t, err)
			err = p.SetParams(tc.set)
			after, err2 := p.Params()
			require.NoError(t, err2)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				assert.Contains(t, err.Error(), "PPS_SETPARAMS")
				assert.Equal(t, before, after, "a refused request changes nothing")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, after)
		})
	}
}

// edge is an edge a test presents: assert (true) or clear at rt.
type edge struct {
	assert bool
	rt     int64
}

func TestEmulatedPPSFetch(t *testing.T) {
	ms := int64(time.Millisecond)
	for _, tc := range []struct {
		name     string
		params   *PPSParams // nil: the defaults
		edges    []edge
		captured []bool
		want     PPSEvent
	}{
		{"defaults capture assert only", nil,
			[]edge{{true, ppsT0}, {false, ppsT0 + 100*ms}, {true, ppsT0 + 1e9 + 7}},
			[]bool{true, false, true},
			PPSEvent{AssertSequence: 2, Assert: ppsT0 + 1e9 + 7, Mode: PPSCaptureAssert | PPSOffsetAssert}},
		{"both edges", &PPSParams{Mode: PPSCaptureAssert | PPSCaptureClear},
			[]edge{{true, ppsT0}, {false, ppsT0 + 100*ms}, {true, ppsT0 + 1e9}},
			[]bool{true, true, true},
			PPSEvent{AssertSequence: 2, Assert: ppsT0 + 1e9, ClearSequence: 1, Clear: ppsT0 + 100*ms,
				Mode: PPSCaptureAssert | PPSCaptureClear | PPSTsfmtTspec | PPSCanWait}},
		{"clear only", &PPSParams{Mode: PPSCaptureClear},
			[]edge{{true, ppsT0}, {false, ppsT0 + 100*ms}},
			[]bool{false, true},
			PPSEvent{ClearSequence: 1, Clear: ppsT0 + 100*ms, Mode: PPSCaptureClear | PPSTsfmtTspec | PPSCanWait}},
		{"assert offset applied", &PPSParams{Mode: PPSCaptureAssert | PPSOffsetAssert, AssertOffset: -1500 * time.Microsecond},
			[]edge{{true, ppsT0 + 200}},
			[]bool{true},
			PPSEvent{AssertSequence: 1, Assert: ppsT0 + 200 - 1_500_000, Mode: PPSCaptureAssert | PPSOffsetAssert | PPSTsfmtTspec | PPSCanWait}},
		{"assert offset without PPS_OFFSETASSERT ignored", &PPSParams{Mode: PPSCaptureAssert, AssertOffset: time.Millisecond},
			[]edge{{true, ppsT0 + 5}},
			[]bool{true},
			PPSEvent{AssertSequence: 1, Assert: ppsT0 + 5, Mode: PPSCaptureAssert | PPSTsfmtTspec | PPSCanWait}},
		{"offsets over a second carry", &PPSParams{Mode: PPSCaptureAssert | PPSCaptureClear | PPSOffsetAssert | PPSOffsetClear,
			AssertOffset: 2*time.Second + 999_999_999, ClearOffset: -time.Second - 1},
			[]edge{{true, ppsT0 + 1}, {false, ppsT0}},
			[]bool{true, true},
			PPSEvent{AssertSequence: 1, Assert: ppsT0 + 3e9, ClearSequence: 1, Clear: ppsT0 - 1e9 - 1,
				Mode: PPSCaptureAssert | PPSCaptureClear | PPSOffsetAssert | PPSOffsetClear | PPSTsfmtTspec | PPSCanWait}},
		{"an edge before 1970", nil,
			[]edge{{true, -1_500_000_000}},
			[]bool{true},
			PPSEvent{AssertSequence: 1, Assert: -1_500_000_000, Mode: PPSCaptureAssert | PPSOffsetAssert}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, p := newEmulatedPPS(t)
			if tc.params != nil {
				require.NoError(t, p.SetParams(*tc.params))
			}
			for i, ed := range tc.edges {
				present := e.Clear
				if ed.assert {
					present = e.Assert
				}
				ok, err := present(ed.rt)
				require.NoError(t, err)
				assert.Equal(t, tc.captured[i], ok, "edge %d", i)
			}
			got, err := p.Fetch(0)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			a, c, err := e.Presented()
			require.NoError(t, err)
			assert.Equal(t, uint64(len(tc.edges)), a+c)
		})
	}
}

func TestEmulatedPPSFetchTimeout(t *testing.T) {
	e, p := newEmulatedPPS(t)
	_, err := e.Assert(ppsT0)
	require.NoError(t, err)

	// Less than a jiffy does not wait, and returns the latest edges.
	for _, timeout := range []time.Duration{0, 3 * time.Millisecond} {
		start := time.Now()
		got, err := p.Fetch(timeout)
		require.NoError(t, err, "timeout %v", timeout)
		assert.Equal(t, uint32(1), got.AssertSequence)
		assert.Less(t, time.Since(start), time.Second)
	}

	// Nothing new within the timeout: ETIMEDOUT, after the timeout.
	start := time.Now()
	_, err = p.Fetch(20 * time.Millisecond)
	require.ErrorIs(t, err, unix.ETIMEDOUT)
	assert.Contains(t, err.Error(), "no pulse within 20ms")
	assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)

	// A pulse while a fetch waits ends the wait, with or without a
	// timeout; a clear edge the mode does not capture does not.
	for _, timeout := range []time.Duration{-1, 10 * time.Second} {
		done := make(chan PPSEvent, 1)
		go func() {
			ev, err := p.Fetch(timeout)
			assert.NoError(t, err)
			done <- ev
		}()
		time.Sleep(5 * time.Millisecond)
		_, err := e.Clear(ppsT0 + 5e8)
		require.NoError(t, err)
		select {
		case <-done:
			t.Fatal("an uncaptured clear edge ended the wait")
		case <-time.After(20 * time.Millisecond):
		}
		_, err = e.Assert(ppsT0 + 1e9)
		require.NoError(t, err)
		select {
		case ev := <-done:
			assert.Equal(t, ppsT0+1e9, ev.Assert)
		case <-time.After(5 * time.Second):
			t.Fatal("the pulse did not end the wait")
		}
		_, err = e.Assert(ppsT0 + 2e9) // the next loop waits for another
		require.NoError(t, err)
	}

	// A fetch waiting forever ends when its source is closed.
	done := make(chan error, 1)
	go func() { _, err := p.Fetch(-1); done <- err }()
	time.Sleep(5 * time.Millisecond)
	require.NoError(t, p.Close())
	select {
	case err := <-done:
		assert.ErrorIs(t, err, unix.EBADF)
	case <-time.After(5 * time.Second):
		t.Fatal("closing the source did not end the wait")
	}
}

// TestEmulatedPPSShared: two handles on one state file, as a daemon and
// the pulse's source in two processes hold them, see one source.
func TestEmulatedPPSShared(t *testing.T) {
	e, p := newEmulatedPPS(t)
	e2, err := OpenEmulatedPPS(e.Path())
	require.NoError(t, err)
	defer e2.Close()
	p2, err := OpenPPS(e.Path())
	require.NoError(t, err)
	defer p2.Close()

	require.NoError(t, p2.SetParams(PPSParams{Mode: PPSCaptureAssert | PPSCaptureClear}))
	pp, err := p.Params()
	require.NoError(t, err)
	assert.Equal(t, int32(PPSCaptureAssert|PPSCaptureClear|PPSTsfmtTspec|PPSCanWait), pp.Mode, "p reads what p2 set")
	for i := range int64(3) {
		_, err := e.Assert(ppsT0 + i*1e9)
		require.NoError(t, err)
		_, err = e2.Clear(ppsT0 + i*1e9 + 1e8)
		require.NoError(t, err)
	}
	for _, src := range []*PPS{p, p2} {
		got, err := src.Fetch(0)
		require.NoError(t, err)
		assert.Equal(t, uint32(3), got.AssertSequence)
		assert.Equal(t, uint32(3), got.ClearSequence)
		assert.Equal(t, ppsT0+2e9, got.Assert)
		assert.Equal(t, ppsT0+2e9+1e8, got.Clear)
	}
}

// TestEmulatedPPSSharedProcess: a pulse presented by another process ends
// this one's wait, and carries its timestamp across.
func TestEmulatedPPSSharedProcess(t *testing.T) {
	_, p := newEmulatedPPS(t)
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "ROKO_EMUPPS_CHILD="+p.path)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	// The child pulses until its input closes, so this wait cannot miss
	// every pulse however the two processes are scheduled.
	ev, err := p.Fetch(10 * time.Second)
	require.NoError(t, err)
	ev2, err := p.Fetch(10 * time.Second)
	require.NoError(t, err)
	require.NoError(t, stdin.Close())
	require.NoError(t, cmd.Wait(), "%s", out.String())
	for _, e := range []PPSEvent{ev, ev2} {
		require.GreaterOrEqual(t, e.AssertSequence, uint32(1))
		assert.Equal(t, ppsT0+int64(e.AssertSequence-1)*1e9, e.Assert)
		assert.Equal(t, int32(PPSCaptureAssert|PPSOffsetAssert), e.Mode)
	}
	assert.Greater(t, ev2.AssertSequence, ev.AssertSequence)
}

// emulatedPPSChild is TestEmulatedPPSSharedProcess's second process: it
// presents a pulse every millisecond, each stamped a second after the
// last, until its standard input closes.
func emulatedPPSChild(path string) error {
	e, err := OpenEmulatedPPS(path)
	if err != nil {
		return err
	}
	defer e.Close()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	for i := int64(0); ; i++ {
		if ok, err := e.Assert(ppsT0 + i*1e9); err != nil || !ok {
			return errors.Join(err, errors.New("the pulse was not captured"))
		}
		select {
		case <-done:
			return nil
		case <-time.After(time.Millisecond):
		}
	}
}

// TestEmulatedPPSStateLayout pins the version 1 state file, which
// processes built at different commits share.
func TestEmulatedPPSStateLayout(t *testing.T) {
	var s emuPPSState
	assert.Equal(t, 128, emuPPSStateSize)
	for _, tc := range []struct {
		field string
		got   uintptr
		want  uintptr
	}{
		{"Version", unsafe.Offsetof(s.Version), 8},
		{"Size", unsafe.Offsetof(s.Size), 12},
		{"Caps", unsafe.Offsetof(s.Caps), 16},
		{"Params", unsafe.Offsetof(s.Params), 24},
		{"AssertSeq", unsafe.Offsetof(s.AssertSeq), 64},
		{"AssertTu", unsafe.Offsetof(s.AssertTu), 72},
		{"ClearTu", unsafe.Offsetof(s.ClearTu), 88},
		{"CurrentMode", unsafe.Offsetof(s.CurrentMode), 104},
		{"LastEv", unsafe.Offsetof(s.LastEv), 108},
		{"Asserts", unsafe.Offsetof(s.Asserts), 112},
		{"Clears", unsafe.Offsetof(s.Clears), 120},
	} {
		assert.Equal(t, tc.want, tc.got, tc.field)
	}
}

func TestEmulatedPPSBadFiles(t *testing.T) {
	dir := t.TempDir()
	good := newPPSState()
	goodBytes := unsafe.Slice((*byte)(unsafe.Pointer(&good[0])), emuPPSStateSize)
	phcFile := filepath.Join(dir, "ptp0")
	e, err := CreateEmulated(phcFile, EmulatedConfig{})
	require.NoError(t, err)
	e.Close()
	for _, tc := range []struct {
		name string
		data []byte
		path string // instead of data
		want string
	}{
		{"empty", nil, "", "0 bytes: not an emulated PPS source state file"},
		{"no magic", bytes.Repeat([]byte{'x'}, emuPPSStateSize), "", "no \"RokoPPS\" magic"},
		{"an emulated PHC", nil, phcFile, "not an emulated PPS state file"},
		{"another version", func() []byte {
			b := bytes.Clone(goodBytes)
			b[8] = 9
			return b
		}(), "", "format version 9, this build reads version 1"},
		{"truncated", goodBytes[:100], "", "100 bytes (header says 128)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = filepath.Join(dir, "pps-"+tc.name)
				require.NoError(t, os.WriteFile(path, tc.data, 0o644))
			}
			_, err := OpenPPS(path)
			require.ErrorIs(t, err, errCorrupt)
			assert.Contains(t, err.Error(), tc.want)
			_, err = OpenEmulatedPPS(path)
			require.ErrorIs(t, err, errCorrupt)
		})
	}
	p, err := OpenPPS(dir)
	if err == nil {
		p.Close()
	}
	assert.Error(t, err, "a directory is no PPS source")
}

// FuzzPPSState: whatever a state file holds, every request on it and
// every edge presented never panics, and a captured edge carries exactly
// its time plus the offset.
func FuzzPPSState(f *testing.F) {
	good := newPPSState()
	f.Add(bytes.Clone(unsafe.Slice((*byte)(unsafe.Pointer(&good[0])), emuPPSStateSize)), int64(ppsT0), int64(-1500))
	f.Add([]byte(emuPPSMagic), int64(0), int64(0))
	f.Fuzz(func(t *testing.T, data []byte, rt, off int64) {
		words := make([]uint64, (len(data)+7)/8+1)
		b := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(data))
		copy(b, data)
		s, err := ppsStateOf(b)
		if err != nil {
			return
		}
		rt %= 1 << 60
		off %= 1 << 40
		_ = s.setParams(ppsKparams{Mode: int32(off)})
		_ = s.event(rt, PPSCaptureClear)
		mode := int32(PPSCaptureAssert | PPSOffsetAssert)
		if s.setParams(ppsKparams{Mode: mode, AssertOffTu: nsKtime(time.Duration(off))}) != nil {
			return // not this source's capabilities
		}
		require.True(t, s.event(rt, PPSCaptureAssert))
		assert.Equal(t, rt+off, ktimeNs(s.AssertTu))
		assert.True(t, s.AssertTu.Nsec >= 0 && s.AssertTu.Nsec < 1e9)
	})
}
