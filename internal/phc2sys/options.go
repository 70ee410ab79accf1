// Package phc2sys is roko-phc2sys, the phc2sys replacement, minus its
// command line: it keeps a target clock (usually CLOCK_REALTIME) on a
// source clock (usually a NIC's PHC), measuring their offset the best way
// the kernel offers and steering with package servo.
package phc2sys

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/roko-network/roko-ptpd/internal/getopt"
	"github.com/roko-network/roko-ptpd/internal/mgmt"
	"github.com/roko-network/roko-ptpd/ptp/config"
	"github.com/roko-network/roko-ptpd/servo"
	"github.com/roko-network/roko-ptpd/transport"
)

// Options are phc2sys's flags.
type Options struct {
	Source, Target string  // -s, -c (target default CLOCK_REALTIME)
	PPS            string  // -d
	Wait           bool    // -w
	Offset         float64 // -O, seconds: target = source + Offset
	OffsetSet      bool    // -O was given
	Rate           float64 // -R, updates per second (default 1)
	Readings       int     // -N (default 5)
	Summary        int     // -u, updates per summary line (0: a line per update)
	Servo          servo.Kind
	KP, KI         float64 // -P, -I
	StepThreshold  float64 // -S, seconds
	FirstStep      float64 // -F, seconds
	SanityLimit    int     // -L, ppb
	Domain         uint8   // -n
	UDS            string  // -z
	Print          bool    // -m
	Quiet          bool    // -q
	Level          int     // -l
	Auto           bool    // -a
	Realtime       int     // -r given once (1: sync CLOCK_REALTIME too) or twice (2: it may be the source)
	// ConfigFile is -f: its [global] uds_address, domainNumber,
	// transportSpecific, sa_file, spp and active_key_id say how to ask
	// the daemon (Management).
	ConfigFile string
	// Emulated is --emulated=DIR (roko's own): with -a, a port's PHC is
	// the emulated PHC roko-ptpd's emulated_hardware made for its
	// interface in DIR, not the interface's /dev/ptpN.
	Emulated string
	// MetricsAddress is --metrics_address=HOST:PORT (roko's own, the name
	// of roko-ptpd's option; phc2sys 4.4 takes its config options as long
	// options and has none by that name): serve Prometheus metrics there.
	MetricsAddress string
	Help, Version  bool

	domainSet, udsSet bool // -n, -z given: they win over -f's file
}

// Parse reads phc2sys's command line (getopt style).
func Parse(args []string) (*Options, error) {
	o := &Options{Target: "CLOCK_REALTIME", Rate: 1, Readings: 5, Servo: servo.KindPI, FirstStep: 0.00002,
		SanityLimit: servo.DefaultSanityFreqLimit, UDS: transport.DefaultUDSAddress, Level: 6}
	short := func(c byte, arg string) error {
		f := func() (float64, error) {
			v, err := strconv.ParseFloat(arg, 64)
			if err != nil {
				return 0, fmt.Errorf("-%c %q: not a number", c, arg)
			}
			return v, nil
		}
		n := func(lo, hi int) (int, error) {
			v, err := strconv.Atoi(arg)
			if err != nil || v < lo || v > hi {
				return 0, fmt.Errorf("-%c %q: want a whole number in [%d, %d]", c, arg, lo, hi)
			}
			return v, nil
		}
		var err error
		switch c {
		case 's':
			o.Source = arg
		case 'c':
			o.Target = arg
		case 'd':
			o.PPS = arg
		case 'w':
			o.Wait = true
		case 'O':
			var v int
			v, err = n(-1<<31, 1<<31-1)
			o.Offset, o.OffsetSet = float64(v), true
		case 'R':
			o.Rate, err = f()
			if err == nil && !(o.Rate > 0 && o.Rate <= 1e6) {
				err = fmt.Errorf("-R %q: the update rate must be positive", arg)
			}
		case 'N':
			o.Readings, err = n(1, 25)
		case 'u':
			o.Summary, err = n(0, 1<<20)
		case 'E':
			switch servo.Kind(arg) {
			case servo.KindPI, servo.KindLinReg:
				o.Servo = servo.Kind(arg)
			default:
				err = fmt.Errorf("-E %s: roko-phc2sys has pi and linreg", arg)
			}
		case 'P':
			o.KP, err = f()
		case 'I':
			o.KI, err = f()
		case 'S':
			o.StepThreshold, err = f()
		case 'F':
			o.FirstStep, err = f()
		case 'L':
			o.SanityLimit, err = n(0, 1<<31-1)
		case 'n':
			var v int
			v, err = n(0, 255)
			o.Domain, o.domainSet = uint8(v), true
		case 'z':
			o.UDS, o.udsSet = arg, true
		case 'm':
			o.Print = true
		case 'q':
			o.Quiet = true
		case 'l':
			o.Level, err = n(0, 7)
		case 'a':
			o.Auto = true
		case 'r':
			o.Realtime = min(o.Realtime+1, 2)
		case 'f':
			// phc2sys 4.4 reads its management options from the file
			// (Management); its logging and servo options are the
			// flags here.
			o.ConfigFile = arg
		case 'h':
			o.Help = true
		case 'v':
			o.Version = true
		default:
			err = getopt.Invalid(c)
		}
		return err
	}
	long := func(name, value string) error {
		switch name {
		case "emulated":
			if value == "" {
				return fmt.Errorf("--emulated: give the directory of the emulated PHCs (roko-ptpd's emulated_hardware_dir)")
			}
			o.Emulated = value
		case "metrics_address":
			if _, _, err := net.SplitHostPort(value); err != nil {
				return fmt.Errorf("--metrics_address %q: not a host:port (%v)", value, err)
			}
			o.MetricsAddress = value
		default:
			return fmt.Errorf("unknown option --%s (see -h)", name)
		}
		return nil
	}
	if err := getopt.Parse(args, getopt.Handlers{WithArg: "scdORNuEPISFLnzlf", Short: short, Long: long}); err != nil {
		return nil, err
	}
	if o.Help || o.Version {
		return o, nil
	}
	if o.Auto {
		if o.Source != "" || o.PPS != "" {
			return nil, fmt.Errorf("-a takes its clocks from the daemon: drop -s and -d")
		}
		return o, nil
	}
	if o.Realtime > 0 {
		return nil, fmt.Errorf("-r only has a meaning with -a")
	}
	if o.Source == "" && o.PPS == "" {
		return nil, fmt.Errorf("no source: give -s (a PHC, an interface, or CLOCK_REALTIME) or -d")
	}
	if o.PPS != "" && o.Target != "CLOCK_REALTIME" {
		return nil, fmt.Errorf("-d %s: the target must be CLOCK_REALTIME, the clock the kernel timestamps pulses on", o.PPS)
	}
	return o, nil
}

// Management returns how to ask the daemon, as phc2sys 4.4's agent
// does: its UNIX socket and domain from -z and -n, else from -f's
// [global] uds_address and domainNumber; and with [global] spp in the
// file, the association that signs the requests and authenticates the
// answers (allow_unauth is pmc's alone: phc2sys takes only answers that
// pass).
func (o *Options) Management() (mgmt.Config, error) {
	cfg := mgmt.Config{Server: o.UDS, Domain: o.Domain}
	if o.ConfigFile == "" {
		return cfg, nil
	}
	c := config.New("command line")
	if o.udsSet {
		if err := c.Set("uds_address", o.UDS); err != nil {
			return cfg, err
		}
	}
	if o.domainSet {
		if err := c.Set("domainNumber", strconv.Itoa(int(o.Domain))); err != nil {
			return cfg, err
		}
	}
	if err := c.ReadFile(o.ConfigFile); err != nil {
		return cfg, err
	}
	m, err := c.Management()
	if err != nil {
		return cfg, err
	}
	cfg.Server, cfg.Domain, cfg.TransportSpecific = m.UDSAddress, m.Domain, m.TransportSpecific
	if m.Security != nil {
		cfg.SA, cfg.Key = m.Security.SA, m.Security.Key
	}
	return cfg, nil
}

// ServoConfig returns the servo settings the flags ask for.
func (o *Options) ServoConfig(maxFreq float64) servo.Config {
	cfg := servo.DefaultConfig()
	cfg.MaxFrequency = maxFreq
	cfg.FirstStepThreshold = time.Duration(o.FirstStep * 1e9)
	cfg.StepThreshold = time.Duration(o.StepThreshold * 1e9)
	// phc2sys's own PI defaults are 0.7 and 0.3, fixed unless -P/-I.
	cfg.PI.ProportionalConst, cfg.PI.IntegralConst = 0.7, 0.3
	if o.KP > 0 {
		cfg.PI.ProportionalConst = o.KP
	}
	if o.KI > 0 {
		cfg.PI.IntegralConst = o.KI
	}
	return cfg
}
