// Package transport carries PTP messages between ports and the network,
// with the timestamps the kernel or the NIC took as they left and arrived:
// IEEE 1588 Annex C (L2, EtherType 0x88F7), Annex C/D (UDP over IPv4 and
// IPv6), and the UNIX datagram socket ptp4l serves management on.
//
// Every event message sent through SendEvent comes back with its transmit
// timestamp, read from the socket's error queue and matched to the packet
// by its SOF_TIMESTAMPING_OPT_ID key, within tx_timestamp_timeout. Every
// received message comes with its receive timestamp from SCM_TIMESTAMPING.
//
// The package does I/O and nothing else: it does not parse PTP beyond what
// it needs to frame a message, keeps no protocol state, and never sends
// anywhere but the addresses it is given. Receiving does not allocate in
// steady state; malformed frames are counted and dropped.
package transport
