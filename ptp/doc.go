// Package ptp is the IEEE 1588-2019 (PTP v2.1) protocol: the wire types and
// the codec of every message and TLV, and, as the stack grows, the data sets
// and the port and clock engine built on them.
//
// The codec follows the shape of encoding/binary and net/netip: messages are
// plain values, decoded with UnmarshalBinary into a value the caller owns and
// encoded with AppendBinary into a buffer the caller owns, so that the hot
// path (Sync, Follow_Up, Delay_Req, Delay_Resp, Announce, management
// responses) allocates nothing. Names are the standard's: a reader with
// IEEE 1588-2019 open finds each field under the name of its table.
//
// Every message re-encodes byte for byte as it was received over its
// messageLength: reserved fields are kept, and TLVs the codec does not know
// are kept as raw bytes and written back unchanged. Bytes after
// messageLength (Ethernet padding, the Annex E UDP/IPv6 trailer) are not
// part of the message and are ignored.
//
// This package must never do I/O, make a system call or read a clock: it is
// the pure core that runs the same on sockets, in simulation and under
// capture replay. Hostile input yields an error that errors.Is can match
// (ErrTruncated, ErrUnsupportedVersion, ErrTLVOverrun, …), never a panic, and
// no allocation grows with a length field an attacker controls.
package ptp
