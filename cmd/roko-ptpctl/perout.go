package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roko-network/roko-ptpd/phc"
)

// peroutArgs is what the perout command was asked to do.
type peroutArgs struct {
	channel              uint32
	pin                  int // -1: not given
	phase, width, period time.Duration
	off                  bool
}

// parsePerout reads perout's keywords from args, stopping at the first
// word that is not one so that further commands can follow; it returns
// how many words it used.
func parsePerout(args []string) (peroutArgs, int, error) {
	a := peroutArgs{pin: -1, width: 500 * time.Millisecond, period: time.Second}
	i := 0
	for ; i < len(args); i++ {
		key := args[i]
		if key == "off" {
			a.off = true
			continue
		}
		var err error
		switch key {
		case "channel", "pin":
			if i+1 >= len(args) {
				return a, i, fmt.Errorf("perout: %s needs a number", key)
			}
			i++
			var v uint64
			if v, err = strconv.ParseUint(args[i], 10, 31); err != nil {
				return a, i, fmt.Errorf("perout: %s %q: not a number", key, args[i])
			}
			if key == "channel" {
				a.channel = uint32(v)
			} else {
				a.pin = int(v)
			}
		case "phase", "width", "period":
			if i+1 >= len(args) {
				return a, i, fmt.Errorf("perout: %s needs nanoseconds", key)
			}
			i++
			d, err := nanoseconds(args[i])
			if err != nil {
				return a, i, fmt.Errorf("perout: %s %q: %w", key, args[i], err)
			}
			switch key {
			case "phase":
				a.phase = d
			case "width":
				a.width = d
			default:
				a.period = d
			}
		default:
			return a, i, a.check()
		}
	}
	return a, i, a.check()
}

// nanoseconds reads a count of nanoseconds, as phc_ctl and testptp take
// them, or a Go duration ("500ms") for readability.
func nanoseconds(s string) (time.Duration, error) {
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		if v < 0 {
			return 0, errors.New("must not be negative")
		}
		return time.Duration(v), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errors.New("want nanoseconds or a duration such as 500ms")
	}
	return d, nil
}

func (a peroutArgs) check() error {
	switch {
	case a.off:
		return nil
	case a.period <= 0:
		return errors.New("perout: period must be positive (use off to stop the output)")
	case a.width > a.period:
		return fmt.Errorf("perout: width %v is longer than the period %v", a.width, a.period)
	case a.phase >= a.period:
		return fmt.Errorf("perout: phase %v must be less than the period %v", a.phase, a.period)
	}
	return nil
}

// perout carries out the perout command on dev and says what it did.
func perout(dev *phc.Device, a peroutArgs, w io.Writer) error {
	name, caps := dev.Name(), dev.Caps()
	if caps.NPerOut == 0 {
		return fmt.Errorf("perout: %s: device has 0 periodic outputs; use a NIC with SDP pins (for example Intel i210, i225/i226 or E810) to give a pulse per second", name)
	}
	if int64(a.channel) >= int64(caps.NPerOut) {
		return fmt.Errorf("perout: %s: channel %d: device has %d periodic outputs (channels 0 to %d)", name, a.channel, caps.NPerOut, caps.NPerOut-1)
	}
	if a.pin >= 0 && caps.NPins == 0 {
		return fmt.Errorf("perout: %s: device has 0 programmable pins; its outputs are wired to fixed pins, so leave out pin", name)
	}
	if a.off {
		if err := dev.SetPeriodicOutput(a.channel, 0, 0, 0); err != nil {
			return fmt.Errorf("perout: %w", err)
		}
		fmt.Fprintf(w, "periodic output on channel %d stopped\n", a.channel)
		return nil
	}
	if caps.NPins > 0 {
		if err := peroutPin(dev, a, w); err != nil {
			return err
		}
	}
	now, err := dev.Now()
	if err != nil {
		return fmt.Errorf("perout: %w", err)
	}
	// An absolute start works on every driver, unlike the phase flag. Two
	// seconds ahead leaves time for the request to reach the hardware
	// before the first edge is due.
	start := time.Duration(now.Unix()+2)*time.Second + a.phase
	if err := dev.SetPeriodicOutput(a.channel, start, a.period, a.width); err != nil {
		if errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("perout: %w: no pin is set to periodic output channel %d; give pin N", err, a.channel)
		}
		return fmt.Errorf("perout: %w", err)
	}
	width := fmt.Sprintf("%d ns high", a.width.Nanoseconds())
	if a.width == 0 {
		width = "the driver's pulse width"
	}
	fmt.Fprintf(w, "periodic output request okay: channel %d, period %d ns, first edge at %d.%09d (PHC time), %s\n",
		a.channel, a.period.Nanoseconds(), start/time.Second, start%time.Second, width)
	return nil
}

// peroutPin makes sure a pin carries the channel: the one asked for, or,
// when none was and no pin has the channel yet, the first unused pin.
func peroutPin(dev *phc.Device, a peroutArgs, w io.Writer) error {
	pins, err := dev.Pins()
	if err != nil {
		return fmt.Errorf("perout: %w", err)
	}
	if a.pin >= len(pins) {
		return fmt.Errorf("perout: %s: pin %d: device has %d pins (0 to %d)", dev.Name(), a.pin, len(pins), len(pins)-1)
	}
	pick := a.pin
	if pick < 0 {
		for _, p := range pins {
			if p.Function == phc.PinPerOut && p.Channel == a.channel {
				fmt.Fprintf(w, "pin %d %q already drives periodic output channel %d\n", p.Index, p.Name, a.channel)
				return nil
			}
		}
		for _, p := range pins {
			if p.Function == phc.PinNone {
				pick = int(p.Index)
				break
			}
		}
		if pick < 0 {
			return fmt.Errorf("perout: %s: no pin drives channel %d and none is free; give pin N (roko-ptpctl %s pins lists them)", dev.Name(), a.channel, dev.Name())
		}
	}
	p := pins[pick]
	if p.Function == phc.PinPerOut && p.Channel == a.channel {
		fmt.Fprintf(w, "pin %d %q already drives periodic output channel %d\n", p.Index, p.Name, a.channel)
		return nil
	}
	if err := dev.SetPin(p.Index, phc.PinPerOut, a.channel); err != nil {
		return fmt.Errorf("perout: setting pin %d to periodic output channel %d: %w", p.Index, a.channel, err)
	}
	why := ""
	switch {
	case a.pin < 0:
		why = " (no pin had the channel, and this one was unused; give pin N to choose)"
	case p.Function != phc.PinNone:
		why = fmt.Sprintf(" (it was %s channel %d)", p.Function, p.Channel)
	}
	fmt.Fprintf(w, "set pin %d %q to periodic output channel %d%s\n", p.Index, p.Name, a.channel, why)
	return nil
}
