package ptpd

import (
	"github.com/roko-network/roko-ptpd/internal/getopt"
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

// flagOptions are ptp4l's flags that each set one option to one value.
var flagOptions = map[byte][2]string{
	'A': {"delay_mechanism", "Auto"},
	'E': {"delay_mechanism", "E2E"},
	'P': {"delay_mechanism", "P2P"},
	'2': {"network_transport", "L2"},
	'4': {"network_transport", "UDPv4"},
	'6': {"network_transport", "UDPv6"},
	'H': {"time_stamping", "hardware"},
	'S': {"time_stamping", "software"},
	'L': {"time_stamping", "legacy"},
	'm': {"verbose", "1"},
	'q': {"use_syslog", "0"},
	's': {"clientOnly", "1"},
}

// ParseArgs reads ptp4l's command line (getopt style: -2m, -ieth0 and
// -i eth0 all work; --name=value and --name value set config options),
// then the -f file, whose [global] section cannot undo the command line.
func ParseArgs(args []string) (*Command, error) {
	cmd := &Command{Config: config.New("command line")}
	c := cmd.Config
	set := func(opt, val string) error { return c.Set(opt, val) }
	var ifaces []string
	short := func(o byte, arg string) error {
		if kv, ok := flagOptions[o]; ok {
			return set(kv[0], kv[1])
		}
		switch o {
		case 'f':
			cmd.File = arg
		case 'i':
			ifaces = append(ifaces, arg)
		case 'p':
			// ptp4l ignores -p for software timestamping and warns that
			// it is deprecated; the PHC comes from the interface here.
		case 'l':
			return set("logging_level", arg)
		case 'v':
			cmd.Version = true
		case 'h':
			cmd.Help = true
		default:
			return getopt.Invalid(o)
		}
		return nil
	}
	if err := getopt.Parse(args, getopt.Handlers{WithArg: "filp", Short: short, Long: set}); err != nil {
		return nil, err
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
