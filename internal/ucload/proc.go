package ucload

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// ProcCPU is the CPU time all threads of process pid have run (the first
// field of each /proc/PID/task/TID/schedstat, in ns: more precise than
// the clock ticks of /proc/PID/stat).
func ProcCPU(pid int) (time.Duration, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil {
		return 0, err
	}
	if len(tasks) == 0 {
		return 0, fmt.Errorf("process %d: no threads in /proc (has it exited?)", pid)
	}
	var sum int64
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // a thread that ended meanwhile
		}
		v, err := parseSchedstat(b)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", f, err)
		}
		sum += v
	}
	return time.Duration(sum), nil
}

func parseSchedstat(b []byte) (int64, error) {
	f := bytes.Fields(b)
	if len(f) < 1 {
		return 0, fmt.Errorf("empty schedstat")
	}
	return strconv.ParseInt(string(f[0]), 10, 64)
}

// ProcMemory returns VmRSS and VmHWM (peak RSS) of process pid in KiB.
func ProcMemory(pid int) (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	return parseStatusMemory(f)
}

func parseStatusMemory(r io.Reader) (rss, hwm int64, err error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) < 2 {
			continue
		}
		switch string(f[0]) {
		case "VmRSS:":
			rss, err = strconv.ParseInt(string(f[1]), 10, 64)
		case "VmHWM:":
			hwm, err = strconv.ParseInt(string(f[1]), 10, 64)
		}
		if err != nil {
			return 0, 0, err
		}
	}
	return rss, hwm, sc.Err()
}
