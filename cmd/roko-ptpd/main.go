// Command roko-ptpd is a PTP (IEEE 1588-2019) daemon that takes ptp4l's
// command line, configuration files and log format. See -h.
package main

import (
	"context"
	"fmt"
	"io"
	"log/syslog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/roko-network/roko-ptpd/internal/phc2sys"
	"github.com/roko-network/roko-ptpd/internal/ptpd"
	"github.com/roko-network/roko-ptpd/internal/ptplog"
	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	// One event loop does all the work; more Ps only add scheduler
	// wake-ups. GOMAXPROCS in the environment still wins.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	prog := filepath.Base(os.Args[0])
	cmd, err := ptpd.ParseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
		os.Exit(2)
	}
	switch {
	case cmd.Help:
		fmt.Printf(ptpd.Usage, prog)
		return
	case cmd.Version:
		fmt.Println(version)
		return
	}
	c := cmd.Config
	set, err := c.Resolve()
	for _, w := range c.Warnings {
		fmt.Fprintln(os.Stderr, w.String())
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
		os.Exit(1)
	}
	var stdout io.Writer
	if set.Log.Verbose {
		stdout = os.Stdout
	}
	// ptp4l sends everything to syslog unless -q; roko-ptpd leaves that
	// to the service manager, which collects stderr.
	log := ptplog.New(prog, set.Log.Level, set.Log.Tag, stdout, os.Stderr)
	// ptp4l prints a summary every 2^summary_interval seconds instead of
	// each sample when that spans more than one Sync.
	if set.Log.SummaryEvery > 1 {
		log.SetSummary(set.Log.SummaryEvery)
	}
	if set.Log.Syslog {
		if w, err := syslog.New(syslog.LOG_DAEMON|syslog.LOG_INFO, prog); err == nil {
			log.SetSyslog(w)
		}
	}
	opt := ptpd.Options{Settings: set, Log: log}
	if set.Virtual != nil || set.EmulatedDir != "" {
		opt.TrueErrorEvery = time.Second
	}
	// ROKO_CPUPROFILE=file writes a CPU profile, for measuring the daemon.
	if path := os.Getenv("ROKO_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				defer pprof.StopCPUProfile()
			}
		}
	}
	d, err := ptpd.New(opt)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	jobDone := make(chan struct{})
	if set.Phc2sys != nil {
		// The [phc2sys] section: the phc2sys job in this process.
		job, err := phc2sys.NewInDaemon(d, set.Phc2sys, nil, func(level int, format string, args ...any) {
			log.Printf(engine.LogLevel(level), format, args...)
		})
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
			d.Close() // removes the UNIX sockets, which os.Exit would leave
			os.Exit(1)
		}
		go func() { defer close(jobDone); _ = job.Run(ctx) }()
	} else {
		close(jobDone)
	}
	err = d.Run(ctx)
	// The job reads the daemon's clock: it ends before the clock closes.
	stop()
	<-jobDone
	d.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
		os.Exit(1)
	}
}
