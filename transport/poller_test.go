package transport

import (
	"testing"
	"time"
	"unsafe"

	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// mono is CLOCK_MONOTONIC in ns, the poller's timebase, read with a raw
// system call so that TestPollerWakesOneThread counts the poller's calls
// alone.
func mono() int64 {
	var ts unix.Timespec
	_, _, _ = unix.RawSyscall(unix.SYS_CLOCK_GETTIME, unix.CLOCK_MONOTONIC, uintptr(unsafe.Pointer(&ts)), 0)
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
// tagged.
func TestPoller(t *testing.T) {
	p, err := NewPoller(4)
	require.NoError(t, err)
	defer p.Close()
	wait := func() []int32 {
		t.Helper()
		evs, err := p.Wait()
		require.NoError(t, err)
		return tags(evs)
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

	// A descriptor of the caller's, level-triggered: reported until it
	// is read.
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

	p2, err := NewPoller(1)
	require.NoError(t, err)
	p2.Close()
	p2.Wake() // after Close: nothing, and no panic
}

// TestPollerHold: Hold sleeps to its deadline although a descriptor of
// the caller's is ready, and ends early on Wake, which the next Wait
// still reports; the loop's own deadline, armed again, still fires.
func TestPollerHold(t *testing.T) {
	p, err := NewPoller(4)
	require.NoError(t, err)
	defer p.Close()
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	require.NoError(t, err)
	defer unix.Close(efd)
	require.NoError(t, p.Add(efd, 3))
	_, err = unix.Write(efd, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	require.NoError(t, err)
	wait := func() []int32 {
		t.Helper()
		evs, err := p.Wait()
		require.NoError(t, err)
		return tags(evs)
	}

	// Ready descriptor, no wake-up: Hold lasts its 30 ms.
	start := mono()
	require.NoError(t, p.Hold(start+30e6, start))
	assert.GreaterOrEqual(t, mono()-start, int64(30e6), "held to the deadline")
	// The loop arms its own deadline (far) and finds the descriptor,
	// and not the hold's timer, which Arm cleared.
	now := mono()
	require.NoError(t, p.Arm(now+10e9, now))
	assert.Equal(t, []int32{3}, wait())

	// A wake-up ends the hold early and is reported by the next Wait.
	start = mono()
	go func() { time.Sleep(20 * time.Millisecond); p.Wake() }()
	require.NoError(t, p.Hold(start+5e9, start))
	held := mono() - start
	assert.GreaterOrEqual(t, held, int64(20e6))
	assert.Less(t, held, int64(2e9), "Wake ends the hold")
	now = mono()
	require.NoError(t, p.Arm(now+10e9, now))
	assert.ElementsMatch(t, []int32{3, TagWake}, wait())

	// A past deadline holds nothing.
	start = mono()
	require.NoError(t, p.Hold(start-1, start))
	assert.Less(t, mono()-start, int64(5e6))

	// Input on a quiet descriptor (tag ≤ TagUser: the management
	// socket) ends the hold; the Wait reports it.
	qfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	require.NoError(t, err)
	defer unix.Close(qfd)
	require.NoError(t, p.Add(qfd, TagUser))
	start = mono()
	go func() {
		time.Sleep(20 * time.Millisecond)
		_, _ = unix.Write(qfd, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	}()
	require.NoError(t, p.Hold(start+5e9, start))
	assert.Less(t, mono()-start, int64(2e9), "the quiet descriptor ends the hold")
	now = mono()
	require.NoError(t, p.Arm(now+10e9, now))
	assert.ElementsMatch(t, []int32{3, TagUser}, wait())
	var b [8]byte
	_, err = unix.Read(qfd, b[:])
	require.NoError(t, err)

	// A hold whose deadline is the loop's own: the timer fired in the
	// hold, and the loop's Arm of that same deadline sets it again, so
	// the Wait reports the timer.
	start = mono()
	require.NoError(t, p.Hold(start+10e6, start))
	require.NoError(t, p.Arm(start+10e6, mono()))
	assert.ElementsMatch(t, []int32{3, TagTimer}, wait())
}

// TestPollerWakesOneThread: a loop on the Poller, woken by its deadline
// 300 times, puts one thread to sleep per wake-up and leaves the runtime's
// sysmon asleep. A system call made through syscall.Syscall on the way
// (timerfd_settime, the zero-timeout epoll_pwait) wakes sysmon each time
// and shows here as two more sleeps per wake-up.
func TestPollerWakesOneThread(t *testing.T) {
	p, err := NewPoller(1)
	require.NoError(t, err)
	defer p.Close()
	const wakes = 300
	loop := func() {
		for range wakes {
			now := mono()
			if err := p.Arm(now+1e6, now); err != nil {
				panic(err)
			}
			for {
				evs, err := p.Wait()
				if err != nil {
					panic(err)
				}
				if len(evs) > 0 && evs[0].Fd == TagTimer {
					break
				}
			}
		}
	}
	loop() // warm up: threads started, the runtime's poller set up
	before := testenv.ThreadSleeps(t)
	done := make(chan struct{})
	go func() { loop(); close(done) }()
	<-done
	sleeps := testenv.ThreadSleeps(t) - before
	t.Logf("%d wake-ups, %d thread sleeps", wakes, sleeps)
	assert.Less(t, sleeps, int64(wakes*3/2), "more than one thread woke per wake-up")
}

// BenchmarkPollerWake is one wake-up found without parking: Wake, Wait,
// Arm (the loop's work per message, less the message).
func BenchmarkPollerWake(b *testing.B) {
	p, err := NewPoller(1)
	require.NoError(b, err)
	defer p.Close()
	b.ReportAllocs()
	for b.Loop() {
		p.Wake()
		if _, err := p.Wait(); err != nil {
			b.Fatal(err)
		}
		_ = p.Arm(0, 0)
	}
}
