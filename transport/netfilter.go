package transport

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// NftTable is one nftables table of the caller's network namespace: the
// family it filters ("ip", "ip6", "inet", "arp", "bridge", "netdev") and
// its name, as 'nft list tables' prints them.
type NftTable struct {
	Family string
	Name   string
}

// String is "family name", as 'nft list tables' prints a table.
func (t NftTable) String() string { return t.Family + " " + t.Name }

// NftTables lists the nftables tables of the caller's network namespace
// over netlink (NFT_MSG_GETTABLE), for a host without the nft command: no
// table means nftables filters nothing there. iptables-nft keeps its rules
// in such tables too; legacy iptables does not (see
// /proc/net/ip_tables_names). It needs CAP_NET_ADMIN (EPERM otherwise).
func NftTables() ([]NftTable, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
	if err != nil {
		return nil, fmt.Errorf("transport: nftables: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("transport: nftables: bind: %w", err)
	}
	// Replies that do not come for a minute would hang the caller.
	tv := unix.Timeval{Sec: 5}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return nil, fmt.Errorf("transport: nftables: %w", err)
	}
	const seq = 1
	req := make([]byte, unix.SizeofNlMsghdr+sizeofNfgenmsg)
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_GETTABLE)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(req[8:], seq)
	req[unix.SizeofNlMsghdr] = unix.AF_UNSPEC // every family
	req[unix.SizeofNlMsghdr+1] = unix.NFNETLINK_V0
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("transport: nftables: NFT_MSG_GETTABLE: %w", err)
	}
	var tables []NftTable
	buf := make([]byte, 32<<10)
	for {
		n, from, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, fmt.Errorf("transport: nftables: NFT_MSG_GETTABLE: %w", err)
		}
		if nl, ok := from.(*unix.SockaddrNetlink); !ok || nl.Pid != 0 {
			continue // only the kernel answers
		}
		var done bool
		tables, done, err = decodeNftTables(buf[:n], seq, tables)
		if err != nil {
			return nil, fmt.Errorf("transport: nftables: NFT_MSG_GETTABLE: %w", err)
		}
		if done {
			return tables, nil
		}
	}
}

// sizeofNfgenmsg is struct nfgenmsg (family, version, resource id);
// nlaTypeMask clears an attribute type's NLA_F_NESTED and
// NLA_F_NET_BYTEORDER flags.
const (
	sizeofNfgenmsg = 4
	nlaTypeMask    = 0x3fff
)

// errNftMalformed is a netlink answer the kernel would not write.
var errNftMalformed = errors.New("malformed netlink message")

// decodeNftTables appends the tables of one datagram of the answer to a
// NFT_MSG_GETTABLE dump with sequence number seq to tables, and reports
// whether it ended the dump (NLMSG_DONE). An error the kernel answered
// comes back as its errno; messages of another sequence are skipped.
func decodeNftTables(b []byte, seq uint32, tables []NftTable) ([]NftTable, bool, error) {
	for len(b) > 0 {
		if len(b) < unix.SizeofNlMsghdr {
			return tables, false, errNftMalformed
		}
		l := binary.NativeEndian.Uint32(b[0:])
		typ := binary.NativeEndian.Uint16(b[4:])
		s := binary.NativeEndian.Uint32(b[8:])
		if l < unix.SizeofNlMsghdr || uint64(l) > uint64(len(b)) {
			return tables, false, errNftMalformed
		}
		body := b[unix.SizeofNlMsghdr:l]
		b = b[min(uint64(nlAlign(int(l))), uint64(len(b))):]
		if s != seq {
			continue
		}
		switch {
		case typ == unix.NLMSG_DONE:
			return tables, true, nil
		case typ == unix.NLMSG_ERROR:
			if len(body) < 4 {
				return tables, false, errNftMalformed
			}
			if e := int32(binary.NativeEndian.Uint32(body)); e != 0 {
				return tables, false, unix.Errno(-e)
			}
		case typ == unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_NEWTABLE:
			if len(body) < sizeofNfgenmsg {
				return tables, false, errNftMalformed
			}
			t := NftTable{Family: nfFamily(body[0])}
			for attrs := body[sizeofNfgenmsg:]; len(attrs) > 0; {
				if len(attrs) < unix.SizeofNlAttr {
					return tables, false, errNftMalformed
				}
				al := int(binary.NativeEndian.Uint16(attrs[0:]))
				at := binary.NativeEndian.Uint16(attrs[2:]) & nlaTypeMask
				if al < unix.SizeofNlAttr || al > len(attrs) {
					return tables, false, errNftMalformed
				}
				if at == unix.NFTA_TABLE_NAME {
					v := attrs[unix.SizeofNlAttr:al]
					if i := indexNUL(v); i >= 0 {
						v = v[:i]
					}
					t.Name = string(v)
				}
				attrs = attrs[min(nlAlign(al), len(attrs)):]
			}
			tables = append(tables, t)
		}
	}
	return tables, false, nil
}

func indexNUL(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

// nfFamily names a netfilter family as nft does.
func nfFamily(f byte) string {
	switch f {
	case unix.NFPROTO_IPV4:
		return "ip"
	case unix.NFPROTO_IPV6:
		return "ip6"
	case unix.NFPROTO_INET:
		return "inet"
	case unix.NFPROTO_ARP:
		return "arp"
	case unix.NFPROTO_BRIDGE:
		return "bridge"
	case unix.NFPROTO_NETDEV:
		return "netdev"
	}
	return fmt.Sprintf("family%d", f)
}
