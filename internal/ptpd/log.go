package ptpd

import (
	"fmt"
	"io"
	"sync"

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
}

// NewLogger returns a logger for the program name prog at logging_level
// level; nil writers silence the stream.
func NewLogger(prog string, level int, tag string, stdout, stderr io.Writer) *Logger {
	return &Logger{prog: prog, level: engine.LogLevel(level), stdout: stdout, stderr: stderr, tag: tag}
}

func monotonic() (sec int64, ms int64) {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Sec, ts.Nsec / 1e6
}

func (l *Logger) emit(level engine.LogLevel, line []byte) {
	if l == nil || level > l.level {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.stdout
	if level <= engine.LevelWarning {
		w = l.stderr
	}
	if w == nil {
		return
	}
	sec, ms := monotonic()
	b := fmt.Appendf(l.scratch[:0], "%s[%d.%03d]: ", l.prog, sec, ms)
	if l.tag != "" {
		b = append(b, l.tag...)
		b = append(b, ' ')
	}
	b = append(b, line...)
	b = append(b, '\n')
	l.scratch = b
	_, _ = w.Write(b)
}

// Record prints an engine log record.
func (l *Logger) Record(r engine.LogRecord) {
	style := engine.PortStyleV4
	l.emit(r.Level, r.AppendFormat(nil, style))
}

// Printf prints a line of its own at level.
func (l *Logger) Printf(level engine.LogLevel, format string, args ...any) {
	l.emit(level, fmt.Appendf(nil, format, args...))
}
