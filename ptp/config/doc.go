// Package config reads ptp4l.conf, linuxptp's configuration format, so
// that a validator can swap ptp4l for roko-ptpd and keep its file: the same
// sections ([global], one per interface, [unicast_master_table]), the same
// option names, defaults, ranges and error wording, and command-line values
// that beat the file's [global] as in ptp4l.
//
// Where roko-ptpd deliberately differs, the difference is documented on
// Parse and listed in the README: a trailing "# comment" is a comment;
// "bmca" means "BMCA"; options with no effect (assumeReversible) are
// accepted with one warning; a "[/dev/ppsN]" section names a grandmaster's
// PPS input; "[ global ]" with spaces is the global section, not an
// interface named "global".
//
// The package only reads and checks configuration; it never opens devices
// or sockets.
package config
