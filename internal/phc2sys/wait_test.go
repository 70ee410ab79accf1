package phc2sys

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/linuxptp"
	"github.com/roko-network/roko-ptpd/internal/mgmt"
	"github.com/roko-network/roko-ptpd/internal/netns"
	"github.com/roko-network/roko-ptpd/internal/ptpd"
	"github.com/roko-network/roko-ptpd/internal/ptplog"
	"github.com/roko-network/roko-ptpd/ptp"
)

// TestWaitForDaemon: -w waits while the daemon has no port in SLAVE or
// MASTER, then returns its time properties, against roko-ptpd and against
// linuxptp's ptp4l (each a lone grandmaster in a namespace, which takes
// its announce receipt timeout to become MASTER).
func TestWaitForDaemon(t *testing.T) {
	for _, daemon := range []string{"roko-ptpd", "ptp4l"} {
		t.Run(daemon, func(t *testing.T) {
			t.Parallel()
			ns := netns.New(t)
			l, _ := netns.Veth(t, ns, "198.18.0.1", netns.New(t), "198.18.0.2")
			dir := t.TempDir()
			uds := filepath.Join(dir, "ptp4l")
			start := time.Now()
			if daemon == "ptp4l" {
				uds = linuxptp.StartPTP4L(t, l, linuxptp.Options{Flags: []string{"-4"}, Config: "announceReceiptTimeout 4\n"}).UDS
			} else {
				cmd, err := ptpd.ParseArgs([]string{"-i", l.Name, "-S", "-q", "--virtual_clock=1", "--announceReceiptTimeout=4", "--logAnnounceInterval=-2",
					"--uds_address=" + uds, "--uds_ro_address=" + uds + "ro"})
				require.NoError(t, err)
				set, err := cmd.Config.Resolve()
				require.NoError(t, err)
				var d *ptpd.Daemon
				require.NoError(t, ns.Do(func() error {
					var err error
					d, err = ptpd.New(ptpd.Options{Settings: set, Log: ptplog.New("roko-ptpd", 6, "", nil, nil)})
					return err
				}))
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() { defer close(done); _ = d.Run(ctx) }()
				t.Cleanup(func() { cancel(); <-done; d.Close() })
			}
			for i := 0; i < 50; i++ {
				if _, err := os.Stat(uds); err == nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			waited := false
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			tp, err := WaitForDaemon(ctx, mgmt.Config{Server: uds}, func(int, string, ...any) { waited = true })
			require.NoError(t, err)
			t.Logf("%s synchronised (MASTER) after %v", daemon, time.Since(start).Round(time.Millisecond))
			assert.True(t, waited, "it waited while the daemon was LISTENING")
			assert.Equal(t, int16(37), tp.CurrentUTCOffset, "the UTC offset, from the daemon")
			assert.Zero(t, tp.Flags&ptp.TimePropertiesPTPTimescale, "a software clock serves the arbitrary timescale")
		})
	}
}
