package doctor

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// kernelConfig returns the value of option in the running kernel's build
// configuration ("y", "m", "" when not set) and where it was read; from
// is "" when no configuration could be read.
func kernelConfig(h Host, option string) (value, from string) {
	release := h.Release
	if release == "" {
		release, _ = h.read("/proc/sys/kernel/osrelease")
	}
	candidates := []string{"/proc/config.gz"}
	if release != "" {
		candidates = append(candidates, "/boot/config-"+release)
	}
	for _, p := range candidates {
		f, err := os.Open(h.path(p))
		if err != nil {
			continue
		}
		var r io.Reader = f
		if strings.HasSuffix(p, ".gz") {
			zr, err := gzip.NewReader(f)
			if err != nil {
				f.Close()
				continue
			}
			r = zr
		}
		sc := bufio.NewScanner(r)
		value = ""
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), option+"="); ok {
				value = v
				break
			}
		}
		err = sc.Err()
		f.Close()
		if err == nil {
			return value, p
		}
	}
	return "", ""
}

// kernelSupport: the kernel has PTP clock support (the guide's zgrep PTP
// /proc/config.gz, CONFIG_PTP_1588_CLOCK=y), loaded.
func kernelSupport(h Host) Check {
	c := Check{Name: CheckKernel}
	const opt = "CONFIG_PTP_1588_CLOCK"
	_, err := os.Stat(h.path("/sys/class/ptp"))
	class := err == nil
	value, from := kernelConfig(h, opt)
	switch {
	case class:
		c.Status, c.Detail = Pass, "the PTP clock class is loaded (/sys/class/ptp)"
		if from != "" {
			c.Detail += fmt.Sprintf("; %s=%s in %s", opt, value, from)
		}
	case from == "":
		c.Status = Warn
		c.Detail = "cannot tell: no /sys/class/ptp, and no kernel configuration (/proc/config.gz, /boot/config-$(uname -r)) to read " + opt + " from"
		c.Fix = "modprobe ptp, then ls /sys/class/ptp"
	case value == "m":
		c.Status = Fail
		c.Detail = fmt.Sprintf("%s=m in %s, but the module is not loaded (no /sys/class/ptp)", opt, from)
		c.Fix = "modprobe ptp (the NIC driver loads it too, when it has a PHC)"
	case value == "y":
		c.Status = Warn
		c.Detail = fmt.Sprintf("%s=y in %s, yet there is no /sys/class/ptp: is /sys mounted?", opt, from)
		c.Fix = "mount -t sysfs sysfs /sys"
	default:
		c.Status = Fail
		c.Detail = fmt.Sprintf("the kernel is built without PTP clock support (%s is not set in %s)", opt, from)
		c.Fix = "boot a kernel with " + opt + "=y or =m (distribution kernels have it)"
	}
	return c
}

// cpuGovernor: every CPU runs the performance governor (the guide's echo
// performance > .../cpufreq/scaling_governor): frequency changes move
// the timestamping path's latency.
func cpuGovernor(h Host) Check {
	c := Check{Name: CheckCPUFrequency}
	files, _ := filepath.Glob(h.path("/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_governor"))
	if len(files) == 0 {
		c.Status, c.Detail = Pass, "no CPU frequency scaling here (no cpufreq): the CPUs' frequency does not change"
		return c
	}
	byGov := map[string][]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		cpu := filepath.Base(filepath.Dir(filepath.Dir(f)))
		g := strings.TrimSpace(string(b))
		byGov[g] = append(byGov[g], cpu)
	}
	var govs []string
	for g := range byGov {
		govs = append(govs, g)
	}
	slices.Sort(govs)
	var parts []string
	for _, g := range govs {
		parts = append(parts, fmt.Sprintf("%s on %d CPU(s)", g, len(byGov[g])))
	}
	c.Detail = strings.Join(parts, ", ")
	if len(govs) == 1 && govs[0] == "performance" {
		c.Status = Pass
		return c
	}
	c.Status = Warn
	c.Detail += ": a CPU that changes frequency changes the latency of every timestamp it handles"
	c.Fix = "cpupower frequency-set -g performance (or: echo performance | tee /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor)"
	return c
}
