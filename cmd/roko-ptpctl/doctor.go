package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/roko-network/roko-ptpd/internal/doctor"
	"github.com/roko-network/roko-ptpd/internal/ptpd"
)

const doctorUsage = `usage: roko-ptpctl doctor [--json] [IFACE...] [roko-ptpd's options: -f FILE -i IFACE -S -2 -4 -6 -E -P --OPTION=VALUE]
  checks the host and each interface against what roko-ptpd, started with the
  same options, needs: the link, timestamping, the PHC, interrupt coalescing,
  rings, error counters, multicast groups, the firewall, kernel PTP support,
  other time daemons, other PTP daemons, their scheduling priority,
  irqbalance, the CPU frequency governor, and that the configuration loads.
  With no interface and no -f, the running roko-ptpd's (or ptp4l's) own
  command line is checked.
  Exit status: 0 every check passed, 1 the worst is a WARN, 2 a check
  failed, 3 the doctor could not run (bad arguments).
`

// exitStatus is an error that sets roko-ptpctl's exit status; err, when
// not nil, is printed.
type exitStatus struct {
	code int
	err  error
}

// Error is the error to print, or the status when there is none.
func (e exitStatus) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

// doctorUsageError is the exit of a doctor that could not run.
func doctorUsageError(err error) error { return exitStatus{3, fmt.Errorf("doctor: %w", err)} }

// doctorCmd runs roko-ptpctl doctor on this host and prints the report;
// its exit status is the worst check's.
func doctorCmd(args []string, w io.Writer) error {
	asJSON := false
	var pass []string // roko-ptpd's own options
	var file string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--json":
			asJSON = true
		case a == "-h" || a == "--help":
			fmt.Fprint(w, doctorUsage)
			return nil
		case strings.HasPrefix(a, "--"):
			pass = append(pass, a)
			if !strings.Contains(a, "=") && i+1 < len(args) {
				i++
				pass = append(pass, args[i])
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			// A group of ptp4l's short options; f, i, l and p take a
			// value, the rest of the group or the next argument.
			for j := 1; j < len(a); j++ {
				if !strings.ContainsRune("filp", rune(a[j])) {
					pass = append(pass, "-"+a[j:j+1])
					continue
				}
				v := a[j+1:]
				if v == "" {
					if i+1 >= len(args) {
						return doctorUsageError(fmt.Errorf("option -%c needs a value", a[j]))
					}
					i++
					v = args[i]
				}
				if a[j] == 'f' {
					file = v
				} else {
					pass = append(pass, "-"+a[j:j+1], v)
				}
				break
			}
		default:
			pass = append(pass, "-i", a)
		}
	}
	opt, err := doctorOptions(pass, file)
	if err != nil {
		return err
	}
	r := doctor.Run(doctor.System(), opt)
	if asJSON {
		if err := r.WriteJSON(w); err != nil {
			return err
		}
	} else {
		r.WriteText(w)
	}
	if code := r.ExitCode(); code != 0 {
		return exitStatus{code: code}
	}
	return nil
}

// doctorOptions reads roko-ptpd's options and file as the daemon would;
// with neither an interface nor a file, those of the running daemon.
func doctorOptions(args []string, file string) (doctor.Options, error) {
	cmd, err := ptpd.ParseArgs(args)
	if err != nil {
		return doctor.Options{}, doctorUsageError(err)
	}
	if file == "" && len(cmd.Config.Interfaces()) == 0 {
		daemons := doctor.Daemons(doctor.System())
		if i := slices.IndexFunc(daemons, func(p doctor.Process) bool { return p.Comm == "roko-ptpd" || p.Comm == "ptp4l" }); i >= 0 {
			d := daemons[i]
			dc, err := ptpd.ParseArgs(d.Args[1:])
			if err != nil {
				return doctor.Options{Config: cmd.Config, ConfigErr: fmt.Errorf("%s (pid %d): %w", d.Comm, d.PID, err)}, nil
			}
			return doctor.Options{Config: dc.Config, From: fmt.Sprintf("%s (pid %d) as started: %s", d.Comm, d.PID, strings.Join(d.Args, " "))}, nil
		}
	}
	if file != "" {
		if err := cmd.Config.ReadFile(file); err != nil {
			return doctor.Options{Config: cmd.Config, ConfigErr: err}, nil
		}
	}
	return doctor.Options{Config: cmd.Config}, nil
}
