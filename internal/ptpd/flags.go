package ptpd

import (
	"fmt"
	"strings"

	"github.com/roko-network/roko-ptpd/ptp/config"
)

// Usage is ptp4l's option summary, with roko-ptpd's additions.
const Usage = `usage: %s [options]

 Delay Mechanism

 -A        Auto, starting with E2E
 -E        E2E, delay request-response (default)
 -P        P2P, peer delay mechanism

 Network Transport

 -2        IEEE 802.3
 -4        UDP IPV4 (default)
 -6        UDP IPV6

 Time Stamping

 -H        HARDWARE (default)
 -S        SOFTWARE
 -L        LEGACY HW

 Other Options

 -f [file] read configuration from 'file'
 -i [dev]  interface device to use, for example 'eth0'
           (may be specified multiple times)
 -p [dev]  Clock device to use, default auto
           (ignored for SOFTWARE/LEGACY HW time stamping)
 -s        client only synchronization mode (overrides configuration file)
 -l [num]  set the logging level to 'num'
 -m        print messages to stdout
 -q        do not print messages to the syslog
 -v        prints the software version and exits
 -h        prints this message and exits
 --option=value  set any configuration option (as in the file)

 roko-ptpd's own options (also in the file):
 --virtual_clock=1            steer a virtual clock instead of a PHC
 --virtual_clock_offset=SEC   its initial offset from CLOCK_REALTIME
 --virtual_clock_frequency=PPB  its frequency error
`

// Command is what the command line asked for.
type Command struct {
	Config  *config.Config
	Help    bool
	Version bool
	File    string
}

// ParseArgs reads ptp4l's command line (getopt style: -2m, -ieth0 and
// -i eth0 all work; --name=value and --name value set config options),
// then the -f file, whose [global] section cannot undo the command line.
func ParseArgs(args []string) (*Command, error) {
	cmd := &Command{Config: config.New("command line")}
	c := cmd.Config
	set := func(opt, val string) error { return c.Set(opt, val) }
	var ifaces []string
	withArg := "filp"
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			if i+1 < len(args) {
				return nil, fmt.Errorf("unexpected argument %q", args[i+1])
			}
			break
		}
		if strings.HasPrefix(a, "--") {
			name, val, ok := strings.Cut(a[2:], "=")
			if !ok {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("option --%s needs a value", name)
				}
				i++
				val = args[i]
			}
			if err := set(name, val); err != nil {
				return nil, err
			}
			continue
		}
		if len(a) < 2 || a[0] != '-' {
			return nil, fmt.Errorf("unexpected argument %q (options start with -; see -h)", a)
		}
		for j := 1; j < len(a); j++ {
			o := a[j]
			var arg string
			if strings.IndexByte(withArg, o) >= 0 {
				switch {
				case j+1 < len(a):
					arg = a[j+1:]
				case i+1 < len(args):
					i++
					arg = args[i]
				default:
					return nil, fmt.Errorf("option -%c requires an argument", o)
				}
				j = len(a)
			}
			var err error
			switch o {
			case 'A':
				err = set("delay_mechanism", "Auto")
			case 'E':
				err = set("delay_mechanism", "E2E")
			case 'P':
				err = set("delay_mechanism", "P2P")
			case '2':
				err = set("network_transport", "L2")
			case '4':
				err = set("network_transport", "UDPv4")
			case '6':
				err = set("network_transport", "UDPv6")
			case 'H':
				err = set("time_stamping", "hardware")
			case 'S':
				err = set("time_stamping", "software")
			case 'L':
				err = set("time_stamping", "legacy")
			case 'f':
				cmd.File = arg
			case 'i':
				ifaces = append(ifaces, arg)
			case 'p':
				// ptp4l ignores -p for software timestamping and warns
				// that it is deprecated; we have nothing to open by path
				// yet either.
			case 'l':
				err = set("logging_level", arg)
			case 'm':
				err = set("verbose", "1")
			case 'q':
				err = set("use_syslog", "0")
			case 's':
				err = set("clientOnly", "1")
			case 'v':
				cmd.Version = true
			case 'h':
				cmd.Help = true
			default:
				return nil, fmt.Errorf("invalid option -- '%c' (see -h)", o)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	if cmd.Help || cmd.Version {
		return cmd, nil
	}
	// As ptp4l: -i interfaces come first (port 1 is the first -i), then
	// the file's interface sections.
	for _, i := range ifaces {
		c.AddInterface(i)
	}
	if cmd.File != "" {
		if err := c.ReadFile(cmd.File); err != nil {
			return nil, err
		}
	}
	return cmd, nil
}
