package transport

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// cmsg builds one control message as the kernel lays it out.
func cmsg(level, typ int32, data []byte) []byte {
	l := cmsgHdrLen + len(data)
	b := make([]byte, (l+cmsgAlign-1)&^(cmsgAlign-1))
	binary.NativeEndian.PutUint64(b[0:8], uint64(l))
	binary.NativeEndian.PutUint32(b[8:12], uint32(level))
	binary.NativeEndian.PutUint32(b[12:16], uint32(typ))
	copy(b[cmsgHdrLen:], data)
	return b
}

func scmTimestamping(sw, hw [2]int64) []byte {
	b := make([]byte, scmTimestampingLen)
	binary.NativeEndian.PutUint64(b[0:], uint64(sw[0]))
	binary.NativeEndian.PutUint64(b[8:], uint64(sw[1]))
	binary.NativeEndian.PutUint64(b[32:], uint64(hw[0]))
	binary.NativeEndian.PutUint64(b[40:], uint64(hw[1]))
	return b
}

func extErr(errno uint32, origin uint8, info, data uint32) []byte {
	b := make([]byte, sockExtendedErrLen+16) // the offender sockaddr follows
	binary.NativeEndian.PutUint32(b[0:], errno)
	b[4] = origin
	binary.NativeEndian.PutUint32(b[8:], info)
	binary.NativeEndian.PutUint32(b[12:], data)
	return b
}

func TestParseControl(t *testing.T) {
	ts := scmTimestamping([2]int64{1_700_000_000, 123}, [2]int64{1_700_000_001, 456})
	txErr := extErr(uint32(unix.ENOMSG), unix.SO_EE_ORIGIN_TIMESTAMPING, unix.SCM_TSTAMP_SND, 41)
	for _, tc := range []struct {
		name     string
		b        []byte
		hardware bool
		wantTS   int64
		wantKey  uint32
		isTx     bool
		err      bool
	}{
		{"software rx", cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPING, ts), false, 1_700_000_000_000_000_123, 0, false, false},
		{"hardware rx", cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPING_NEW, ts), true, 1_700_000_001_000_000_456, 0, false, false},
		{"udp4 tx", append(cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPING_NEW, ts), cmsg(unix.SOL_IP, unix.IP_RECVERR, txErr)...), false, 1_700_000_000_000_000_123, 41, true, false},
		{"udp6 tx", append(cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPING, ts), cmsg(unix.SOL_IPV6, unix.IPV6_RECVERR, txErr)...), false, 1_700_000_000_000_000_123, 41, true, false},
		{"l2 tx", append(cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPING, ts), cmsg(unix.SOL_PACKET, unix.PACKET_TX_TIMESTAMP, txErr)...), false, 1_700_000_000_000_000_123, 41, true, false},
		{"icmp error is not a timestamp", append(cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPING, ts), cmsg(unix.SOL_IP, unix.IP_RECVERR, extErr(uint32(unix.EHOSTUNREACH), 2, 0, 0))...), false, 1_700_000_000_000_000_123, 0, false, false},
		{"sched stamp is not the send stamp", append(cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPING, ts), cmsg(unix.SOL_IP, unix.IP_RECVERR, extErr(uint32(unix.ENOMSG), unix.SO_EE_ORIGIN_TIMESTAMPING, unix.SCM_TSTAMP_SCHED, 41))...), false, 1_700_000_000_000_000_123, 41, false, false},
		{"hardware asked, only software present", cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPING, scmTimestamping([2]int64{5, 0}, [2]int64{})), true, 0, 0, false, false},
		{"other cmsgs ignored", cmsg(unix.SOL_IP, unix.IP_TTL, []byte{64, 0, 0, 0}), false, 0, 0, false, false},
		{"empty", nil, false, 0, 0, false, false},
		{"length beyond buffer", cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPING, ts)[:30], false, 0, 0, false, true},
		{"timestamp too short", cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPING, ts[:16]), false, 0, 0, false, true},
		{"extended error too short", cmsg(unix.SOL_IP, unix.IP_RECVERR, txErr[:8]), false, 0, 0, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ci controlInfo
			err := parseControl(tc.b, tc.hardware, &ci)
			if tc.err {
				require.ErrorIs(t, err, errBadControl)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantTS, ci.ts)
			assert.Equal(t, tc.wantTS != 0, ci.hasTS)
			key, ok := ci.isTxTimestamp()
			assert.Equal(t, tc.isTx, ok)
			assert.Equal(t, tc.wantKey, key)
		})
	}
}

func TestParseControlAllocatesNothing(t *testing.T) {
	b := append(cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPING, scmTimestamping([2]int64{1, 2}, [2]int64{3, 4})),
		cmsg(unix.SOL_IP, unix.IP_RECVERR, extErr(uint32(unix.ENOMSG), unix.SO_EE_ORIGIN_TIMESTAMPING, 0, 7))...)
	var ci controlInfo
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = parseControl(b, false, &ci) }))
}

func FuzzParseControl(f *testing.F) {
	f.Add(cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPING, scmTimestamping([2]int64{1, 2}, [2]int64{3, 4})), false)
	f.Add(append(cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPING, scmTimestamping([2]int64{1, 2}, [2]int64{3, 4})),
		cmsg(unix.SOL_PACKET, unix.PACKET_TX_TIMESTAMP, extErr(uint32(unix.ENOMSG), 4, 0, 9))...), true)
	f.Fuzz(func(t *testing.T, b []byte, hw bool) {
		var ci controlInfo
		_ = parseControl(b, hw, &ci) // must not panic
		ci.isTxTimestamp()
	})
}

func TestAddrs(t *testing.T) {
	assert.Equal(t, "ff0e::181", IPv6Primary(0x0e).String())
	assert.Equal(t, "ff05::181", IPv6Primary(0x05).String())
	a, err := MACAddr(L2PeerDelayMAC)
	require.NoError(t, err)
	assert.Equal(t, "01:80:c2:00:00:0e", a.String())
	_, err = MACAddr([]byte{1, 2})
	assert.Error(t, err)
	assert.Equal(t, "224.0.1.129:319", Addr{IP: IPv4Primary, Port: EventPort}.String())
	assert.Equal(t, "<none>", Addr{}.String())
	assert.Equal(t, "software", Software.String())
	assert.Equal(t, "onestep", OneStep.String())
}

func TestUnsupportedWording(t *testing.T) {
	never := func(*unix.HwTstampConfig) error { t.Fatal("SIOCSHWTSTAMP on an interface that cannot"); return nil }
	err := applyTimestamping("veth0", Hardware, false, &unix.EthtoolTsInfo{So_timestamping: unix.SOF_TIMESTAMPING_SOFTWARE}, never)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "interface 'veth0' does not support requested timestamping mode")
	assert.Contains(t, err.Error(), "use software timestamping (time_stamping software, or -S)")
	err = applyTimestamping("lo", Software, false, &unix.EthtoolTsInfo{}, never)
	assert.Contains(t, err.Error(), "interface 'lo' does not support requested timestamping mode (software)")
	assert.NoError(t, applyTimestamping("veth0", Software, false, &unix.EthtoolTsInfo{So_timestamping: 0x1f}, never))
}
