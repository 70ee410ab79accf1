package ptpd

import (
	"context"
	"net"

	"github.com/roko-network/roko-ptpd/ptp/config"
	"github.com/roko-network/roko-ptpd/ptp/timesource"
	"github.com/roko-network/roko-ptpd/transport/tod"
)

// todReader adapts a transport/tod reader to the time source.
type todReader struct{ r tod.Reader }

// openToD opens the time of day the settings name; nil for generic,
// which reads the system clock's seconds at each pulse instead.
func openToD(ts *config.TimeSourceSettings, logf func(error)) (todInput, error) {
	switch ts.ToD {
	case config.ToDNMEA:
		if ts.NMEARemote != "" {
			host, port, err := net.SplitHostPort(ts.NMEARemote)
			if err != nil {
				return nil, err
			}
			r := tod.DialNMEA(host, port)
			r.Log = logf
			return todReader{r}, nil
		}
		s, err := tod.OpenSerial(ts.NMEASerial, ts.NMEABaud)
		if err != nil {
			return nil, err
		}
		return todReader{s}, nil
	case config.ToDGPSD:
		r := tod.DialGPSD(ts.GPSDAddress)
		r.Log = logf
		return todReader{r}, nil
	}
	return nil, nil
}

func (t todReader) run(ctx context.Context, deliver func(timesource.TimeOfDay)) error {
	return t.r.Run(ctx, func(r tod.Report) {
		deliver(timesource.TimeOfDay{UTC: r.UTC, Leap: r.Leap, Valid: r.Valid, Received: r.Received,
			UTCOffset: r.UTCOffset, UTCOffsetKnown: r.UTCOffsetKnown})
	})
}

func (t todReader) malformed() uint64 { return t.r.Counters().Malformed }
func (t todReader) close() error      { return t.r.Close() }
