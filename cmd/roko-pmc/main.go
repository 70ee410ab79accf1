// Command roko-pmc is a PTP management client that takes linuxptp pmc's
// command line and prints its text, so scripts written for pmc keep
// working; --json prints the same answers for machines.
//
//	roko-pmc -u -b 0 'GET CURRENT_DATA_SET' 'GET TIME_STATUS_NP'
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/roko-network/roko-ptpd/internal/getopt"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/pmc"
	"github.com/roko-network/roko-ptpd/transport"
)

const usage = `usage: roko-pmc [options] [commands]

 Network Transport

 -2        IEEE 802.3 (not supported yet)
 -4        UDP IPV4 (not supported yet)
 -6        UDP IPV6 (not supported yet)
 -u        UDS local

 Other Options

 -b [num]  boundary hops, default 1
 -d [num]  domain number, default 0
 -f [file] read configuration from 'file' (accepted, not read)
 -h        prints this message and exits
 -i [dev]  interface device to use (network transports)
 -s [path] server address for UDS, default /var/run/ptp4l
 -t [hex]  transport specific field, default 0x0
 -v        prints the software version and exits
 -z        send zero length TLV values with the GET actions
 --json    print responses as JSON lines

 Commands: GET NAME, SET NAME VALUE (for the one-octet data sets),
 CMD NAME; NAME may be any unique prefix, as in pmc.
`

// options are pmc's flags.
type options struct {
	uds           bool
	hops          uint8
	domain        uint8
	server        string
	transportSp   uint8
	zeroLength    bool
	json          bool
	commands      []string
	help, version bool
}

func parse(args []string) (*options, error) {
	o := &options{hops: 1, server: transport.DefaultUDSAddress}
	short := func(c byte, arg string) error {
		num := func(base int) (uint8, error) {
			v, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(arg), "0x"), base, 8)
			if err != nil {
				return 0, fmt.Errorf("-%c %s: %w", c, arg, err)
			}
			return uint8(v), nil
		}
		var err error
		switch c {
		case 'u':
			o.uds = true
		case '2', '4', '6':
			return fmt.Errorf("-%c: roko-pmc speaks to the daemon's UNIX socket only so far; use -u", c)
		case 'b':
			o.hops, err = num(10)
		case 'd':
			o.domain, err = num(10)
		case 't':
			o.transportSp, err = num(16)
		case 's':
			o.server = arg
		case 'i', 'f':
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
		Long: func(name, _ string) error {
			if name != "json" {
				return fmt.Errorf("unknown option --%s", name)
			}
			o.json = true
			return nil
		},
		Positional: func(a string) error { o.commands = append(o.commands, a); return nil },
	})
	if err != nil {
		return nil, err
	}
	if !o.uds && !o.help && !o.version {
		return nil, errors.New("give -u: roko-pmc speaks to the daemon's UNIX socket (uds_address)")
	}
	return o, nil
}

// request builds the management message for one pmc command.
func request(o *options, cmd string, seq uint16) (*ptp.Management, string, error) {
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
	self := ptp.PortIdentity{PortNumber: uint16(os.Getpid())}
	m := &ptp.Management{
		Header: ptp.Header{MajorSdoID: o.transportSp, VersionPTP: ptp.VersionPTP2, DomainNumber: o.domain,
			SourcePortIdentity: self, SequenceID: seq, ControlField: ptp.ControlFieldFor(ptp.MessageManagement),
			LogMessageInterval: ptp.LogIntervalUnspecified},
		TargetPortIdentity:   ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, PortNumber: 0xffff},
		StartingBoundaryHops: o.hops, BoundaryHops: o.hops, ActionField: action,
	}
	d := ptp.NewManagementData(id)
	switch {
	case action == ptp.ActionSet:
		datum, ok := d.(*ptp.Datum)
		if !ok || len(f) < 3 {
			return nil, "", fmt.Errorf("bad command: %s (SET takes one value, for the one-octet data sets)", cmd)
		}
		v, err := strconv.ParseInt(f[2], 0, 16)
		if err != nil || v < -128 || v > 255 {
			return nil, "", fmt.Errorf("bad command: %s: %q is not an octet", cmd, f[2])
		}
		datum.Value = uint8(v)
		err = m.SetData(datum)
		if err != nil {
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
func run(args []string, stdout, stderr io.Writer) error {
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
	local := fmt.Sprintf("/var/run/pmc.%d", os.Getpid())
	if _, err := os.Stat("/var/run"); err != nil || !writable("/var/run") {
		local = fmt.Sprintf("%s/pmc.%d", os.TempDir(), os.Getpid())
	}
	c, err := transport.DialUDS(local, o.server)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, 1500)
	recv := func(wait time.Duration) bool {
		_ = c.SetReadDeadline(time.Now().Add(wait))
		n, _, err := c.Receive(buf)
		if err != nil {
			return false
		}
		var m ptp.Management
		if err := m.UnmarshalBinary(buf[:n]); err != nil {
			return true
		}
		show(stdout, o, &m)
		return true
	}
	for seq, cmd := range o.commands {
		m, name, err := request(o, cmd, uint16(seq))
		if err != nil {
			fmt.Fprintf(stderr, "bad command: %s\n", cmd)
			continue
		}
		b, err := m.AppendBinary(nil)
		if err != nil {
			return err
		}
		if !o.json {
			fmt.Fprintf(stdout, "sending: %s\n", name)
		}
		if err := c.Send(b); err != nil {
			return fmt.Errorf("sending to %s: %w", o.server, err)
		}
		recv(time.Millisecond)
	}
	for recv(100 * time.Millisecond) {
	}
	return nil
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
