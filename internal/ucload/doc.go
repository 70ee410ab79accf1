// Package ucload is a load generator for a unicast PTP grandmaster
// (unicast_listen 1): it runs N negotiated unicast clients over UDPv4 from
// N source addresses of a few sockets, at a chosen rate, and measures
// what they get: grants held, Delay_Resp answered (and how fast), Syncs,
// Follow_Ups and Announces, what was lost, and the grandmaster's CPU time
// and memory read from /proc.
//
// The protocol side (Load: negotiation, renewal, the Delay_Req schedule,
// matching answers, counting) is pure and driven by the caller's clock;
// the sockets are in socket_linux.go. Its addresses come from a block of
// 198.18.0.0/15 (the benchmarking range) that the caller makes local in a
// network namespace of its own: the package must never be pointed at a
// network it did not create.
package ucload
