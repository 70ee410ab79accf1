// Package mgmt is a PTP management client over a daemon's UNIX socket
// (ptp4l's or roko-ptpd's uds_address): what phc2sys -w and the monitoring
// commands ask a running daemon.
package mgmt

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/transport"
)

// Client asks one daemon.
type Client struct {
	sock   *transport.UDS
	domain uint8
	seq    uint16
	self   ptp.PortIdentity
	buf    []byte
	// pending holds notifications (responses nobody asked for, as
	// SUBSCRIBE_EVENTS_NP brings) that arrived while a question waited.
	pending []*ptp.Management
	// Timeout bounds each question (default 1 s).
	Timeout time.Duration
}

// Dial connects to the daemon at server (uds_address) in domain, from a
// socket of our own in the temporary directory.
func Dial(server string, domain uint8) (*Client, error) {
	local := fmt.Sprintf("%s/roko-mgmt.%d.%d", os.TempDir(), os.Getpid(), time.Now().UnixNano())
	s, err := transport.DialUDS(local, server)
	if err != nil {
		return nil, err
	}
	return &Client{sock: s, domain: domain, self: ptp.PortIdentity{PortNumber: uint16(os.Getpid())},
		buf: make([]byte, 1500), Timeout: time.Second}, nil
}

// Close closes the client's socket.
func (c *Client) Close() error { return c.sock.Close() }

// ErrNoAnswer: the daemon did not answer in time.
var ErrNoAnswer = errors.New("no answer from the daemon")

// request returns a management message to every port of the daemon.
func (c *Client) request(action ptp.ManagementAction) *ptp.Management {
	c.seq++
	return &ptp.Management{
		Header: ptp.Header{VersionPTP: ptp.VersionPTP2, DomainNumber: c.domain, SourcePortIdentity: c.self,
			SequenceID: c.seq, ControlField: ptp.ControlFieldFor(ptp.MessageManagement), LogMessageInterval: ptp.LogIntervalUnspecified},
		TargetPortIdentity: ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, PortNumber: 0xffff},
		ActionField:        action,
	}
}

// Get asks for id and returns every response to it (one per port for the
// port data sets) until the daemon falls silent.
func (c *Client) Get(id ptp.ManagementID) ([]*ptp.Management, error) {
	m := c.request(ptp.ActionGet)
	if err := m.SetEmpty(id); err != nil {
		return nil, err
	}
	return c.ask(id, m)
}

// Set sends SET d and returns the daemon's answers.
func (c *Client) Set(d ptp.ManagementData) ([]*ptp.Management, error) {
	m := c.request(ptp.ActionSet)
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

// Notifications returns the notifications that have arrived, waiting up
// to wait for the first when none is queued.
func (c *Client) Notifications(wait time.Duration) []*ptp.Management {
	// A deadline already past fails a read without trying it, so "do not
	// wait" still allows the socket a millisecond.
	wait = max(wait, time.Millisecond)
	for {
		if len(c.pending) > 0 {
			wait = time.Millisecond
		}
		_ = c.sock.SetReadDeadline(time.Now().Add(wait))
		n, _, err := c.sock.Receive(c.buf)
		if err != nil {
			break
		}
		c.keep(c.buf[:n])
	}
	out := c.pending
	c.pending = nil
	return out
}

// keep queues a notification: a RESPONSE that answers no question of ours.
func (c *Client) keep(b []byte) {
	var r ptp.Management
	if r.UnmarshalBinary(b) == nil && r.ActionField == ptp.ActionResponse && len(c.pending) < 1024 {
		c.pending = append(c.pending, &r)
	}
}

// ask sends m and collects the responses to it, keeping notifications
// that arrive meanwhile.
func (c *Client) ask(id ptp.ManagementID, m *ptp.Management) ([]*ptp.Management, error) {
	b, err := m.AppendBinary(nil)
	if err != nil {
		return nil, err
	}
	if err := c.sock.Send(b); err != nil {
		return nil, err
	}
	var out []*ptp.Management
	wait := c.Timeout
	for {
		_ = c.sock.SetReadDeadline(time.Now().Add(wait))
		n, _, err := c.sock.Receive(c.buf)
		if err != nil {
			break
		}
		var r ptp.Management
		if r.UnmarshalBinary(c.buf[:n]) != nil {
			continue
		}
		if r.SequenceID != c.seq {
			c.keep(c.buf[:n])
			continue
		}
		if es, ok, _ := r.ErrorStatus(); ok {
			return nil, fmt.Errorf("%s: %s", id, es.ManagementErrorID)
		}
		out = append(out, &r)
		wait = 20 * time.Millisecond // the rest come at once
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s %s: %w", m.ActionField, id, ErrNoAnswer)
	}
	return out, nil
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
