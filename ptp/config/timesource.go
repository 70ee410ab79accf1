package config

import (
	"fmt"
	"math"
	"net"
	"strings"
	"time"

	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
	"github.com/roko-network/roko-ptpd/ptp/timesource"
)

// ToDSource is where a grandmaster's time of day comes from
// (ts2phc.tod_source).
type ToDSource uint8

// Time-of-day sources.
const (
	// ToDGeneric: the nearest whole second of the system clock at each
	// pulse, as ts2phc's generic source.
	ToDGeneric ToDSource = iota
	// ToDNMEA: RMC/ZDA sentences on ts2phc.nmea_serialport, or over TCP
	// from ts2phc.nmea_remote_host and ts2phc.nmea_remote_port.
	ToDNMEA
	// ToDGPSD: gpsd's JSON reports from gpsd_address (roko-ptpd's own).
	ToDGPSD
)

// Polarity is ts2phc.extts_polarity: which edges of the pulse the PHC
// timestamps.
type Polarity uint8

// Polarities.
const (
	PolarityRising Polarity = iota
	PolarityFalling
	PolarityBoth
)

// TimeSourceSettings is a grandmaster's time source: its pulse input, its
// time of day, and the bounds package timesource applies.
type TimeSourceSettings struct {
	// PPSDevice is a kernel PPS source ("/dev/pps0", or an emulated
	// one's state file): its pulses are
	// stamped on CLOCK_REALTIME and moved onto the served clock. Empty:
	// the pulse comes into the first port's PHC on an EXTTS channel.
	PPSDevice string
	// PinIndex, Channel, Polarity, PulseWidth: ts2phc.pin_index,
	// ts2phc.channel, ts2phc.extts_polarity and ts2phc.pulsewidth of the
	// EXTTS input.
	PinIndex, Channel uint32
	Polarity          Polarity
	PulseWidth        time.Duration
	// Correction is ts2phc.extts_correction, NMEADelay ts2phc.nmea_delay.
	Correction, NMEADelay time.Duration
	// ToD says where the time of day comes from; NMEASerial and NMEABaud
	// (ts2phc.nmea_serialport, ts2phc.nmea_baudrate) or NMEARemote
	// ("host:port") for NMEA, GPSDAddress for gpsd.
	ToD         ToDSource
	NMEASerial  string
	NMEABaud    int
	NMEARemote  string
	GPSDAddress string
	// Leapfile is leapfile: tzdata's leap-seconds.list (empty: the
	// built-in table, whose offset is not vouched for).
	Leapfile string
	// Source is what package timesource needs (without its servo, name
	// and logger, which the daemon supplies).
	Source timesource.Config
}

// timeSourceOptions are the options that act only through a PPS input.
var timeSourceOptions = []string{
	"ts2phc.tod_source", "ts2phc.nmea_serialport", "ts2phc.nmea_baudrate", "ts2phc.nmea_remote_host",
	"ts2phc.nmea_remote_port", "ts2phc.nmea_delay", "ts2phc.pin_index", "ts2phc.channel",
	"ts2phc.extts_polarity", "ts2phc.extts_correction", "ts2phc.pulsewidth", "ts2phc.holdover",
	"leapfile", "gpsd_address", "time_source_qualification", "time_source_window",
}

// timeSourceSettings reads the time source, if one is configured: a
// [/dev/ppsN] section or pps_input. clk is the clock's resolved
// configuration, whose quality the source takes over.
func (c *Config) timeSourceSettings(clk *engine.ClockConfig) (*TimeSourceSettings, error) {
	const g = "global"
	input := c.str(g, "pps_input")
	section := g
	if len(c.pps) > 0 {
		if len(c.pps) > 1 {
			return nil, &Error{File: c.File, Line: c.pps[1].Line, Msg: fmt.Sprintf("[%s]: roko-ptpd takes one PPS input, and [%s] is already one", c.pps[1].Name, c.pps[0].Name)}
		}
		if input != "" && input != c.pps[0].Name {
			return nil, c.errorAt(g, "pps_input", "pps_input %s and the section [%s] name two PPS inputs: choose one", input, c.pps[0].Name)
		}
		input, section = c.pps[0].Name, c.pps[0].Name
	}
	if input == "" {
		// Without a pulse these options have nothing to act on; say so
		// once each, wherever they were set.
		for _, o := range timeSourceOptions {
			for _, sec := range append([]string{g}, c.Interfaces()...) {
				if c.isSet(sec, o) {
					c.warn(c.value(sec, o).Line, o, "%s has no effect without a PPS input (a [/dev/ppsN] section or pps_input)", o)
					break
				}
			}
		}
		return nil, nil
	}
	if clk.SlaveOnly {
		return nil, c.errorAt(g, "clientOnly", "clientOnly 1 with a PPS input: a time source is for a grandmaster, which a client-only clock never is")
	}
	if c.isSet(g, "free_running") {
		c.warn(c.value(g, "free_running").Line, "free_running", "free_running has no effect with a PPS input: the time source steers the clock, and the servo never does")
	}
	ts := &TimeSourceSettings{}
	switch {
	case input == "extts":
		if len(c.ports) > 0 {
			section = c.ports[0].Name
		}
	case strings.HasPrefix(input, "/"):
		ts.PPSDevice = input
	default:
		return nil, c.errorAt(g, "pps_input", "pps_input %s: want extts (the first port's PHC) or the path of a PPS device (/dev/ppsN)", input)
	}
	ts.PinIndex = uint32(c.int(section, "ts2phc.pin_index"))
	ts.Channel = uint32(c.int(section, "ts2phc.channel"))
	switch c.str(section, "ts2phc.extts_polarity") {
	case "falling":
		ts.Polarity = PolarityFalling
	case "both":
		ts.Polarity = PolarityBoth
	}
	ts.PulseWidth = time.Duration(c.int(section, "ts2phc.pulsewidth"))
	if ts.PPSDevice != "" {
		// The kernel's PPS source reports the edge its driver was told
		// to; the EXTTS pin options mean nothing to it.
		if ts.Polarity != PolarityRising {
			return nil, c.errorAt(section, "ts2phc.extts_polarity", "ts2phc.extts_polarity %s with %s: a kernel PPS source's assert edge is used; set the polarity in its driver (pps-gpio's assert-falling-edge)", c.str(section, "ts2phc.extts_polarity"), ts.PPSDevice)
		}
		for _, o := range []string{"ts2phc.pin_index", "ts2phc.channel", "ts2phc.pulsewidth"} {
			if c.isSet(section, o) {
				c.warn(c.value(section, o).Line, o, "%s has no effect with %s: it configures a PHC's EXTTS input", o, ts.PPSDevice)
			}
		}
	}
	ts.Correction = time.Duration(c.int(section, "ts2phc.extts_correction"))
	ts.NMEADelay = time.Duration(c.int(section, "ts2phc.nmea_delay"))
	switch v := c.str(g, "ts2phc.tod_source"); v {
	case "generic":
		ts.ToD = ToDGeneric
	case "nmea":
		ts.ToD = ToDNMEA
		ts.NMEASerial, ts.NMEABaud = c.str(g, "ts2phc.nmea_serialport"), int(c.int(section, "ts2phc.nmea_baudrate"))
		host, port := c.str(g, "ts2phc.nmea_remote_host"), c.str(g, "ts2phc.nmea_remote_port")
		if (host == "") != (port == "") {
			set := "ts2phc.nmea_remote_host"
			if host == "" {
				set = "ts2phc.nmea_remote_port"
			}
			return nil, c.errorAt(g, set, "ts2phc.nmea_remote_host and ts2phc.nmea_remote_port go together (one is empty)")
		}
		if host != "" {
			ts.NMEARemote = net.JoinHostPort(host, port)
		}
	case "gpsd":
		ts.ToD = ToDGPSD
		ts.GPSDAddress = c.str(g, "gpsd_address")
		if _, _, err := net.SplitHostPort(ts.GPSDAddress); err != nil {
			return nil, c.errorAt(g, "gpsd_address", "gpsd_address %s: want host:port", ts.GPSDAddress)
		}
	default:
		return nil, c.errorAt(g, "ts2phc.tod_source", "ts2phc.tod_source %s: roko-ptpd reads generic, nmea and gpsd (a PHC as the source is ts2phc's job)", v)
	}
	ts.Leapfile = c.str(g, "leapfile")

	src := timesource.Config{
		UTCClock:      false,
		Generic:       ts.ToD == ToDGeneric,
		Correction:    ts.Correction,
		NMEADelay:     ts.NMEADelay,
		BothEdges:     ts.Polarity == PolarityBoth,
		PulseWidth:    ts.PulseWidth,
		PulseWindow:   time.Duration(c.int(g, "time_source_window")),
		Qualification: time.Duration(math.Round(c.float(g, "time_source_qualification") * 1e9)),
		Holdover:      time.Duration(c.int(section, "ts2phc.holdover")) * time.Second,
		TimeSource:    clk.TimeSource,
		Variance:      clk.ClockQuality.OffsetScaledLogVariance,
		UTCOffset:     int(clk.UTCOffset),
	}
	if src.PulseWindow == 0 && ts.PPSDevice != "" {
		// The kernel stamps a PPS in its interrupt handler: microseconds
		// of latency, where a PHC's EXTTS is stamped in hardware.
		src.PulseWindow = 100 * time.Microsecond
	}
	if strings.EqualFold(c.str(g, "dataset_comparison"), "G.8275.x") {
		src.Profile = timesource.ProfileG8275
	}
	if src.TimeSource == ptp.TimeSourceInternalOscillator {
		src.TimeSource = ptp.TimeSourceGNSS
	}
	ts.Source = src
	return ts, nil
}
