package doctor

import (
	"bytes"
	"compress/gzip"
	"testing"

	"github.com/stretchr/testify/require"
)

// gz compresses s, as /proc/config.gz is.
func gz(t *testing.T, s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, err := w.Write([]byte(s))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.String()
}

func TestKernelSupport(t *testing.T) {
	const y = "CONFIG_PPS=y\nCONFIG_PTP_1588_CLOCK=y\nCONFIG_PTP_1588_CLOCK_OPTIONAL=y\n"
	for _, tc := range []struct {
		name string
		make func(*tree)
		want want
	}{
		{"loaded, config.gz", func(tr *tree) { tr.dir("/sys/class/ptp").file("/proc/config.gz", gz(t, y)) },
			want{Pass, "the PTP clock class is loaded (/sys/class/ptp); CONFIG_PTP_1588_CLOCK=y in /proc/config.gz", ""}},
		{"loaded, no config", func(tr *tree) { tr.dir("/sys/class/ptp") }, want{Pass, "the PTP clock class is loaded (/sys/class/ptp)", ""}},
		{"module not loaded, /boot", func(tr *tree) {
			tr.file("/boot/config-6.1.0-test", "CONFIG_PTP_1588_CLOCK=m\n")
		}, want{Fail, "CONFIG_PTP_1588_CLOCK=m in /boot/config-6.1.0-test, but the module is not loaded", "modprobe ptp (the NIC driver loads it too, when it has a PHC)"}},
		{"built without", func(tr *tree) {
			tr.file("/proc/config.gz", gz(t, "# CONFIG_PTP_1588_CLOCK is not set\nCONFIG_PPS=y\n"))
		},
			want{Fail, "the kernel is built without PTP clock support (CONFIG_PTP_1588_CLOCK is not set in /proc/config.gz)", "boot a kernel with CONFIG_PTP_1588_CLOCK=y or =m (distribution kernels have it)"}},
		{"built in, no class", func(tr *tree) { tr.file("/proc/config.gz", gz(t, y)) },
			want{Warn, "CONFIG_PTP_1588_CLOCK=y in /proc/config.gz, yet there is no /sys/class/ptp", "mount -t sysfs sysfs /sys"}},
		{"a broken config.gz, then /boot", func(tr *tree) {
			tr.file("/proc/config.gz", "not gzip").file("/boot/config-6.1.0-test", "# CONFIG_PTP_1588_CLOCK is not set\n")
		}, want{Fail, "is not set in /boot/config-6.1.0-test", "boot a kernel with CONFIG_PTP_1588_CLOCK=y or =m (distribution kernels have it)"}},
		{"nothing to go by", func(*tree) {},
			want{Warn, "cannot tell: no /sys/class/ptp, and no kernel configuration", "modprobe ptp, then ls /sys/class/ptp"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTree(t)
			tc.make(tr)
			tc.want.check(t, kernelSupport(tr.host(nil, nil)))
		})
	}
}

func TestCPUGovernor(t *testing.T) {
	const fix = "cpupower frequency-set -g performance (or: echo performance | tee /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor)"
	for _, tc := range []struct {
		name string
		govs []string
		want want
	}{
		{"no cpufreq", nil, want{Pass, "no CPU frequency scaling here (no cpufreq)", ""}},
		{"performance", []string{"performance", "performance"}, want{Pass, "performance on 2 CPU(s)", ""}},
		{"powersave", []string{"powersave", "powersave", "performance", "powersave"},
			want{Warn, "performance on 1 CPU(s), powersave on 3 CPU(s): a CPU that changes frequency", fix}},
		{"schedutil", []string{"schedutil"}, want{Warn, "schedutil on 1 CPU(s)", fix}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTree(t).dir("/sys/devices/system/cpu/cpufreq")
			for i, g := range tc.govs {
				tr.file("/sys/devices/system/cpu/cpu"+string(rune('0'+i))+"/cpufreq/scaling_governor", g+"\n")
			}
			tc.want.check(t, cpuGovernor(tr.host(nil, nil)))
		})
	}
}
