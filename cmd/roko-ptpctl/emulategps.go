package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/roko-network/roko-ptpd/internal/getopt"
	"github.com/roko-network/roko-ptpd/internal/gpsemu"
	"github.com/roko-network/roko-ptpd/phc"
)

// emulateGPSCmd runs an emulated GPS receiver until SIGTERM or SIGINT:
// pulses into an emulated PHC's EXTTS channel and/or an emulated PPS
// source, NMEA on a pty (and TCP). It prints where the NMEA goes, one
// "nmea pty PATH" or "nmea tcp ADDR" line each, for a test to read.
func emulateGPSCmd(args []string, w io.Writer) error {
	var cfg gpsemu.Config
	var phcPath, ppsPath, link, tcpAddr string
	var channel uint64
	noFixAfter, lossAfter := -1, -1
	ns := func(v string) (time.Duration, error) {
		n, err := strconv.ParseInt(v, 10, 64)
		return time.Duration(n), err
	}
	err := getopt.Parse(args, getopt.Handlers{
		Long: func(name, v string) error {
			var err error
			switch name {
			case "phc":
				phcPath = v
				if p, ch, ok := strings.Cut(v, ":"); ok {
					phcPath = p
					channel, err = strconv.ParseUint(ch, 10, 32)
				}
			case "pps":
				ppsPath = v
			case "nmea-link":
				link = v
			case "nmea-tcp":
				tcpAddr = v
			case "jitter":
				cfg.Jitter, err = ns(v)
			case "sawtooth":
				cfg.Sawtooth, err = ns(v)
			case "cable-delay":
				cfg.CableDelay, err = ns(v)
			case "pulse-width":
				var ms int64
				ms, err = strconv.ParseInt(v, 10, 64)
				cfg.PulseWidth = time.Duration(ms) * time.Millisecond
			case "phase":
				var ms int64
				ms, err = strconv.ParseInt(v, 10, 64)
				cfg.Phase = time.Duration(ms) * time.Millisecond
			case "sentences":
				cfg.Sentences = nil
				for _, s := range strings.Split(v, ",") {
					cfg.Sentences = append(cfg.Sentences, strings.ToUpper(strings.TrimSpace(s)))
				}
			case "talker":
				cfg.Talker = v
			case "seed":
				cfg.Seed, err = strconv.ParseUint(v, 10, 64)
			case "time-offset":
				var s int64
				s, err = strconv.ParseInt(v, 10, 64)
				cfg.TimeOffset = time.Duration(s) * time.Second
			case "leap-day":
				var d time.Time
				d, err = time.Parse(time.DateOnly, v)
				cfg.LeapDays = append(cfg.LeapDays, d)
			case "no-fix-after":
				noFixAfter, err = strconv.Atoi(v)
			case "pulse-loss-after":
				lossAfter, err = strconv.Atoi(v)
			default:
				return fmt.Errorf("emulate-gps: unknown option --%s", name)
			}
			if err != nil {
				return fmt.Errorf("emulate-gps: --%s %q: %w", name, v, err)
			}
			return nil
		},
	})
	if err != nil {
		return err
	}
	if phcPath != "" {
		e, err := phc.OpenEmulated(phcPath)
		if err != nil {
			return fmt.Errorf("emulate-gps --phc: %w", err)
		}
		defer e.Close()
		cfg.PHC, cfg.PHCChannel = e, uint32(channel)
	}
	if ppsPath != "" {
		// A source a daemon already has open must be kept, not replaced.
		e, err := phc.OpenEmulatedPPS(ppsPath)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, phc.ErrNoDevice) {
			e, err = phc.CreateEmulatedPPS(ppsPath)
		}
		if err != nil {
			return fmt.Errorf("emulate-gps --pps: %w", err)
		}
		defer e.Close()
		cfg.PPS = e
	}
	master, slave, err := gpsemu.OpenPTY()
	if err != nil {
		return err
	}
	defer master.Close()
	cfg.NMEA = append(cfg.NMEA, gpsemu.PTYWriter{Master: master})
	fmt.Fprintf(w, "nmea pty %s\n", slave)
	if link != "" {
		// Replace only a symlink: a path that is something else is the
		// user's mistake, not ours to delete.
		if fi, err := os.Lstat(link); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			os.Remove(link)
		}
		if err := os.Symlink(slave, link); err != nil {
			return fmt.Errorf("emulate-gps --nmea-link: %w", err)
		}
		defer os.Remove(link)
		fmt.Fprintf(w, "nmea link %s\n", link)
	}
	if tcpAddr != "" {
		srv, err := gpsemu.ListenTCP(tcpAddr)
		if err != nil {
			return fmt.Errorf("emulate-gps --nmea-tcp: %w", err)
		}
		defer srv.Close()
		cfg.NMEA = append(cfg.NMEA, srv)
		fmt.Fprintf(w, "nmea tcp %s\n", srv.Addr())
	}
	start, err := phc.EmulatedRealtime()
	if err != nil {
		return err
	}
	after := func(n int) func(gpsemu.Second) bool {
		return func(s gpsemu.Second) bool { return n >= 0 && s.True >= start/1e9+int64(n) }
	}
	cfg.NoPulse = after(lossAfter)
	noFix := after(noFixAfter)
	var r *gpsemu.Receiver
	cfg.OnPulse = func(p gpsemu.Pulse) {
		if noFix(gpsemu.Second{True: p.True + 1}) {
			r.SetFix(false)
		}
	}
	if r, err = gpsemu.New(cfg); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return r.Run(ctx)
}
