// Command roko-pmc is a PTP management client that takes linuxptp pmc's
// command line and prints its text, so scripts written for pmc keep
// working; --json prints the same answers for machines.
//
//	roko-pmc -u -b 0 'GET CURRENT_DATA_SET' 'GET TIME_STATUS_NP'
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/roko-network/roko-ptpd/internal/getopt"
	"github.com/roko-network/roko-ptpd/internal/mgmt"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/auth"
	"github.com/roko-network/roko-ptpd/ptp/config"
	"github.com/roko-network/roko-ptpd/ptp/pmc"
)

const usage = `usage: roko-pmc [options] [commands]

 Network Transport

 -2        IEEE 802.3
 -4        UDP IPV4 (default)
 -6        UDP IPV6
 -u        UDS local

 Other Options

 -b [num]  boundary hops, default 1
 -d [num]  domain number, default 0
 -f [file] read configuration from 'file': its [global] network_transport,
           domainNumber, transportSpecific, uds_address, and sa_file, spp,
           active_key_id and allow_unauth, which sign the requests and
           authenticate the answers (linuxptp 4.4); the flags win
 -h        prints this message and exits
 -i [dev]  interface device to use (network transports)
 -s [path] server address for UDS, default /var/run/ptp4l
 -t [hex]  transport specific field, default 0x0
 -v        prints the software version and exits
 -z        send zero length TLV values with the GET actions
 --json    print responses as JSON lines
 --OPTION VALUE, --OPTION=VALUE  a configuration file option (--spp 1)

 Commands: GET NAME, SET NAME VALUE (for the one-octet data sets),
 CMD NAME; NAME may be any unique prefix, as in pmc.
`

// options are pmc's flags.
type options struct {
	// cfg holds -u/-2/-4/-6 (the last given wins), -s, -i, -d, -b and -t,
	// and what -f's file and the long options add.
	cfg           mgmt.Config
	zeroLength    bool
	json          bool
	commands      []string
	help, version bool
}

// parse reads pmc's command line and, with -f, its configuration file. As
// in pmc, -d, -t, -s and the long options are configuration values that
// the file's [global] section cannot change, and a transport flag wins
// over the file's network_transport.
func parse(args []string) (*options, error) {
	// pmc's defaults: UDPv4, one boundary hop.
	o := &options{cfg: mgmt.Config{BoundaryHops: 1}}
	conf := config.New("command line")
	var network *ptp.NetworkProtocol
	var file string
	short := func(c byte, arg string) error {
		num := func(base int) (uint8, error) {
			v, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(arg), "0x"), base, 8)
			if err != nil {
				return 0, fmt.Errorf("-%c %s: %w", c, arg, err)
			}
			return uint8(v), nil
		}
		set := func(option string, base int) error {
			v, err := num(base)
			if err != nil {
				return err
			}
			return conf.Set(option, strconv.Itoa(int(v)))
		}
		var err error
		switch c {
		case 'u', '2', '4', '6':
			n := map[byte]ptp.NetworkProtocol{'u': 0, '2': ptp.ProtocolIEEE802_3, '4': ptp.ProtocolUDPIPv4, '6': ptp.ProtocolUDPIPv6}[c]
			network = &n
		case 'b':
			o.cfg.BoundaryHops, err = num(10)
		case 'd':
			err = set("domainNumber", 10)
		case 't':
			err = set("transportSpecific", 16)
		case 's':
			err = conf.Set("uds_address", arg)
		case 'i':
			o.cfg.Interface = arg
		case 'f':
			file = arg
		case 'z':
			o.zeroLength = true
		case 'h':
			o.help = true
		case 'v':
			o.version = true
		default:
			return getopt.Invalid(c)
		}
		return err
	}
	err := getopt.Parse(args, getopt.Handlers{
		WithArg: "bdtsif",
		Short:   short,
		Flags:   []string{"json"},
		Long: func(name, value string) error {
			if name == "json" {
				o.json = true
				return nil
			}
			return conf.Set(name, value)
		},
		Positional: func(a string) error { o.commands = append(o.commands, a); return nil },
	})
	if err != nil {
		return nil, err
	}
	if o.help || o.version {
		return o, nil
	}
	if file != "" {
		if err := conf.ReadFile(file); err != nil {
			return nil, err
		}
	}
	// The file's other options (a daemon's ptp4l.conf, often) are not
	// pmc's business: its warnings about them are not printed.
	m, err := conf.Management()
	if err != nil {
		return nil, err
	}
	o.cfg.Network, o.cfg.Domain, o.cfg.TransportSpecific, o.cfg.Server = m.Network, m.Domain, m.TransportSpecific, m.UDSAddress
	if network != nil {
		o.cfg.Network = *network
	}
	if m.Security != nil {
		o.cfg.SA, o.cfg.Key, o.cfg.AllowUnauth = m.Security.SA, m.Security.Key, m.AllowUnauth
	}
	if o.cfg.Network != 0 && o.cfg.Interface == "" {
		return nil, errors.New("network management needs an interface: give -i, or -u for the daemon's UNIX socket")
	}
	return o, nil
}

// request builds the management message for one pmc command. A command
// it refuses takes no sequenceId from c, as in pmc.
func request(c *mgmt.Client, o *options, cmd string) (*ptp.Management, string, error) {
	f := strings.Fields(cmd)
	if len(f) < 2 {
		return nil, "", fmt.Errorf("bad command: %s", cmd)
	}
	var action ptp.ManagementAction
	switch strings.ToUpper(f[0]) {
	case "GET":
		action = ptp.ActionGet
	case "SET":
		action = ptp.ActionSet
	case "CMD", "COMMAND":
		action = ptp.ActionCommand
	default:
		return nil, "", fmt.Errorf("bad command: %s", cmd)
	}
	id, err := ptp.ParseManagementID(f[1])
	if err != nil {
		return nil, "", err
	}
	d := ptp.NewManagementData(id)
	var datum *ptp.Datum
	if action == ptp.ActionSet {
		var ok bool
		datum, ok = d.(*ptp.Datum)
		if !ok || len(f) < 3 {
			return nil, "", fmt.Errorf("bad command: %s (SET takes one value, for the one-octet data sets)", cmd)
		}
		v, err := strconv.ParseInt(f[2], 0, 16)
		if err != nil || v < -128 || v > 255 {
			return nil, "", fmt.Errorf("bad command: %s: %q is not an octet", cmd, f[2])
		}
		datum.Value = uint8(v)
	}
	m := c.Request(action)
	switch {
	case datum != nil:
		if err := m.SetData(datum); err != nil {
			return nil, "", err
		}
	case d != nil && !o.zeroLength && action == ptp.ActionGet:
		// As pmc: a GET carries a zeroed dataField of the data set's size.
		if err := m.SetData(d); err != nil {
			return nil, "", err
		}
	default:
		if err := m.SetEmpty(id); err != nil {
			return nil, "", err
		}
	}
	return m, strings.ToUpper(f[0]) + " " + id.String(), nil
}

// jsonResponse is one response for --json.
type jsonResponse struct {
	Source string             `json:"source"`
	Seq    uint16             `json:"seq"`
	Action string             `json:"action"`
	ID     string             `json:"id"`
	Error  string             `json:"error,omitempty"`
	Data   ptp.ManagementData `json:"data,omitempty"`
}

func show(w io.Writer, o *options, m *ptp.Management) {
	if !o.json {
		io.WriteString(w, pmc.Text(m))
		return
	}
	r := jsonResponse{Source: m.SourcePortIdentity.String(), Seq: m.SequenceID, Action: m.ActionField.String()}
	if es, ok, _ := m.ErrorStatus(); ok {
		r.ID, r.Error = es.ManagementID.String(), es.ManagementErrorID.String()
	} else if id, _, ok, _ := m.ManagementTLV(); ok {
		r.ID = id.String()
		if d := ptp.NewManagementData(id); d != nil {
			if p, ok := d.(*ptp.Datum); ok {
				p.ID = id
			}
			if m.Data(d) == nil {
				r.Data = d
			}
		}
	}
	b, _ := json.Marshal(r)
	fmt.Fprintf(w, "%s\n", b)
}

// run does what pmc does in batch mode: it sends each command in turn,
// printing "sending: ..." (text mode), shows at most one reply between
// sends, then shows replies until 100 ms pass without one.
func run(args []string, stdout, stderr io.Writer) error { return runIO(args, os.Stdin, stdout, stderr) }

// runIO is run with its standard input: without commands on the command
// line, pmc reads them from there one per line (interactive mode).
func runIO(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o, err := parse(args)
	if err != nil {
		return err
	}
	if o.help {
		io.WriteString(stdout, usage)
		return nil
	}
	if o.version {
		fmt.Fprintln(stdout, "0.1.0-dev")
		return nil
	}
	if o.cfg.Network == 0 {
		// pmc's own socket, where the daemon answers.
		o.cfg.Local = fmt.Sprintf("/var/run/pmc.%d", os.Getpid())
		if _, err := os.Stat("/var/run"); err != nil || !writable("/var/run") {
			o.cfg.Local = fmt.Sprintf("%s/pmc.%d", os.TempDir(), os.Getpid())
		}
	}
	c, err := mgmt.Open(o.cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	recv := func(wait time.Duration) bool {
		m, err := c.Receive(wait)
		if err != nil {
			return false
		}
		show(stdout, o, m)
		return true
	}
	interactive := len(o.commands) == 0
	var lines *bufio.Scanner
	if interactive {
		lines = bufio.NewScanner(stdin)
	}
	next := func(i int) (string, bool) {
		if !interactive {
			if i < len(o.commands) {
				return o.commands[i], true
			}
			return "", false
		}
		for lines.Scan() {
			if l := strings.TrimSpace(lines.Text()); l != "" {
				return l, true
			}
		}
		return "", false
	}
	for i := 0; ; i++ {
		cmd, ok := next(i)
		if !ok {
			break
		}
		m, name, err := request(c, o, cmd)
		if err != nil {
			fmt.Fprintf(stderr, "bad command: %s\n", cmd)
			continue
		}
		if !o.json {
			fmt.Fprintf(stdout, "sending: %s\n", name)
		}
		if err := c.Send(m); err != nil {
			return err
		}
		if interactive {
			// Show the answers before reading the next command.
			for recv(100 * time.Millisecond) {
			}
			continue
		}
		recv(time.Millisecond)
	}
	for recv(100 * time.Millisecond) {
	}
	reportAuth(c, stderr)
	return nil
}

// reportAuth says how many answers failed authentication, by reason:
// pmc's "auth: bad message", once per reason rather than per message.
func reportAuth(c *mgmt.Client, stderr io.Writer) {
	for f := auth.FailMalformed; f < auth.NumFailures; f++ {
		if n := c.AuthFailures(f); n > 0 {
			fmt.Fprintf(stderr, "auth: bad message: %s (%d)\n", f, n)
		}
	}
}

func writable(dir string) bool {
	f, err := os.CreateTemp(dir, ".roko-pmc-probe")
	if err != nil {
		return false
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return true
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "roko-pmc: %v\n", err)
		os.Exit(1)
	}
}
