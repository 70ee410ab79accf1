package tod

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// openPTY opens a new pseudo-terminal and returns its master side and the
// path of its slave, the "serial device" a reader opens. Both close when
// the test ends.
func openPTY(t *testing.T) (master *os.File, slave string) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	require.NoError(t, err, "opening /dev/ptmx")
	master = os.NewFile(uintptr(fd), "/dev/ptmx")
	t.Cleanup(func() { master.Close() })
	// The slave stays locked until the master unlocks it (unlockpt(3)).
	require.NoError(t, unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0), "TIOCSPTLCK")
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	require.NoError(t, err, "TIOCGPTN")
	return master, fmt.Sprintf("/dev/pts/%d", n)
}

// slaveTermios reads the line settings of a pty's slave side through a
// descriptor of its own.
func slaveTermios(t *testing.T, path string) unix.Termios {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(fd)
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	require.NoError(t, err)
	return *tio
}

// nmeaLine makes a sentence of body ("GPRMC,...") with its checksum and
// CR LF.
func nmeaLine(body string) string {
	var sum byte
	for i := 0; i < len(body); i++ {
		sum ^= body[i]
	}
	return fmt.Sprintf("$%s*%02X\r\n", body, sum)
}

// running is a reader running in the background with its reports on a
// channel; the test ends it and checks that Run returned nil.
type running struct {
	reports chan Report
}

func start(t *testing.T, r Reader) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	run := &running{reports: make(chan Report, 1000)}
	var wg sync.WaitGroup
	var err error
	wg.Add(1)
	go func() {
		defer wg.Done()
		err = r.Run(ctx, func(rep Report) { run.reports <- rep })
	}()
	t.Cleanup(func() {
		cancel()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return 5 s after its context ended")
		}
		r.Close()
	})
	return run
}

// next waits for the next report.
func (r *running) next(t *testing.T) Report {
	t.Helper()
	select {
	case rep := <-r.reports:
		return rep
	case <-time.After(10 * time.Second):
		t.Fatal("no report within 10 s")
	}
	return Report{}
}

// none asserts that no report comes for a while.
func (r *running) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case rep := <-r.reports:
		t.Fatalf("unexpected report %+v", rep)
	case <-time.After(d):
	}
}

// eventually waits until cond holds, for counters that settle after the
// reports.
func eventually(t *testing.T, cond func() bool, what string) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, 5*time.Millisecond, what)
}
