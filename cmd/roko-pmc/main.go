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
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/pmc"
	"github.com/roko-network/roko-ptpd/transport"
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
	network       byte   // '2', '4' or '6': network management; 0 with -u
	iface         string // -i
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
			o.network = c
			o.uds = false
		case 'b':
			o.hops, err = num(10)
		case 'd':
			o.domain, err = num(10)
		case 't':
			o.transportSp, err = num(16)
		case 's':
			o.server = arg
		case 'i':
			o.iface = arg
		case 'f':
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
	if !o.uds && o.network == 0 {
		o.network = '4' // pmc's default transport
	}
	if o.network != 0 && o.iface == "" && !o.help && !o.version {
		return nil, errors.New("network management needs an interface: give -i, or -u for the daemon's UNIX socket")
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
	l, err := openLink(o)
	if err != nil {
		return err
	}
	defer l.Close()
	buf := make([]byte, 1500)
	recv := func(wait time.Duration) bool {
		n, ok := l.Recv(buf, wait)
		if !ok {
			return false
		}
		var m ptp.Management
		if err := m.UnmarshalBinary(buf[:n]); err != nil || m.ActionField == ptp.ActionGet || m.ActionField == ptp.ActionSet || m.ActionField == ptp.ActionCommand {
			return true // not an answer: keep listening
		}
		show(stdout, o, &m)
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
	// As pmc, a command that is not sent takes no sequenceId.
	var seq uint16
	for i := 0; ; i++ {
		cmd, ok := next(i)
		if !ok {
			break
		}
		m, name, err := request(o, cmd, seq)
		if err != nil {
			fmt.Fprintf(stderr, "bad command: %s\n", cmd)
			continue
		}
		seq++
		b, err := m.AppendBinary(nil)
		if err != nil {
			return err
		}
		if !o.json {
			fmt.Fprintf(stdout, "sending: %s\n", name)
		}
		if err := l.Send(b); err != nil {
			return fmt.Errorf("sending: %w", err)
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

// link carries management messages to the daemon and answers back.
type link interface {
	Send(b []byte) error
	// Recv waits up to wait for a message; false on silence.
	Recv(b []byte, wait time.Duration) (int, bool)
	Close() error
}

type udsLink struct{ c *transport.UDS }

func (u udsLink) Send(b []byte) error { return u.c.Send(b) }
func (u udsLink) Close() error        { return u.c.Close() }
func (u udsLink) Recv(b []byte, wait time.Duration) (int, bool) {
	_ = u.c.SetReadDeadline(time.Now().Add(wait))
	n, _, err := u.c.Receive(b)
	return n, err == nil
}

// netLink is network management: the general port and the primary
// destination of the chosen transport, as pmc -2/-4/-6 -i IFACE.
type netLink struct{ tr *transport.Transport }

func (l netLink) Send(b []byte) error { return l.tr.SendGeneral(b, l.tr.Primary) }
func (l netLink) Close() error        { return l.tr.Close() }
func (l netLink) Recv(b []byte, wait time.Duration) (int, bool) {
	deadline := time.Now().Add(wait)
	var info transport.RxInfo
	for {
		n, err := l.tr.General.TryReceive(b, &info)
		if err == nil {
			if t, perr := ptp.PeekMessageType(b[:n]); perr == nil && t == ptp.MessageManagement {
				return n, true
			}
			continue // other PTP traffic on the general port
		}
		if !errors.Is(err, transport.ErrWouldBlock) || time.Now().After(deadline) {
			return 0, false
		}
		time.Sleep(500 * time.Microsecond)
	}
}

func openLink(o *options) (link, error) {
	if o.network == 0 {
		local := fmt.Sprintf("/var/run/pmc.%d", os.Getpid())
		if _, err := os.Stat("/var/run"); err != nil || !writable("/var/run") {
			local = fmt.Sprintf("%s/pmc.%d", os.TempDir(), os.Getpid())
		}
		c, err := transport.DialUDS(local, o.server)
		if err != nil {
			return nil, err
		}
		return udsLink{c}, nil
	}
	cfg := transport.Config{Interface: o.iface, Timestamping: transport.Software}
	var tr *transport.Transport
	var err error
	switch o.network {
	case '2':
		tr, err = transport.OpenL2(cfg)
	case '6':
		tr, err = transport.OpenUDPv6(cfg)
	default:
		tr, err = transport.OpenUDPv4(cfg)
	}
	if err != nil {
		return nil, err
	}
	return netLink{tr}, nil
}
