package ptp

import "encoding/binary"

// UnicastMasterTableNP is linuxptp's UNICAST_MASTER_TABLE_NP: a unicast
// client port's master table and where its negotiation with each stands.
// Unlike PORT_STATS_NP it is in network byte order.
type UnicastMasterTableNP struct {
	Entries []UnicastMasterEntry
}

// UnicastMasterEntry is one master of UNICAST_MASTER_TABLE_NP.
type UnicastMasterEntry struct {
	// PortIdentity is the master's port, all ones until it granted
	// Announce.
	PortIdentity PortIdentity
	// ClockQuality, Priority1 and Priority2 are from its Announce, zero
	// before one came.
	ClockQuality ClockQuality
	// Selected: the clock follows this master.
	Selected bool
	// State is the negotiation state, linuxptp's enum unicast_state.
	State     UnicastState
	Priority1 uint8
	Priority2 uint8
	Address   PortAddress
}

// UnicastState is where a unicast client's negotiation with one master
// stands (linuxptp's enum unicast_state).
type UnicastState uint8

// Unicast negotiation states.
const (
	UnicastWait     UnicastState = iota // asking for Announce
	UnicastHaveAnn                      // Announce granted
	UnicastNeedSydy                     // chosen: asking for Sync and Delay_Resp
	UnicastHaveSydy                     // Sync and Delay_Resp granted
)

// String returns linuxptp's name of the state.
func (s UnicastState) String() string {
	switch s {
	case UnicastWait:
		return "WAIT"
	case UnicastHaveAnn:
		return "HAVE_ANN"
	case UnicastNeedSydy:
		return "NEED_SYDY"
	case UnicastHaveSydy:
		return "HAVE_SYDY"
	}
	return "???"
}

// unicastMasterEntryLen is the fixed part of an entry.
const unicastMasterEntryLen = 10 + clockQualityLen + 4

// ManagementID returns MIDUnicastMasterTableNP.
func (d *UnicastMasterTableNP) ManagementID() ManagementID { return MIDUnicastMasterTableNP }

// AppendData appends the dataField.
func (d *UnicastMasterTableNP) AppendData(b []byte) ([]byte, error) {
	if len(d.Entries) > 0xffff {
		return b, ErrValueRange
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(d.Entries)))
	for i := range d.Entries {
		e := &d.Entries[i]
		b = e.PortIdentity.append(b)
		b = e.ClockQuality.append(b)
		sel := byte(0)
		if e.Selected {
			sel = 1
		}
		b = append(b, sel, byte(e.State), e.Priority1, e.Priority2)
		var err error
		if b, err = e.Address.append(b); err != nil {
			return b, err
		}
	}
	return b, nil
}

// UnmarshalData decodes the dataField.
func (d *UnicastMasterTableNP) UnmarshalData(b []byte) error {
	if len(b) < 2 {
		return wrongLength(MIDUnicastMasterTableNP, len(b), 2)
	}
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	d.Entries = make([]UnicastMasterEntry, 0, min(n, len(b)/unicastMasterEntryLen))
	for range n {
		if len(b) < unicastMasterEntryLen {
			return ErrWrongLength
		}
		var e UnicastMasterEntry
		e.PortIdentity.decode(b[0:10])
		e.ClockQuality.decode(b[10:14])
		e.Selected, e.State, e.Priority1, e.Priority2 = b[14] != 0, UnicastState(b[15]), b[16], b[17]
		a, k, err := decodePortAddress(b[unicastMasterEntryLen:])
		if err != nil {
			return err
		}
		e.Address = a
		d.Entries = append(d.Entries, e)
		b = b[unicastMasterEntryLen+k:]
	}
	return nil
}
