package ucload

import (
	"fmt"
	"net/netip"
)

// DefaultPrefix is where the clients' addresses come from: 198.18.64.0/18,
// 16,382 usable addresses of the benchmarking range 198.18.0.0/15, apart
// from 198.18.0.0/24 where the namespaces' links live. The namespace the
// load runs in makes the block local (ip route add local 198.18.64.0/18
// dev lo) and the grandmaster's routes it back through the link, so that
// one socket can send from, and receive for, every client.
var DefaultPrefix = netip.MustParsePrefix("198.18.64.0/18")

// Addresses maps client numbers to addresses of an IPv4 block: client i
// is the block's address i+1, so the block's first address is never used.
type Addresses struct {
	base uint32
	n    int
}

// NewAddresses returns the addresses of n clients in p, or an error when p
// is not IPv4 or has fewer than n+2 addresses.
func NewAddresses(p netip.Prefix, n int) (Addresses, error) {
	p = p.Masked()
	if !p.Addr().Is4() {
		return Addresses{}, fmt.Errorf("client block %s is not IPv4", p)
	}
	if size := uint64(1) << (32 - p.Bits()); n < 1 || uint64(n)+2 > size {
		return Addresses{}, fmt.Errorf("client block %s has room for %d clients, not %d", p, max(int64(size)-2, 0), n)
	}
	a := p.Addr().As4()
	return Addresses{base: uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]), n: n}, nil
}

// Addr returns client i's address.
func (a Addresses) Addr(i int) [4]byte {
	v := a.base + uint32(i) + 1
	return [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

// Index returns the client whose address is ip, and false when ip is no
// client's.
func (a Addresses) Index(ip [4]byte) (int, bool) {
	v := uint32(ip[0])<<24 | uint32(ip[1])<<16 | uint32(ip[2])<<8 | uint32(ip[3])
	i := int64(v) - int64(a.base) - 1
	if i < 0 || i >= int64(a.n) {
		return 0, false
	}
	return int(i), true
}
