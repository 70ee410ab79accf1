// Command roko-ptpctl reads and steers clocks, like linuxptp's phc_ctl:
//
//	roko-ptpctl CLOCK COMMAND...
//
// CLOCK is /dev/ptpN, an emulated PHC's state file, a network interface (its PHC), or CLOCK_REALTIME.
// Commands run in order:
//
//	caps          print the PHC's capabilities
//	tsinfo        print what the interface can timestamp (as ethtool -T)
//	get           print the clock's time
//	cmp           print the clock's offset from CLOCK_REALTIME, and how it was measured
//	freq [PPB]    print, or set, the frequency adjustment
//	adj SECONDS   step the clock by SECONDS
//	pins          list the PHC's pins
//	perout [channel N] [pin N] [phase NS] [width NS] [period NS] [off]
//	              start a pulse per second (or another period) on a PEROUT
//	              channel, aligned to the PHC's whole second, or stop it
//
// roko-ptpctl analyze [--json] FILE... reports what a capture says about
// PTP on its link, and roko-ptpctl selftest [--json] IFACE checks what a
// validator's NIC gives hardware timestamping, before it switches.
// roko-ptpctl attest signs a statement of what the clock did for a
// verifier's nonce, and roko-ptpctl verify checks one (internal/attest).
// roko-ptpctl doctor [--json] [IFACE] checks the host against the operator
// guide's prerequisites and tuning (internal/doctor).
// roko-ptpctl emulate-gps runs an emulated GPS receiver (internal/gpsemu)
// for tests and demos on machines without one. roko-ptpctl unicast-load
// runs N negotiated unicast clients against a grandmaster and measures
// what they get (scripts/capacity.sh).
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/roko-network/roko-ptpd/internal/analyze"
	"github.com/roko-network/roko-ptpd/internal/attest"
	"github.com/roko-network/roko-ptpd/internal/getopt"
	"github.com/roko-network/roko-ptpd/internal/mgmt"
	"github.com/roko-network/roko-ptpd/internal/monitor"
	"github.com/roko-network/roko-ptpd/internal/selftest"
	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/transport"
)

const usage = `usage: roko-ptpctl CLOCK COMMAND...
       roko-ptpctl analyze [--json] FILE...
       roko-ptpctl monitor|accuracy|status [-s UDS] [-d DOMAIN] [--samples N] [--interval D] [--count N] [--json] [--key PATH]
       roko-ptpctl selftest [--json] [--emulated[=DIR]] IFACE
       roko-ptpctl attest [-s UDS] [-d DOMAIN] [--key PATH] --nonce HEX [--samples N] [--interval D] [-o FILE]
       roko-ptpctl attest [--key PATH] --public-key
       roko-ptpctl verify --pub HOST.pub --nonce HEX [--max-age D] STATEMENT|-
       roko-ptpctl doctor [--json] [IFACE...] [roko-ptpd's options: -f FILE -S -2 ...]
       roko-ptpctl emulate-gps [--phc STATEFILE[:CHANNEL]] [--pps STATEFILE] [--nmea-link PATH] [--nmea-tcp ADDR]
                   [--jitter NS] [--sawtooth NS] [--cable-delay NS] [--pulse-width MS] [--phase MS]
                   [--sentences rmc,zda] [--talker GP] [--seed N] [--time-offset S] [--leap-day YYYY-MM-DD]
                   [--no-fix-after S] [--pulse-loss-after S]
       roko-ptpctl unicast-load --master ADDR [--clients N] [--rate HZ] [--announce-log N] [--domain N]
                   [--duration S] [--ramp S] [--negotiate S] [--warmup S] [--measure S] [--grace S]
                   [--pid PID] [--prefix CIDR] [--json]
  CLOCK    /dev/ptpN, an emulated PHC's state file, a network interface (its PHC), or CLOCK_REALTIME
  caps | tsinfo | get | cmp | freq [PPB] | adj SECONDS | pins
  perout [channel N] [pin N] [phase NS] [width NS] [period NS] [off]
           a pulse per second on PEROUT channel N (default 0), to check a grandmaster
           against a scope or a second receiver: period 1 s, width 500 ms (0: the
           driver's), rising edge at the PHC's whole second plus phase; pin N is set
           to the channel (a free pin is chosen if none has it); off stops it
  analyze  what a capture (pcap or pcapng) says about PTP on its link
  monitor  a row a second: offset, path delay, quality, stepsRemoved
  accuracy N samples of offsetFromMaster: mean, standard deviation, verdict
  status   time source (a grandmaster's GPS state), current offset, mean deviation, quality,
           attestation (VALID: a statement signed now with --key verifies; INVALID; NONE: no key)
           (--json: the same as one JSON object)
  attest   a statement of the clock over a window (grandmaster, its quality, port state,
           offset statistics) for a verifier's nonce, signed with the host's Ed25519 key
           (default /var/lib/roko-ptpd/attestation.key, made 0600 on first use);
           --public-key prints the key a verifier enrolls
  verify   check a statement against the host's enrolled key and the nonce: VALID or INVALID
  selftest what IFACE's NIC gives hardware timestamping: PASS/WARN/FAIL a check, with the fix
  doctor   the operator guide's prerequisites and tuning as checks of this host and IFACE,
           PASS/WARN/FAIL with the fix; exit status 0 PASS, 1 WARN, 2 FAIL, 3 bad arguments
  emulate-gps  an emulated GPS receiver until killed: pulses into an emulated PHC's EXTTS
           channel and/or an emulated PPS source, RMC/ZDA on a pty (PATH links to it) and TCP
  unicast-load N unicast clients (default 100) from addresses of --prefix (default
           198.18.64.0/18, local in this namespace) negotiate Announce, Sync and Delay_Resp
           with ADDR and send Delay_Req at --rate (default 1 Hz); prints grants held,
           answers, latency, losses, and the CPU time and memory of process PID
`

func main() {
	if err := run(os.Args[1:]); err != nil {
		var st exitStatus
		if errors.As(err, &st) {
			if st.err != nil {
				fmt.Fprintf(os.Stderr, "roko-ptpctl: %v\n", st.err)
			}
			os.Exit(st.code)
		}
		fmt.Fprintf(os.Stderr, "roko-ptpctl: %v\n", err)
		os.Exit(1)
	}
}

func open(name string) (phc.Clock, *phc.Device, error) {
	switch {
	case name == "CLOCK_REALTIME":
		s, err := phc.NewSystem()
		return s, nil, err
	case strings.ContainsRune(name, '/'): // a device or an emulated PHC's state file
		d, err := phc.Open(name)
		return d, d, err
	}
	d, err := phc.OpenInterface(name)
	return d, d, err
}

func run(args []string) error {
	if len(args) > 0 && args[0] == "unicast-load" {
		return unicastLoadCmd(args[1:], os.Stdout, os.Stderr)
	}
	if len(args) > 0 && args[0] == "emulate-gps" {
		// It runs with no arguments, unlike the clock commands.
		return emulateGPSCmd(args[1:], os.Stdout)
	}
	if len(args) > 0 && args[0] == "doctor" {
		return doctorCmd(args[1:], os.Stdout)
	}
	if len(args) < 2 || args[0] == "-h" || args[0] == "--help" {
		fmt.Print(usage)
		if len(args) < 2 {
			return errors.New("need a clock and a command")
		}
		return nil
	}
	switch args[0] {
	case "analyze":
		return analyzeCmd(args[1:], os.Stdout)
	case "monitor", "accuracy", "status":
		return monitorCmd(args[0], args[1:], os.Stdout)
	case "selftest":
		return selftestCmd(args[1:], os.Stdout)
	case "attest":
		return attestCmd(args[1:], os.Stdout)
	case "verify":
		return verifyCmd(args[1:], os.Stdout)
	}
	name, cmds := args[0], args[1:]
	// tsinfo needs no clock: an interface without a PHC can still be asked.
	if len(cmds) == 1 && cmds[0] == "tsinfo" {
		return tsinfo(name)
	}
	clk, dev, err := open(name)
	if err != nil {
		return err
	}
	if dev != nil {
		defer dev.Close()
	}
	for i := 0; i < len(cmds); i++ {
		switch cmds[i] {
		case "caps":
			if dev == nil {
				return fmt.Errorf("caps: %s is not a PTP hardware clock", clk.Name())
			}
			c := dev.Caps()
			fmt.Printf("capabilities of %s:\n  %d maximum frequency adjustment (ppb)\n  %d programmable alarms\n  %d external time stamp channels\n  %d programmable periodic signals\n  %d pulse per second\n  %d programmable pins\n  %d cross timestamping\n  %d adjust phase\n  %d maximum phase adjustment (ns)\n",
				clk.Name(), c.MaxAdj, c.NAlarm, c.NExtTS, c.NPerOut, b2i(c.PPS), c.NPins, b2i(c.CrossTimestamping), b2i(c.AdjustPhase), c.MaxPhaseAdj)
		case "tsinfo":
			if err := tsinfo(name); err != nil {
				return err
			}
		case "get":
			t, err := clk.Now()
			if err != nil {
				return err
			}
			fmt.Printf("clock time is %d.%09d or %s\n", t.Unix(), t.Nanosecond(), t.UTC().Format(time.ANSIC))
		case "cmp":
			var o phc.SysOffset
			if dev != nil {
				o, err = dev.SysOffset(25)
			} else {
				var sys *phc.System
				if sys, err = phc.NewSystem(); err == nil {
					o, err = phc.CompareClocks(clk, sys, 25)
				}
			}
			if err != nil {
				return err
			}
			fmt.Printf("offset from CLOCK_REALTIME is %dns (delay %dns, method %s)\n", o.Offset.Nanoseconds(), o.Delay.Nanoseconds(), o.Method)
		case "freq":
			if i+1 < len(cmds) {
				if ppb, err := strconv.ParseFloat(cmds[i+1], 64); err == nil {
					i++
					if err := clk.AdjustFrequency(ppb); err != nil {
						return err
					}
					fmt.Printf("adjusted clock frequency offset to %fppb\n", ppb)
					continue
				}
			}
			f, err := clk.Frequency()
			if err != nil {
				return err
			}
			fmt.Printf("clock frequency offset is %fppb\n", f)
		case "adj":
			if i+1 >= len(cmds) {
				return errors.New("adj: give the step in seconds")
			}
			i++
			s, err := strconv.ParseFloat(cmds[i], 64)
			if err != nil {
				return fmt.Errorf("adj %q: %w", cmds[i], err)
			}
			if err := clk.Step(time.Duration(s * 1e9)); err != nil {
				return err
			}
			fmt.Printf("adjusted clock by %.9f seconds\n", s)
		case "pins":
			if dev == nil {
				return fmt.Errorf("pins: %s is not a PTP hardware clock", clk.Name())
			}
			pins, err := dev.Pins()
			if err != nil {
				return err
			}
			for _, p := range pins {
				fmt.Printf("pin %d %q: %s channel %d\n", p.Index, p.Name, p.Function, p.Channel)
			}
		case "perout":
			if dev == nil {
				return fmt.Errorf("perout: %s is not a PTP hardware clock", clk.Name())
			}
			a, n, err := parsePerout(cmds[i+1:])
			if err != nil {
				return err
			}
			i += n
			if err := perout(dev, a, os.Stdout); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown command %q\n%s", cmds[i], usage)
		}
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// tsinfo prints an interface's timestamping capabilities as ethtool -T.
func tsinfo(ifname string) error {
	info, err := phc.InterfaceTimestamping(ifname)
	if err != nil {
		return err
	}
	fmt.Printf("Time stamping parameters for %s:\nCapabilities:\n", ifname)
	names := []string{"hardware-transmit", "software-transmit", "hardware-receive", "software-receive",
		"software-system-clock", "hardware-legacy-clock", "hardware-raw-clock"}
	for i, n := range names {
		if info.SoTimestamping&(1<<i) != 0 {
			fmt.Printf("\t%s\n", n)
		}
	}
	if info.PHCIndex < 0 {
		fmt.Println("PTP Hardware Clock: none")
	} else {
		fmt.Printf("PTP Hardware Clock: %d\n", info.PHCIndex)
	}
	fmt.Printf("Hardware Transmit Timestamp Modes: %#x\nHardware Receive Filter Modes: %#x\n", info.TxTypes, info.RxFilters)
	return nil
}

// analyzeCmd prints the analysis of each capture, as text or JSON.
func analyzeCmd(args []string, w io.Writer) error {
	asJSON := false
	var files []string
	for _, a := range args {
		if a == "--json" {
			asJSON = true
			continue
		}
		files = append(files, a)
	}
	if len(files) == 0 {
		return errors.New("analyze: give a capture file")
	}
	for _, f := range files {
		rep, err := analyze.File(f)
		if rep == nil {
			return err
		}
		if asJSON {
			b, jerr := json.MarshalIndent(rep, "", "  ")
			if jerr != nil {
				return jerr
			}
			fmt.Fprintf(w, "%s\n", b)
		} else {
			rep.WriteText(w)
		}
		if err != nil {
			return fmt.Errorf("%s: %w (the report covers what was read)", f, err)
		}
	}
	return nil
}

// monitorCmd runs the operator guide's monitoring jobs against a daemon's
// management socket.
func monitorCmd(job string, args []string, w io.Writer) error {
	o := daemonOpts{uds: transport.DefaultUDSAddress, samples: 1000, interval: 100 * time.Millisecond, keyPath: attest.DefaultKeyPath}
	count := 0
	if job == "monitor" {
		o.interval = time.Second
	}
	if job == "status" {
		o.samples = 10
	}
	asJSON := false
	err := getopt.Parse(args, getopt.Handlers{
		WithArg: "sd",
		Flags:   []string{"json"},
		Short:   o.short,
		Long: func(name, value string) error {
			if ok, err := o.long(name, value); ok {
				return err
			}
			switch name {
			case "count":
				var err error
				if count, err = strconv.Atoi(value); err != nil {
					return fmt.Errorf("--%s %q: %w", name, value, err)
				}
			case "json":
				if job != "status" {
					return fmt.Errorf("--json: only status has a JSON form")
				}
				asJSON = true
			default:
				return fmt.Errorf("unknown option --%s", name)
			}
			return nil
		},
	})
	if err != nil {
		return err
	}
	c, err := mgmt.Dial(o.uds, o.domain)
	if err != nil {
		return err
	}
	defer c.Close()
	switch job {
	case "monitor":
		return monitor.Monitor(w, c, o.interval, count, time.Now)
	case "accuracy":
		fmt.Fprintln(w, "Testing PTP Accuracy for ROKO Validator")
		fmt.Fprintln(w, "========================================")
		s, err := monitor.Accuracy(c, o.samples, o.interval)
		if err != nil {
			return err
		}
		monitor.WriteAccuracy(w, s)
		if !s.Passed() {
			return errors.New("accuracy test failed")
		}
		return nil
	}
	r, err := monitor.ReadStatus(c, o.samples, o.interval)
	if err != nil {
		return err
	}
	r.Attestation, r.AttestationDetail = attestationState(c, o.keyPath)
	if asJSON {
		return r.WriteJSON(w)
	}
	r.WriteText(w)
	return nil
}

// selftestCmd runs the self-test of an interface and prints it; it fails
// when a check failed.
func selftestCmd(args []string, w io.Writer) error {
	asJSON := false
	var ifname, emulated string
	for _, a := range args {
		switch {
		case a == "--json":
			asJSON = true
		case a == "--emulated":
			emulated = phc.DefaultEmulatedDir
		case strings.HasPrefix(a, "--emulated="):
			emulated = strings.TrimPrefix(a, "--emulated=")
		case ifname == "":
			ifname = a
		default:
			return fmt.Errorf("selftest: one interface, not %q and %q", ifname, a)
		}
	}
	if ifname == "" {
		return errors.New("selftest: give the interface PTP runs on")
	}
	h := selftest.Kernel()
	if emulated != "" {
		// The emulated hardware roko-ptpd's emulated_hardware made for
		// the interface (its PHC's state file is named after it).
		var err error
		if h, err = selftest.Emulated(filepath.Join(emulated, ifname)); err != nil {
			return fmt.Errorf("selftest --emulated: %w", err)
		}
	}
	r := selftest.Run(ifname, h)
	if asJSON {
		if err := r.WriteJSON(w); err != nil {
			return err
		}
	} else {
		r.WriteText(w)
	}
	if r.Failed() {
		return fmt.Errorf("selftest of %s: a check failed", ifname)
	}
	return nil
}

// daemonOpts are the options of the commands that ask a running daemon
// (monitor, accuracy, status, attest): its socket and domain as pmc takes
// them (-s, -d), how many samples how far apart, and the host's
// attestation key.
type daemonOpts struct {
	uds      string
	domain   uint8
	samples  int
	interval time.Duration
	keyPath  string
}

// short takes -s and -d; any other letter is invalid.
func (o *daemonOpts) short(c byte, arg string) error {
	switch c {
	case 's':
		o.uds = arg
	case 'd':
		v, err := strconv.ParseUint(arg, 10, 8)
		if err != nil {
			return fmt.Errorf("-d %q: not a domain number", arg)
		}
		o.domain = uint8(v)
	default:
		return getopt.Invalid(c)
	}
	return nil
}

// long takes --samples, --interval and --key, and says whether name was
// one of them.
func (o *daemonOpts) long(name, value string) (bool, error) {
	var err error
	switch name {
	case "samples":
		o.samples, err = strconv.Atoi(value)
	case "interval":
		o.interval, err = time.ParseDuration(value)
	case "key":
		o.keyPath = value
	default:
		return false, nil
	}
	if err != nil {
		return true, fmt.Errorf("--%s %q: %w", name, value, err)
	}
	return true, nil
}
