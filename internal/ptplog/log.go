package ptplog

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// Logger prints lines the way linuxptp does: "ptp4l[1780.370]: msg", the
// bracket holding CLOCK_MONOTONIC seconds. With -m, notices and info go to
// stdout, errors and warnings to stderr.
type Logger struct {
	mu      sync.Mutex
	prog    string
	level   engine.LogLevel
	stdout  io.Writer
	stderr  io.Writer
	tag     string
	scratch []byte
	record  []byte // Record's line, reused
	syslog  io.Writer
	sum     summary
}

// summary accumulates per-sample offset lines into ptp4l's summary_interval
// lines: "rms %4.0f max %4.0f freq %+6.0f +/- %3.0f delay %5.0f +/- %3.0f".
type summary struct {
	every             int // samples per line; 0 or 1 prints every sample
	n                 int
	offSq, offMax     float64
	freqSum, freqSq   float64
	delayN            int
	delaySum, delaySq float64
}

func (s *summary) add(r engine.LogRecord) {
	o := float64(r.Offset)
	s.n++
	s.offSq += o * o
	s.offMax = max(s.offMax, math.Abs(o))
	f := 0 - r.Freq // ptp4l's sign, as in the per-sample line
	s.freqSum += f
	s.freqSq += f * f
	if r.PathDelay != 0 {
		d := float64(r.PathDelay)
		s.delayN++
		s.delaySum += d
		s.delaySq += d * d
	}
}

func meanStd(sum, sq float64, n int) (float64, float64) {
	m := sum / float64(n)
	return m, math.Sqrt(max(0, sq/float64(n)-m*m))
}

func (s *summary) line() []byte {
	fm, fs := meanStd(s.freqSum, s.freqSq, s.n)
	b := fmt.Appendf(nil, "rms %4.0f max %4.0f freq %+6.0f +/- %3.0f", math.Sqrt(s.offSq/float64(s.n)), s.offMax, fm, fs)
	if s.delayN > 0 {
		dm, ds := meanStd(s.delaySum, s.delaySq, s.delayN)
		b = fmt.Appendf(b, " delay %5.0f +/- %3.0f", dm, ds)
	}
	*s = summary{every: s.every}
	return b
}

// SetSummary makes the logger print one summary line every n offset
// samples instead of a line per sample, as ptp4l does when
// 2^(summary_interval − logSyncInterval) > 1.
func (l *Logger) SetSummary(n int) {
	l.mu.Lock()
	l.sum.every = n
	l.mu.Unlock()
}

// SetSyslog sends every line also to w (a syslog writer), as ptp4l does
// unless -q.
func (l *Logger) SetSyslog(w io.Writer) { l.syslog = w }

// NewLogger returns a logger for the program name prog at logging_level
// level; nil writers silence the stream.
func New(prog string, level int, tag string, stdout, stderr io.Writer) *Logger {
	return &Logger{prog: prog, level: engine.LogLevel(level), stdout: stdout, stderr: stderr, tag: tag}
}

// monotonic is CLOCK_MONOTONIC, the stamp ptp4l's log lines carry. A raw
// system call: one through syscall.Syscall would wake the Go runtime's
// sysmon on every line (transport.Poller), and this one never sleeps.
func monotonic() (sec int64, ms int64) {
	var ts unix.Timespec
	_, _, _ = unix.RawSyscall(unix.SYS_CLOCK_GETTIME, unix.CLOCK_MONOTONIC, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Sec, ts.Nsec / 1e6
}

func (l *Logger) emit(level engine.LogLevel, line []byte) {
	if l == nil || level > l.level {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.emitLocked(level, line)
}

// writer is where a line at level goes besides syslog: warnings and worse
// to stderr, the rest to stdout, as ptp4l -m prints them.
func (l *Logger) writer(level engine.LogLevel) io.Writer {
	if level <= engine.LevelWarning {
		return l.stderr
	}
	return l.stdout
}

// emitLocked is emit with l.mu held.
func (l *Logger) emitLocked(level engine.LogLevel, line []byte) {
	w := l.writer(level)
	if w == nil && l.syslog == nil {
		return
	}
	sec, ms := monotonic()
	if l.syslog != nil {
		// syslog adds the program and PID; ptp4l puts the monotonic time
		// in brackets in front of the message.
		b := appendMonotonic(l.scratch[:0], sec, ms)
		b = append(b, ' ')
		b = append(b, line...)
		l.scratch = b
		_, _ = l.syslog.Write(b)
	}
	if w == nil {
		return
	}
	// "prog[sec.mmm]: ", by hand: fmt would allocate for every line.
	b := append(l.scratch[:0], l.prog...)
	b = appendMonotonic(b, sec, ms)
	b = append(b, ": "...)
	if l.tag != "" {
		b = append(b, l.tag...)
		b = append(b, ' ')
	}
	b = append(b, line...)
	b = append(b, '\n')
	l.scratch = b
	_, _ = w.Write(b)
}

// appendMonotonic appends "[sec.mmm]", ptp4l's time stamp.
func appendMonotonic(b []byte, sec, ms int64) []byte {
	b = append(b, '[')
	b = strconv.AppendInt(b, sec, 10)
	b = append(b, '.', byte('0'+ms/100%10), byte('0'+ms/10%10), byte('0'+ms%10), ']')
	return b
}

// Record prints an engine log record.
func (l *Logger) Record(r engine.LogRecord) {
	if r.Kind == engine.LogOffset && l.sum.every > 1 {
		l.mu.Lock()
		l.sum.add(r)
		var line []byte
		if l.sum.n >= l.sum.every {
			line = l.sum.line()
		}
		l.mu.Unlock()
		if line != nil {
			l.emit(engine.LevelInfo, line)
		}
		return
	}
	if l == nil || r.Level > l.level {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.writer(r.Level) == nil && l.syslog == nil {
		return // nothing would print it: do not format it
	}
	l.record = r.AppendFormat(l.record[:0], engine.PortStyleV4)
	l.emitLocked(r.Level, l.record)
}

// Printf prints a line of its own at level.
func (l *Logger) Printf(level engine.LogLevel, format string, args ...any) {
	l.emit(level, fmt.Appendf(nil, format, args...))
}
