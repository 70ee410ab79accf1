package transport

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/roko-network/roko-ptpd/internal/netns"
)

// nfMsg lays out one nfnetlink message as the kernel does: header, the
// nfgenmsg with the family, then the attributes, each padded to 4 bytes.
func nfMsg(typ uint16, seq uint32, family byte, attrs ...[]byte) []byte {
	body := []byte{family, unix.NFNETLINK_V0, 0, 0}
	for _, a := range attrs {
		body = append(body, pad4(a)...)
	}
	return nlMsgRaw(typ, seq, body)
}

func nlMsgRaw(typ uint16, seq uint32, body []byte) []byte {
	m := make([]byte, unix.SizeofNlMsghdr, unix.SizeofNlMsghdr+len(body))
	binary.NativeEndian.PutUint32(m[0:], uint32(unix.SizeofNlMsghdr+len(body)))
	binary.NativeEndian.PutUint16(m[4:], typ)
	binary.NativeEndian.PutUint32(m[8:], seq)
	return pad4(append(m, body...))
}

func nfAttr(typ uint16, v []byte) []byte {
	a := make([]byte, 4, 4+len(v))
	binary.NativeEndian.PutUint16(a[0:], uint16(4+len(v)))
	binary.NativeEndian.PutUint16(a[2:], typ)
	return append(a, v...)
}

const newTable = unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_NEWTABLE

func TestDecodeNftTables(t *testing.T) {
	name := func(s string) []byte { return nfAttr(unix.NFTA_TABLE_NAME, append([]byte(s), 0)) }
	flags := nfAttr(2, []byte{0, 0, 0, 0}) // NFTA_TABLE_FLAGS, skipped
	errMsg := func(errno int32) []byte {
		b := make([]byte, 4+unix.SizeofNlMsghdr)
		binary.NativeEndian.PutUint32(b, uint32(-errno))
		return nlMsgRaw(unix.NLMSG_ERROR, 1, b)
	}
	cat := func(ms ...[]byte) (b []byte) {
		for _, m := range ms {
			b = append(b, m...)
		}
		return b
	}
	for _, tc := range []struct {
		name   string
		in     []byte
		want   []NftTable
		done   bool
		errno  error
		broken bool
	}{
		{"two tables then done", cat(nfMsg(newTable, 1, unix.NFPROTO_INET, name("filter"), flags),
			nfMsg(newTable, 1, unix.NFPROTO_IPV4, flags, name("nat")), nlMsgRaw(unix.NLMSG_DONE, 1, []byte{0, 0, 0, 0})),
			[]NftTable{{"inet", "filter"}, {"ip", "nat"}}, true, nil, false},
		{"no table", nlMsgRaw(unix.NLMSG_DONE, 1, []byte{0, 0, 0, 0}), nil, true, nil, false},
		{"more to come", nfMsg(newTable, 1, unix.NFPROTO_NETDEV, name("ingress")), []NftTable{{"netdev", "ingress"}}, false, nil, false},
		{"another request's answer is skipped", cat(nfMsg(newTable, 7, unix.NFPROTO_INET, name("x")), nlMsgRaw(unix.NLMSG_DONE, 1, nil)),
			nil, true, nil, false},
		{"not permitted", errMsg(int32(unix.EPERM)), nil, false, unix.EPERM, false},
		{"acknowledgement", errMsg(0), nil, false, nil, false},
		{"truncated header", []byte{1, 2, 3}, nil, false, nil, true},
		{"length past the end", nlMsgRaw(unix.NLMSG_DONE, 1, nil)[:12], nil, false, nil, true},
		{"attribute past the end", nfMsg(newTable, 1, unix.NFPROTO_INET, []byte{40, 0, 1, 0, 'x'}), nil, false, nil, true},
		{"no nfgenmsg", nlMsgRaw(newTable, 1, []byte{1}), nil, false, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, done, err := decodeNftTables(tc.in, 1, nil)
			switch {
			case tc.broken:
				assert.ErrorIs(t, err, errNftMalformed)
				return
			case tc.errno != nil:
				assert.ErrorIs(t, err, tc.errno)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.done, done)
		})
	}
}

func FuzzDecodeNftTables(f *testing.F) {
	f.Add(nfMsg(newTable, 1, unix.NFPROTO_INET, nfAttr(unix.NFTA_TABLE_NAME, []byte("filter\x00"))))
	f.Add(nlMsgRaw(unix.NLMSG_DONE, 1, []byte{0, 0, 0, 0}))
	f.Fuzz(func(t *testing.T, b []byte) {
		tables, _, _ := decodeNftTables(b, 1, nil)
		assert.LessOrEqual(t, len(tables), len(b)/unix.SizeofNlMsghdr)
	})
}

// TestNftTablesNamespace: a namespace just made has no nftables table;
// after the test adds one over netlink (as nft add table inet NAME would),
// NftTables finds it with its family.
func TestNftTablesNamespace(t *testing.T) {
	ns := netns.New(t)
	var tables []NftTable
	require.NoError(t, ns.Do(func() (err error) { tables, err = NftTables(); return err }))
	assert.Empty(t, tables)
	require.NoError(t, ns.Do(func() error { return addNftTable(unix.NFPROTO_INET, "rokotest") }))
	require.NoError(t, ns.Do(func() (err error) { tables, err = NftTables(); return err }))
	assert.Equal(t, []NftTable{{"inet", "rokotest"}}, tables)
}

// addNftTable creates a table: nftables takes changes only in a batch.
func addNftTable(family byte, name string) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	batch := func(typ uint16, seq uint32) []byte {
		m := nfMsg(typ, seq, unix.AF_UNSPEC)
		binary.BigEndian.PutUint16(m[unix.SizeofNlMsghdr+2:], unix.NFNL_SUBSYS_NFTABLES) // res_id
		binary.NativeEndian.PutUint16(m[6:], unix.NLM_F_REQUEST)
		return m
	}
	add := nfMsg(newTable, 2, family, nfAttr(unix.NFTA_TABLE_NAME, append([]byte(name), 0)))
	binary.NativeEndian.PutUint16(add[6:], unix.NLM_F_REQUEST|unix.NLM_F_CREATE|unix.NLM_F_ACK)
	msg := append(append(batch(unix.NFNL_MSG_BATCH_BEGIN, 1), add...), batch(unix.NFNL_MSG_BATCH_END, 3)...)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return err
	}
	_, _, err = decodeNftTables(buf[:n], 2, nil) // the ACK, or the error
	return err
}
