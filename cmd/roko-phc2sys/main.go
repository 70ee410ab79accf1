// Command roko-phc2sys keeps one clock on another, as linuxptp's phc2sys
// does, with its command line and log lines:
//
//	roko-phc2sys -s eth0 -c CLOCK_REALTIME -w -O 0 -R 256 -u 10
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/roko-network/roko-ptpd/internal/mgmt"
	"github.com/roko-network/roko-ptpd/internal/phc2sys"
	"github.com/roko-network/roko-ptpd/internal/ptplog"
	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
	"github.com/roko-network/roko-ptpd/servo"
)

const usage = `usage: %s [options]

 -a             automatic mode: follow the daemon's port states (SUBSCRIBE_EVENTS_NP);
                the clock of the SLAVE port is the source, those of the others targets
 -r             with -a: keep CLOCK_REALTIME on the source too; -rr: it may be the
                source when no port is SLAVE (a grandmaster serving the system time)
 --emulated=DIR with -a: the ports' PHCs are roko-ptpd's emulated ones in DIR
                (emulated_hardware_dir), for machines without PTP hardware
 --metrics_address=HOST:PORT
                serve Prometheus metrics at http://HOST:PORT/metrics (default: none)
 -s [dev|name]  source clock (a PHC device, an interface's PHC, or CLOCK_REALTIME)
 -c [dev|name]  target clock (default CLOCK_REALTIME)
 -d [dev]       PPS source (/dev/ppsN) for CLOCK_REALTIME; with -s the PHC gives the
                whole seconds, without it the system clock must be within 0.5 s
 -w             wait until the PTP daemon is synchronised (over its UNIX socket)
 -O [offset]    target = source + offset seconds (default: from the daemon with -w)
 -R [rate]      updates per second (default 1)
 -N [num]       readings per update (default 5)
 -u [num]       updates per summary line (default 0: a line per update)
 -E [pi|linreg] clock servo (default pi)
 -P [kp] -I [ki] PI constants (default 0.7, 0.3)
 -S [step]      step threshold, seconds (default 0: never)
 -F [step]      first step threshold, seconds (default 0.00002)
 -L [limit]     sanity frequency limit, ppb (default 200000000)
 -n [num]       domain number (default 0)
 -z [path]      the daemon's UNIX socket (default /var/run/ptp4l)
 -f [file]      configuration file: its [global] uds_address, domainNumber and
                sa_file, spp, active_key_id (requests to the daemon signed and answers
                authenticated, for a socket that [global] spp protects); -z, -n win
 -m             print messages to stdout
 -q             do not print messages to the syslog
 -l [num]       logging level (default 6)
 -h, -v         help, version
`

func main() {
	prog := filepath.Base(os.Args[0])
	o, err := phc2sys.Parse(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
		os.Exit(2)
	}
	if o.Help {
		fmt.Printf(usage, prog)
		return
	}
	if o.Version {
		fmt.Println("0.1.0-dev")
		return
	}
	var stdout *os.File
	if o.Print {
		stdout = os.Stdout
	}
	log := ptplog.New(prog, o.Level, "", nil, os.Stderr)
	if stdout != nil {
		log = ptplog.New(prog, o.Level, "", stdout, os.Stderr)
	}
	logf := func(level int, format string, args ...any) { log.Printf(engine.LogLevel(level), format, args...) }
	if err := run(o, logf); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
		os.Exit(1)
	}
}

func run(o *phc2sys.Options, logf phc2sys.Logf) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	daemon, err := o.Management()
	if err != nil {
		return err
	}
	var met *phc2sys.Metrics
	if o.MetricsAddress != "" {
		met = phc2sys.NewMetrics()
		srv, err := met.Serve(o.MetricsAddress, logf)
		if err != nil {
			return fmt.Errorf("--metrics_address: %w", err)
		}
		defer srv.Close()
	}
	if o.Auto {
		return runAuto(ctx, o, daemon, met, logf)
	}
	// Refuse at once rather than at the first adjustment, after -w.
	if o.Target == "CLOCK_REALTIME" {
		if err := phc.CheckSteerable("/proc/self/status"); err != nil {
			return fmt.Errorf("-c CLOCK_REALTIME: %w", err)
		}
	}
	dst, err := phc2sys.OpenClock(o.Target)
	if err != nil {
		return fmt.Errorf("-c: %w", err)
	}
	var src phc.Clock
	if o.Source != "" {
		if src, err = phc2sys.OpenClock(o.Source); err != nil {
			return fmt.Errorf("-s: %w", err)
		}
	}
	if o.PPS != "" {
		return runPPS(ctx, o, src, dst, met, logf)
	}
	offsetNs := int64(o.Offset * 1e9)
	if o.Wait {
		tp, err := phc2sys.WaitForDaemon(ctx, daemon, logf)
		if err != nil {
			return err
		}
		if !o.OffsetSet {
			offsetNs = phc2sys.SyncOffset(tp, o.Source, o.Target)
		}
		met.SetDaemon(nil, tp, true)
	}
	// Without -O the offset is the daemon's, asked again every minute as
	// phc2sys does, so that a leap second is taken up.
	followOffset := o.Wait && !o.OffsetSet
	asked := time.Now()
	sv, err := newServo(o, dst)
	if err != nil {
		return err
	}
	s := &phc2sys.Syncer{Source: src, Target: dst, Servo: sv, Readings: o.Readings, OffsetNs: offsetNs,
		Metrics: met.Sink(o.Source, o.Target)}
	met.SetActive(s.Metrics)
	sanity := servo.NewSanity(float64(o.SanityLimit))
	// The sanity check compares the target with the monotonic clock, which
	// nobody steers the way we steer the target.
	mono := time.Now()
	report := phc2sys.Reporter{Logf: logf, Target: dst.Name(), Label: phc2sys.Label(o.Source), Every: o.Summary}
	first := true
	tk := time.NewTicker(time.Duration(float64(time.Second) / o.Rate))
	defer tk.Stop()
	for {
		if followOffset && time.Since(asked) >= time.Minute {
			asked = time.Now()
			if off, err := phc2sys.DaemonSyncOffset(daemon, o.Source, o.Target); err != nil {
				logf(4, "asking the daemon for the UTC offset: %v", err)
			} else if off != s.OffsetNs {
				logf(5, "the daemon's UTC offset changed: %s now reads %+d ns from %s", dst.Name(), off, src.Name())
				s.OffsetNs = off
			}
		}
		smp, err := s.Update()
		if err != nil {
			return err
		}
		if first {
			logf(6, "%s: offset measured by the %s method", dst.Name(), smp.Method)
			first = false
		}
		if smp.State != servo.Unlocked {
			sanity.SetFrequency(smp.PPB)
		}
		if t, err := dst.Now(); err == nil {
			if err := sanity.Check(t.UnixNano(), int64(time.Since(mono))); err != nil {
				logf(4, "%v", err)
				s.Servo.Reset()
				sanity.Reset()
			}
		}
		report.Report(smp)
		select {
		case <-ctx.Done():
			return nil
		case <-tk.C:
		}
	}
}

// newServo returns the servo the flags ask for, behind the outlier filter,
// starting from the target's frequency.
func newServo(o *phc2sys.Options, dst phc.Clock) (servo.Servo, error) {
	freq, err := dst.Frequency()
	if err != nil {
		return nil, err
	}
	sv, err := servo.New(o.Servo, o.ServoConfig(dst.MaxFrequency()), freq)
	if err != nil {
		return nil, err
	}
	sv.SetSyncInterval(1 / o.Rate)
	return servo.NewFilter(sv, servo.DefaultFilterConfig()), nil
}

// runAuto is -a: the clocks come from the ports of the daemon that
// daemon asks.
func runAuto(ctx context.Context, o *phc2sys.Options, daemon mgmt.Config, met *phc2sys.Metrics, logf phc2sys.Logf) error {
	a := &phc2sys.Auto{
		RealtimeTarget: o.Realtime >= 1, RealtimeSource: o.Realtime >= 2,
		Readings: o.Readings, Logf: logf, Metrics: met,
		NewServo: func(dst phc.Clock) (servo.Servo, error) { return newServo(o, dst) },
		Resolve: func(p phc2sys.AutoPort) (phc.Clock, error) {
			if p.Timestamping == ptp.TimestampingSoftware {
				return nil, nil
			}
			if o.Emulated != "" {
				// roko-ptpd's emulated hardware: the PHC's state file is
				// named after the interface.
				return phc.Open(filepath.Join(o.Emulated, p.Interface))
			}
			return phc.OpenInterface(p.Interface)
		},
	}
	if a.RealtimeTarget {
		if err := phc.CheckSteerable("/proc/self/status"); err != nil {
			return fmt.Errorf("-r: %w", err)
		}
		rt, err := phc.NewSystem()
		if err != nil {
			return err
		}
		a.Realtime = rt
	}
	a.Redial = func() (*mgmt.Client, error) { return mgmt.Open(daemon) }
	defer func() {
		if a.Client != nil {
			a.Client.Close()
		}
	}()
	return a.Run(ctx, o.Rate)
}

// runPPS is -d: the system clock follows a pulse per second.
func runPPS(ctx context.Context, o *phc2sys.Options, src, dst phc.Clock, met *phc2sys.Metrics, logf phc2sys.Logf) error {
	pps, err := phc.OpenPPS(o.PPS)
	if err != nil {
		return fmt.Errorf("-d: %w", err)
	}
	defer pps.Close()
	sv, err := newServo(o, dst)
	if err != nil {
		return err
	}
	sv.SetSyncInterval(1) // a pulse a second, whatever -R says
	s := &phc2sys.PPSSyncer{PPS: pps, Target: dst, Source: src, Servo: sv, Readings: o.Readings, OffsetNs: int64(o.Offset * 1e9),
		Metrics: met.Sink(o.PPS, o.Target)}
	met.SetActive(s.Metrics)
	report := phc2sys.Reporter{Logf: logf, Target: dst.Name(), Label: "pps", Every: o.Summary}
	for ctx.Err() == nil {
		smp, err := s.Update()
		if errors.Is(err, phc2sys.ErrNoPulse) {
			logf(4, "%v", err) // the signal may come back
			continue
		}
		if err != nil {
			return err
		}
		report.Report(smp)
	}
	return nil
}
