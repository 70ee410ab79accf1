// Package ptplog prints log lines the way linuxptp's programs do
// ("ptp4l[1780.370]: port 1 (eth0): ..."), so that the log scrapers
// operators wrote for ptp4l and phc2sys keep working with roko-ptpd,
// roko-phc2sys and the phc2sys job inside the daemon. It formats and
// writes lines; it never decides what happens to a clock or a port.
package ptplog
