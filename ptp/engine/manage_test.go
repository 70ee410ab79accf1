package engine

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp"
)

func mgmtReq(t *testing.T, action ptp.ManagementAction, d ptp.ManagementData, id ptp.ManagementID, domain uint8, targetPort uint16) *ptp.Management {
	t.Helper()
	m := &ptp.Management{
		Header: ptp.Header{VersionPTP: 2, DomainNumber: domain, SequenceID: 5,
			SourcePortIdentity: ptp.PortIdentity{ClockIdentity: cid(9), PortNumber: 7}},
		TargetPortIdentity:   ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, PortNumber: targetPort},
		StartingBoundaryHops: 1, BoundaryHops: 1, ActionField: action,
	}
	if d != nil {
		require.NoError(t, m.SetData(d))
	} else {
		require.NoError(t, m.SetEmpty(id))
	}
	return m
}

func TestManage(t *testing.T) {
	cfg := gmConfig(1)
	cfg.DomainNumber = 24
	c, err := NewClock(cfg, []PortConfig{fastPort("eth0")}, &testPI{}, 1)
	require.NoError(t, err)
	c.Start(0)
	uds := Via{UDS: true}

	resps, _ := c.Manage(mgmtReq(t, ptp.ActionGet, nil, ptp.MIDDefaultDataSet, 24, 0xffff), uds, 0)
	require.Len(t, resps, 1)
	r := resps[0]
	assert.Equal(t, ptp.ActionResponse, r.ActionField)
	assert.Equal(t, ptp.PortIdentity{ClockIdentity: cid(1)}, r.SourcePortIdentity, "clock answers from port 0 on the socket")
	assert.Equal(t, ptp.PortIdentity{ClockIdentity: cid(9), PortNumber: 7}, r.TargetPortIdentity, "to the requester")
	assert.Equal(t, uint16(5), r.SequenceID)
	var dds ptp.DefaultDataSet
	require.NoError(t, r.Data(&dds))
	assert.Equal(t, cid(1), dds.ClockIdentity)
	assert.Equal(t, uint8(24), dds.DomainNumber)

	// Port scope: answered by the port, from its own identity.
	resps, _ = c.Manage(mgmtReq(t, ptp.ActionGet, nil, ptp.MIDPortDataSet, 24, 0xffff), Via{Port: 0}, 0)
	require.Len(t, resps, 1)
	assert.Equal(t, uint16(1), resps[0].SourcePortIdentity.PortNumber)
	resps, _ = c.Manage(mgmtReq(t, ptp.ActionGet, nil, ptp.MIDPortDataSet, 24, 2), uds, 0)
	assert.Empty(t, resps, "no port 2")

	// Another domain, or a response: not for us.
	resps, _ = c.Manage(mgmtReq(t, ptp.ActionGet, nil, ptp.MIDDefaultDataSet, 0, 0xffff), uds, 0)
	assert.Empty(t, resps)
	resps, _ = c.Manage(mgmtReq(t, ptp.ActionResponse, nil, ptp.MIDDefaultDataSet, 24, 0xffff), uds, 0)
	assert.Empty(t, resps)

	errorOf := func(resps []*ptp.Management) ptp.ManagementErrorID {
		t.Helper()
		require.Len(t, resps, 1)
		es, ok, err := resps[0].ErrorStatus()
		require.NoError(t, err)
		require.True(t, ok)
		return es.ManagementErrorID
	}
	resps, _ = c.Manage(mgmtReq(t, ptp.ActionGet, nil, 0x6666, 24, 0xffff), uds, 0)
	assert.Equal(t, ptp.ErrorNoSuchID, errorOf(resps))
	resps, _ = c.Manage(mgmtReq(t, ptp.ActionGet, nil, ptp.MIDPortHWClockNP, 24, 0xffff), uds, 0)
	assert.Equal(t, ptp.ErrorNotSupported, errorOf(resps))
	resps, _ = c.Manage(mgmtReq(t, ptp.ActionCommand, nil, ptp.MIDInitialize, 24, 0xffff), uds, 0)
	assert.Equal(t, ptp.ErrorNotSupported, errorOf(resps))

	// Every ID the codec knows gets an answer or an error status, never
	// silence or a panic.
	for id := ptp.ManagementID(0); id < 0xe000; id++ {
		if !id.Known() {
			continue
		}
		resps, _ := c.Manage(mgmtReq(t, ptp.ActionGet, nil, id, 24, 0xffff), uds, 0)
		assert.Len(t, resps, 1, "%s", id)
	}

	// SET PORT_DATA_SET_NP, a port's: answered with the new values.
	np := &ptp.PortDataSetNP{NeighborPropDelayThresh: 800, AsCapable: 0}
	resps, _ = c.Manage(mgmtReq(t, ptp.ActionSet, np, 0, 24, 1), uds, 0)
	require.Len(t, resps, 1)
	var gotNP ptp.PortDataSetNP
	require.NoError(t, resps[0].Data(&gotNP))
	assert.Equal(t, *np, gotNP)

	// SET PRIORITY1: refused read-only, applied read-write.
	set := &ptp.Datum{ID: ptp.MIDPriority1, Value: 9}
	resps, _ = c.Manage(mgmtReq(t, ptp.ActionSet, set, 0, 24, 0xffff), Via{UDS: true, ReadOnly: true}, 0)
	assert.Equal(t, ptp.ErrorNotSupported, errorOf(resps))
	assert.Equal(t, uint8(1), c.DefaultDS().Priority1)
	resps, _ = c.Manage(mgmtReq(t, ptp.ActionSet, set, 0, 24, 0xffff), uds, 0)
	require.Len(t, resps, 1)
	var got ptp.Datum
	got.ID = ptp.MIDPriority1
	require.NoError(t, resps[0].Data(&got))
	assert.Equal(t, uint8(9), got.Value)
	assert.Equal(t, uint8(9), c.DefaultDS().Priority1)
}
