package transport

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// mono is CLOCK_MONOTONIC in ns, the poller's timebase.
func mono() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

func tags(evs []unix.EpollEvent) []int32 {
	var out []int32
	for _, e := range evs {
		out = append(out, e.Fd)
	}
	return out
}

// TestPoller: deadlines, wake-ups and the caller's descriptors come back
// tagged, waiting on the runtime's poller and in the kernel alike.
func TestPoller(t *testing.T) {
	for _, kernel := range []bool{false, true} {
		name := "runtime poller"
		if kernel {
			name = "kernel"
		}
		t.Run(name, func(t *testing.T) {
			p, err := NewPoller(4)
			require.NoError(t, err)
			defer p.Close()
			wait := func() []int32 {
				t.Helper()
				for {
					evs, err := p.Wait(kernel)
					require.NoError(t, err)
					if len(evs) > 0 { // none: a signal interrupted the wait
						return tags(evs)
					}
				}
			}

			// A deadline 20 ms ahead.
			start := mono()
			require.NoError(t, p.Arm(start+20e6, start))
			assert.Equal(t, []int32{TagTimer}, wait())
			assert.GreaterOrEqual(t, mono()-start, int64(20e6), "not before the deadline")

			// Disarmed, the timer stays quiet: only the wake-up comes.
			require.NoError(t, p.Arm(0, mono()))
			go func() { time.Sleep(50 * time.Millisecond); p.Wake() }()
			assert.Equal(t, []int32{TagWake}, wait())

			// A descriptor of the caller's, level-triggered: reported
			// until it is read.
			efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
			require.NoError(t, err)
			defer unix.Close(efd)
			require.NoError(t, p.Add(efd, 7))
			_, err = unix.Write(efd, []byte{1, 0, 0, 0, 0, 0, 0, 0})
			require.NoError(t, err)
			assert.Equal(t, []int32{7}, wait())
			assert.Equal(t, []int32{7}, wait(), "still there until read")
			var b [8]byte
			_, err = unix.Read(efd, b[:])
			require.NoError(t, err)
			go func() { time.Sleep(20 * time.Millisecond); p.Wake() }()
			assert.Equal(t, []int32{TagWake}, wait())

			assert.ErrorContains(t, p.Add(efd, TagTimer), "reserved")
		})
	}
	p, err := NewPoller(1)
	require.NoError(t, err)
	p.Close()
	p.Wake() // after Close: nothing, and no panic
}

// BenchmarkPollerWake is one wake-up through the kernel wait: Wake, Wait,
// Arm (the loop's work per message, less the message).
func BenchmarkPollerWake(b *testing.B) {
	p, err := NewPoller(1)
	require.NoError(b, err)
	defer p.Close()
	b.ReportAllocs()
	for b.Loop() {
		p.Wake()
		if _, err := p.Wait(true); err != nil {
			b.Fatal(err)
		}
		_ = p.Arm(0, 0)
	}
}
