package ptp

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// UNICAST_MASTER_TABLE_NP round-trips in network byte order, with
// addresses of every length; a table cut short is ErrWrongLength.
func TestUnicastMasterTableNPRoundTrip(t *testing.T) {
	in := &UnicastMasterTableNP{Entries: []UnicastMasterEntry{
		{PortIdentity: PortIdentity{ClockIdentity: ClockIdentity{1, 2, 3, 4, 5, 6, 7, 8}, PortNumber: 0x0102}, Selected: true, State: UnicastHaveSydy,
			ClockQuality: ClockQuality{ClockClass: 6, ClockAccuracy: 0x21, OffsetScaledLogVariance: 0x4e5d}, Priority1: 1, Priority2: 2,
			Address: PortAddress{NetworkProtocol: ProtocolUDPIPv4, Address: []byte{198, 18, 0, 1}}},
		{State: UnicastWait, Address: PortAddress{NetworkProtocol: ProtocolUDPIPv6, Address: make([]byte, 16)}},
		{State: UnicastHaveAnn, Address: PortAddress{NetworkProtocol: ProtocolIEEE802_3, Address: []byte{2, 0, 0, 0, 0, 1}}},
	}}
	b, err := in.AppendData(nil)
	require.NoError(t, err)
	assert.Equal(t, []byte{0, 3}, b[:2], "actual_table_size, big-endian")
	assert.Equal(t, []byte{1, 2}, b[10:12], "portNumber, big-endian")
	assert.Len(t, b, 2+3*18+(4+4)+(4+16)+(4+6))
	var out UnicastMasterTableNP
	require.NoError(t, out.UnmarshalData(b))
	assert.Equal(t, in, &out)
	for n := 0; n < len(b); n++ {
		assert.Error(t, new(UnicastMasterTableNP).UnmarshalData(b[:n]), "cut at %d", n)
	}
	assert.Equal(t, "NEED_SYDY", UnicastNeedSydy.String())
}
