// Package mgmt is the PTP management client of roko-pmc, roko-phc2sys
// (and the daemon's phc2sys job) and roko-ptpctl: it sends GET, SET and
// COMMAND messages to a running daemon (roko-ptpd or ptp4l) over its UNIX
// socket (uds_address), or to every clock on a link as pmc -2/-4/-6 does,
// and collects the RESPONSE and ACKNOWLEDGE messages that answer them,
// matched by sequenceId.
//
// It is a client and nothing more. It must never answer a management
// request, serve a socket or steer a clock (the daemon does that), never
// send anything but management messages, never wait without a deadline,
// and never fail or panic on what it receives: a message it cannot decode
// is counted (Client.Malformed) and dropped, other PTP traffic and other
// clients' requests are ignored, and answers to no question of ours are
// queued as notifications.
package mgmt

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/auth"
	"github.com/roko-network/roko-ptpd/transport"
)

// Config says whom a Client asks and how its requests look. The zero value
// plus Server asks one daemon over its UNIX socket in domain 0, as
// phc2sys does.
type Config struct {
	// Network is 0 for the daemon's UNIX socket (pmc -u), or the network
	// to ask every clock on a link over: ptp.ProtocolIEEE802_3 (pmc -2),
	// ptp.ProtocolUDPIPv4 (-4) or ptp.ProtocolUDPIPv6 (-6).
	Network ptp.NetworkProtocol
	// Server is the daemon's uds_address (UNIX socket; default
	// transport.DefaultUDSAddress).
	Server string
	// Local is the path the client's own socket binds, where the daemon
	// sends its answers (UNIX socket; default a fresh name in
	// os.TempDir()).
	Local string
	// Interface is the network interface (network; required).
	Interface string
	// Domain is the domainNumber of the requests.
	Domain uint8
	// BoundaryHops is the startingBoundaryHops and boundaryHops of the
	// requests: how many boundary clocks may pass them on (pmc -b). 0
	// reaches only the clock that receives them.
	BoundaryHops uint8
	// TransportSpecific is the transportSpecific nibble (majorSdoId) of
	// the requests (pmc -t).
	TransportSpecific uint8
	// Timeout bounds the wait for the first answer to a Get or Set
	// (default 1 s); Client.Timeout changes it later.
	Timeout time.Duration
	// SA, when not nil, is the security association of the daemon's
	// management (pmc's spp, in sa_file): every request carries an
	// AUTHENTICATION TLV under Key (active_key_id), and every answer is
	// authenticated before it is read, as linuxptp 4.4's pmc does. Its
	// keys must not be used elsewhere while the Client is (an auth.Key is
	// not safe for concurrent use).
	SA  *auth.SecurityAssociation
	Key *auth.Key
	// AllowUnauth is pmc's allow_unauth: the answers taken that fail
	// authentication (with SA only).
	AllowUnauth auth.AllowUnauth
}

// Client asks one daemon (UNIX socket) or the clocks on one link
// (network). It is not safe for concurrent use.
type Client struct {
	link link
	// peer names the far end in errors: the server's path, or the
	// interface and transport.
	peer string
	cfg  Config
	// seq is the sequenceId the next request takes: 0 first, as pmc.
	seq  uint16
	self ptp.PortIdentity
	buf  []byte
	out  []byte
	// pending holds answers to no question of ours (notifications, as
	// SUBSCRIBE_EVENTS_NP brings) that arrived while a question waited.
	pending   []*ptp.Management
	malformed uint64
	// verify authenticates answers when the Config has an SA.
	verify *auth.Verifier
	// Timeout bounds the wait for the first answer to a Get or Set.
	Timeout time.Duration
}

// Open connects as cfg says: to a UNIX socket from one of its own bound at
// cfg.Local; over a network, through the general port of cfg.Interface
// (software timestamps, which it never reads).
func Open(cfg Config) (*Client, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Second
	}
	c := &Client{cfg: cfg, self: ptp.PortIdentity{PortNumber: uint16(os.Getpid())},
		buf: make([]byte, 1500), Timeout: cfg.Timeout}
	if cfg.SA != nil {
		if cfg.Key == nil || cfg.SA.Key(cfg.Key.ID) != cfg.Key {
			return nil, errors.New("mgmt: a security association needs one of its keys to sign with")
		}
		c.verify = auth.NewVerifier(cfg.SA)
		c.verify.AllowUnauth = cfg.AllowUnauth
	}
	if cfg.Network == 0 {
		if cfg.Server == "" {
			cfg.Server = transport.DefaultUDSAddress
		}
		if cfg.Local == "" {
			cfg.Local = fmt.Sprintf("%s/roko-mgmt.%d.%d", os.TempDir(), os.Getpid(), time.Now().UnixNano())
		}
		s, err := transport.DialUDS(cfg.Local, cfg.Server)
		if err != nil {
			return nil, err
		}
		c.link, c.peer = udsLink{s}, cfg.Server
		return c, nil
	}
	open := map[ptp.NetworkProtocol]func(transport.Config) (*transport.Transport, error){
		ptp.ProtocolIEEE802_3: transport.OpenL2, ptp.ProtocolUDPIPv4: transport.OpenUDPv4, ptp.ProtocolUDPIPv6: transport.OpenUDPv6}[cfg.Network]
	if open == nil {
		return nil, fmt.Errorf("mgmt: management over %s: want IEEE 802.3, UDPv4 or UDPv6", cfg.Network)
	}
	if cfg.Interface == "" {
		return nil, fmt.Errorf("mgmt: management over %s needs an interface", cfg.Network)
	}
	tr, err := open(transport.Config{Interface: cfg.Interface, Timestamping: transport.Software})
	if err != nil {
		return nil, err
	}
	c.link, c.peer = &netLink{tr: tr}, fmt.Sprintf("%s (%s)", cfg.Interface, cfg.Network)
	return c, nil
}

// Dial connects to the daemon at server (uds_address) in domain, from a
// socket of our own in the temporary directory.
func Dial(server string, domain uint8) (*Client, error) {
	return Open(Config{Server: server, Domain: domain})
}

// Close closes the client's socket (and removes its file, if it has one).
func (c *Client) Close() error { return c.link.close() }

// ErrNoAnswer is wrapped by the error of a wait that ended in silence; the
// error says what was asked, of whom, and for how long.
var ErrNoAnswer = errors.New("no answer from the daemon")

// Malformed returns how many received management messages could not be
// decoded; each was dropped.
func (c *Client) Malformed() uint64 { return c.malformed }

// AuthFailures returns how many answers failed authentication for reason
// f (with an SA): dropped, unless AllowUnauth took them.
func (c *Client) AuthFailures(f auth.Failure) uint64 {
	if c.verify == nil {
		return 0
	}
	return c.verify.Failures(f)
}

// Request returns a management message from this client with the next
// sequenceId and action, addressed to every port of every clock, with the
// domain, boundary hops and transportSpecific of its Config and no TLV
// yet: add one (SetData or SetEmpty) and Send it.
func (c *Client) Request(action ptp.ManagementAction) *ptp.Management {
	m := &ptp.Management{
		Header: ptp.Header{MajorSdoID: c.cfg.TransportSpecific, VersionPTP: ptp.VersionPTP2, DomainNumber: c.cfg.Domain,
			SourcePortIdentity: c.self, SequenceID: c.seq, ControlField: ptp.ControlFieldFor(ptp.MessageManagement),
			LogMessageInterval: ptp.LogIntervalUnspecified},
		TargetPortIdentity:   ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, PortNumber: 0xffff},
		StartingBoundaryHops: c.cfg.BoundaryHops, BoundaryHops: c.cfg.BoundaryHops,
		ActionField: action,
	}
	c.seq++
	return m
}

// Send sends m (a Request with its TLV) and does not wait for an answer;
// Receive reads the answers.
func (c *Client) Send(m *ptp.Management) error {
	b, err := m.AppendBinary(c.out[:0])
	if err != nil {
		return err
	}
	if c.cfg.SA != nil {
		if b, err = auth.Append(b, c.cfg.SA, c.cfg.Key); err != nil {
			return fmt.Errorf("mgmt: signing %s: %w", m.ActionField, err)
		}
	}
	c.out = b
	if err := c.link.send(b); err != nil {
		return fmt.Errorf("mgmt: sending %s to %s: %w", m.ActionField, c.peer, err)
	}
	return nil
}

// Receive returns the next answer (RESPONSE or ACKNOWLEDGE) to any
// question, queued notifications first, waiting up to wait for one: what
// pmc shows as it comes. Silence is an error wrapping ErrNoAnswer.
func (c *Client) Receive(wait time.Duration) (*ptp.Management, error) {
	if len(c.pending) > 0 {
		m := c.pending[0]
		c.pending = c.pending[1:]
		return m, nil
	}
	m, err := c.next(time.Now().Add(max(wait, time.Millisecond)))
	if err != nil {
		return nil, c.silence("waiting for an answer", wait, err)
	}
	return m, nil
}

// silence turns a failed wait into an error that says what was waited for.
func (c *Client) silence(what string, wait time.Duration, err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("mgmt: %s: %w at %s within %v", what, ErrNoAnswer, c.peer, wait)
	}
	return fmt.Errorf("mgmt: %s from %s: %w", what, c.peer, err)
}

// next reads until deadline for an answer: a management message that is
// not a request. Other PTP messages and requests (other clients', or our
// own looped back by multicast) are skipped; undecodable ones are counted.
// With an SA, an answer that fails authentication is counted and
// dropped unless AllowUnauth takes it. A wait that ends in silence
// returns os.ErrDeadlineExceeded.
func (c *Client) next(deadline time.Time) (*ptp.Management, error) {
	for {
		n, err := c.link.receive(c.buf, deadline)
		if err != nil {
			return nil, err
		}
		b := c.buf[:n]
		if t, err := ptp.PeekMessageType(b); err == nil && t != ptp.MessageManagement {
			continue
		}
		if c.verify != nil && !isRequest(b) {
			if _, ok := c.verify.Verify(b); !ok {
				continue
			}
			b = auth.Strip(b)
		}
		var m ptp.Management
		if m.UnmarshalBinary(b) != nil {
			c.malformed++
			continue
		}
		switch m.ActionField {
		case ptp.ActionGet, ptp.ActionSet, ptp.ActionCommand:
			continue
		}
		return &m, nil
	}
}

// isRequest reports whether the management message b is a GET, SET or
// COMMAND: another client's, or our own looped back, which is skipped
// without being authenticated.
func isRequest(b []byte) bool {
	const offAction = 46
	if len(b) <= offAction {
		return false
	}
	switch ptp.ManagementAction(b[offAction] & 0x0f) {
	case ptp.ActionGet, ptp.ActionSet, ptp.ActionCommand:
		return true
	}
	return false
}

// Get asks for id and returns every response to it (one per port for the
// port data sets) until the daemon falls silent.
func (c *Client) Get(id ptp.ManagementID) ([]*ptp.Management, error) {
	m := c.Request(ptp.ActionGet)
	if err := m.SetEmpty(id); err != nil {
		return nil, err
	}
	return c.ask(id, m)
}

// Set sends SET d and returns the daemon's answers.
func (c *Client) Set(d ptp.ManagementData) ([]*ptp.Management, error) {
	m := c.Request(ptp.ActionSet)
	if err := m.SetData(d); err != nil {
		return nil, err
	}
	return c.ask(d.ManagementID(), m)
}

// Subscribe asks the daemon for the notifications whose bits (ptp.Notify*) are given,
// for d (whole seconds, at most about 18 hours); renew before it ends.
// They arrive as responses read by Notifications.
func (c *Client) Subscribe(d time.Duration, bits ...int) error {
	ev := ptp.SubscribeEventsNP{Duration: uint16(min(d/time.Second, 0xffff))}
	for _, b := range bits {
		ev.Subscribe(b)
	}
	_, err := c.Set(&ev)
	return err
}

// Notifications returns the notifications (RESPONSE messages that answer
// no question of ours) that have arrived, waiting up to wait for the first
// when none is queued.
func (c *Client) Notifications(wait time.Duration) []*ptp.Management {
	// A deadline already past fails a read without trying it, so "do not
	// wait" still allows the socket a millisecond.
	wait = max(wait, time.Millisecond)
	for {
		if len(c.pending) > 0 {
			wait = time.Millisecond
		}
		m, err := c.next(time.Now().Add(wait))
		if err != nil {
			break
		}
		c.keep(m)
	}
	var out []*ptp.Management
	for _, m := range c.pending {
		if m.ActionField == ptp.ActionResponse {
			out = append(out, m)
		}
	}
	c.pending = nil
	return out
}

// keep queues an answer to no question of ours, up to a bound.
func (c *Client) keep(m *ptp.Management) {
	if len(c.pending) < 1024 {
		c.pending = append(c.pending, m)
	}
}

// ask sends m and collects the responses to it, keeping notifications
// that arrive meanwhile.
func (c *Client) ask(id ptp.ManagementID, m *ptp.Management) ([]*ptp.Management, error) {
	what := m.ActionField.String() + " " + id.String()
	if err := c.Send(m); err != nil {
		return nil, err
	}
	var out []*ptp.Management
	deadline := time.Now().Add(c.Timeout)
	for {
		r, err := c.next(deadline)
		if err != nil {
			if len(out) == 0 {
				return nil, c.silence(what, c.Timeout, err)
			}
			return out, nil
		}
		if r.SequenceID != m.SequenceID {
			c.keep(r)
			continue
		}
		if es, ok, _ := r.ErrorStatus(); ok {
			return nil, fmt.Errorf("mgmt: %s: %s", what, es.ManagementErrorID)
		}
		out = append(out, r)
		deadline = time.Now().Add(20 * time.Millisecond) // the rest come at once
	}
}

// PortStates returns the state of every port.
func (c *Client) PortStates() ([]ptp.PortState, error) {
	rs, err := c.Get(ptp.MIDPortDataSet)
	if err != nil {
		return nil, err
	}
	var st []ptp.PortState
	for _, r := range rs {
		var ds ptp.PortDataSet
		if err := r.Data(&ds); err != nil {
			return nil, err
		}
		st = append(st, ds.PortState)
	}
	return st, nil
}

// TimeProperties returns the daemon's timePropertiesDS.
func (c *Client) TimeProperties() (ptp.TimePropertiesDataSet, error) {
	var tp ptp.TimePropertiesDataSet
	rs, err := c.Get(ptp.MIDTimePropertiesDataSet)
	if err != nil {
		return tp, err
	}
	return tp, rs[0].Data(&tp)
}

// Current returns the daemon's currentDS.
func (c *Client) Current() (ptp.CurrentDataSet, error) {
	var cds ptp.CurrentDataSet
	rs, err := c.Get(ptp.MIDCurrentDataSet)
	if err != nil {
		return cds, err
	}
	return cds, rs[0].Data(&cds)
}

// TimeSource returns roko-ptpd's TIME_SOURCE_NP: the state of a
// grandmaster's time source. A daemon without one (not a grandmaster
// with a source, or ptp4l) answers with an error status, returned as an
// error.
func (c *Client) TimeSource() (ptp.TimeSourceNP, error) {
	var ts ptp.TimeSourceNP
	rs, err := c.Get(ptp.MIDTimeSourceNP)
	if err != nil {
		return ts, err
	}
	return ts, rs[0].Data(&ts)
}

// Port returns the first port's state and interface (PORT_PROPERTIES_NP).
func (c *Client) Port() (ptp.PortState, string, error) {
	rs, err := c.Get(ptp.MIDPortPropertiesNP)
	if err != nil {
		return 0, "", err
	}
	var pp ptp.PortPropertiesNP
	if err := rs[0].Data(&pp); err != nil {
		return 0, "", err
	}
	return pp.PortState, string(pp.Interface), nil
}

// link carries management messages to and from the far end.
type link interface {
	send(b []byte) error
	// receive waits until deadline for a datagram; silence is
	// os.ErrDeadlineExceeded.
	receive(b []byte, deadline time.Time) (int, error)
	close() error
}

// udsLink is the daemon's UNIX socket.
type udsLink struct{ s *transport.UDS }

func (l udsLink) send(b []byte) error { return l.s.Send(b) }
func (l udsLink) close() error        { return l.s.Close() }
func (l udsLink) receive(b []byte, deadline time.Time) (int, error) {
	if err := l.s.SetReadDeadline(deadline); err != nil {
		return 0, err
	}
	n, _, err := l.s.Receive(b)
	return n, err
}

// netLink is the general port of a network transport: requests go to its
// primary destination, answers come from every clock on the link.
type netLink struct {
	tr   *transport.Transport
	info transport.RxInfo
}

func (l *netLink) send(b []byte) error { return l.tr.SendGeneral(b, l.tr.Primary) }
func (l *netLink) close() error        { return l.tr.Close() }
func (l *netLink) receive(b []byte, deadline time.Time) (int, error) {
	fd, err := l.tr.General.FD()
	if err != nil {
		return 0, err
	}
	for {
		n, err := l.tr.General.TryReceive(b, &l.info)
		if !errors.Is(err, transport.ErrWouldBlock) {
			return n, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return 0, os.ErrDeadlineExceeded
		}
		// Round up: poll(2) would spin on a timeout of 0 ms.
		ms := int((left + time.Millisecond - 1) / time.Millisecond)
		if _, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, ms); err != nil && err != unix.EINTR {
			return 0, fmt.Errorf("mgmt: poll: %w", err)
		}
	}
}
