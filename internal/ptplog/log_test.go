package ptplog

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/roko-network/roko-ptpd/ptp/engine"
)

func TestLoggerLines(t *testing.T) {
	var out, errs, sys bytes.Buffer
	l := New("ptp4l", 6, "", &out, &errs)
	l.SetSyslog(&sys)
	l.Record(engine.LogRecord{Kind: engine.LogOffset, Level: engine.LevelInfo, Offset: -12, ServoState: engine.ServoLocked, Freq: -1830, PathDelay: 612})
	l.Printf(engine.LevelErr, "timed out while polling for tx timestamp")
	l.Printf(engine.LevelDebug, "not shown at logging_level 6")
	assert.Regexp(t, regexp.MustCompile(`^ptp4l\[\d+\.\d{3}\]: master offset        -12 s2 freq   \+1830 path delay       612\n$`), out.String())
	assert.Regexp(t, regexp.MustCompile(`^ptp4l\[\d+\.\d{3}\]: timed out while polling for tx timestamp\n$`), errs.String(), "errors go to stderr")
	assert.Equal(t, 2, strings.Count(sys.String(), "["), "syslog gets both, with the bracketed time")
	assert.NotContains(t, out.String()+errs.String(), "not shown")
}

func TestLoggerSummary(t *testing.T) {
	var out bytes.Buffer
	l := New("ptp4l", 6, "", &out, &out)
	l.SetSummary(4)
	for i, o := range []int64{3, -4, 3, -4} {
		l.Record(engine.LogRecord{Kind: engine.LogOffset, Level: engine.LevelInfo, Offset: o, ServoState: engine.ServoLocked,
			Freq: float64(-100 - 2*i), PathDelay: int64(600 + 2*i)})
	}
	// rms of 3,-4,3,-4 is 3.54; freq (ptp4l's sign) 100..106, mean 103,
	// stddev 2.24; delay 600..606, mean 603.
	assert.Regexp(t, regexp.MustCompile(`: rms    4 max    4 freq   \+103 \+/-   2 delay   603 \+/-   2\n$`), out.String())
	assert.Equal(t, 1, strings.Count(out.String(), "\n"), "one line for four samples")
}

// TestMonotonicStamp: ptp4l's "[sec.mmm]", milliseconds zero-padded.
func TestMonotonicStamp(t *testing.T) {
	for _, tc := range []struct {
		sec, ms int64
		want    string
	}{{12, 5, "[12.005]"}, {0, 999, "[0.999]"}, {3, 40, "[3.040]"}, {86400, 0, "[86400.000]"}} {
		assert.Equal(t, tc.want, string(appendMonotonic(nil, tc.sec, tc.ms)))
	}
}
