package transport

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/roko-network/roko-ptpd/internal/netns"
	"github.com/roko-network/roko-ptpd/internal/testenv"
)

// ethtoolLayoutProgram prints the kernel headers' sizes and offsets of the
// structs the ethtool requests use.
const ethtoolLayoutProgram = `#include <stdio.h>
#include <stddef.h>
#include <net/if.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#define V(name, expr) printf("%s %lu\n", name, (unsigned long)(expr))
#define S(t) V("sizeof " #t, sizeof(struct t))
#define O(t, f) V("offsetof " #t "." #f, offsetof(struct t, f))
int main(void) {
	S(ethtool_coalesce); O(ethtool_coalesce, rx_coalesce_usecs); O(ethtool_coalesce, rx_max_coalesced_frames);
	O(ethtool_coalesce, tx_coalesce_usecs); O(ethtool_coalesce, tx_max_coalesced_frames);
	O(ethtool_coalesce, use_adaptive_rx_coalesce); O(ethtool_coalesce, use_adaptive_tx_coalesce);
	O(ethtool_coalesce, rate_sample_interval);
	S(ethtool_ringparam); O(ethtool_ringparam, rx_max_pending); O(ethtool_ringparam, tx_max_pending);
	O(ethtool_ringparam, rx_pending); O(ethtool_ringparam, tx_pending);
	S(ifreq); O(ifreq, ifr_data);
	V("ETHTOOL_GCOALESCE", ETHTOOL_GCOALESCE); V("ETHTOOL_GRINGPARAM", ETHTOOL_GRINGPARAM); V("SIOCETHTOOL", SIOCETHTOOL);
	return 0;
}
`

// TestEthtoolLayout checks the Go mirrors of ethtool_coalesce,
// ethtool_ringparam and ifreq against the installed kernel headers.
func TestEthtoolLayout(t *testing.T) {
	var c ethtoolCoalesce
	var r ethtoolRingparam
	var ifr ethtoolIfreq
	u := func(v uintptr) uint64 { return uint64(v) }
	want := map[string]uint64{
		"sizeof ethtool_coalesce":                            u(unsafe.Sizeof(c)),
		"offsetof ethtool_coalesce.rx_coalesce_usecs":        u(unsafe.Offsetof(c.RxCoalesceUsecs)),
		"offsetof ethtool_coalesce.rx_max_coalesced_frames":  u(unsafe.Offsetof(c.RxMaxCoalescedFrames)),
		"offsetof ethtool_coalesce.tx_coalesce_usecs":        u(unsafe.Offsetof(c.TxCoalesceUsecs)),
		"offsetof ethtool_coalesce.tx_max_coalesced_frames":  u(unsafe.Offsetof(c.TxMaxCoalescedFrames)),
		"offsetof ethtool_coalesce.use_adaptive_rx_coalesce": u(unsafe.Offsetof(c.UseAdaptiveRxCoalesce)),
		"offsetof ethtool_coalesce.use_adaptive_tx_coalesce": u(unsafe.Offsetof(c.UseAdaptiveTxCoalesce)),
		"offsetof ethtool_coalesce.rate_sample_interval":     u(unsafe.Offsetof(c.RateSampleInterval)),
		"sizeof ethtool_ringparam":                           u(unsafe.Sizeof(r)),
		"offsetof ethtool_ringparam.rx_max_pending":          u(unsafe.Offsetof(r.RxMaxPending)),
		"offsetof ethtool_ringparam.tx_max_pending":          u(unsafe.Offsetof(r.TxMaxPending)),
		"offsetof ethtool_ringparam.rx_pending":              u(unsafe.Offsetof(r.RxPending)),
		"offsetof ethtool_ringparam.tx_pending":              u(unsafe.Offsetof(r.TxPending)),
		"sizeof ifreq":                                       u(unsafe.Sizeof(ifr)),
		"offsetof ifreq.ifr_data":                            u(unsafe.Offsetof(ifr.Data)),
		"ETHTOOL_GCOALESCE":                                  unix.ETHTOOL_GCOALESCE,
		"ETHTOOL_GRINGPARAM":                                 unix.ETHTOOL_GRINGPARAM,
		"SIOCETHTOOL":                                        unix.SIOCETHTOOL,
	}
	testenv.CheckKernelLayout(t, ethtoolLayoutProgram, want, "/usr/include/linux/ethtool.h")
}

// TestEthtoolErrors: a driver without coalescing or rings (loopback), an
// interface that does not exist and a name that cannot be one each come
// back as an error that says which, never as zero settings.
func TestEthtoolErrors(t *testing.T) {
	_, err := InterfaceCoalescing("lo")
	assert.ErrorIs(t, err, unix.EOPNOTSUPP)
	assert.ErrorContains(t, err, "ETHTOOL_GCOALESCE on lo")
	_, err = InterfaceRings("lo")
	assert.ErrorIs(t, err, unix.EOPNOTSUPP)
	_, err = InterfaceRings("nosuch0")
	assert.ErrorIs(t, err, unix.ENODEV)
	assert.ErrorContains(t, err, "check the name with 'ip link'")
	_, err = InterfaceCoalescing("a-name-far-too-long")
	assert.ErrorIs(t, err, unix.EINVAL)
	_, err = InterfaceCoalescing("")
	assert.ErrorIs(t, err, unix.EINVAL)
}

// TestEthtoolAgainstEthtool compares InterfaceCoalescing and
// InterfaceRings with what the ethtool command prints. "tap" runs
// everywhere root does: a tap device in a namespace of its own, whose
// driver (tun) has coalescing, with rx-frames set to 17 so that reading
// zeros cannot pass. "host" compares every interface of this host whose
// driver has them (virtio_net, a real NIC): that is the only place rings
// are compared, because no virtual driver a CI runner can create has
// them, so a host without such a NIC compares nothing there and says so.
func TestEthtoolAgainstEthtool(t *testing.T) {
	bin := testenv.RequireCommand(t, "ethtool", "ethtool")
	t.Run("tap", func(t *testing.T) {
		testenv.RequireRoot(t)
		if _, err := os.Stat("/dev/net/tun"); err != nil {
			testenv.Missing(t, "/dev/net/tun: %v (modprobe tun)", err)
		}
		ns := netns.New(t)
		ns.IP(t, "tuntap", "add", "mode", "tap", "name", "rokotap0")
		out, err := ns.Command(bin, "-C", "rokotap0", "rx-frames", "17").CombinedOutput()
		require.NoError(t, err, "ethtool -C rokotap0 rx-frames 17: %s", out)
		cmp := ethtoolComparer{t: t, bin: bin, do: ns.Do, command: ns.Command}
		require.Equal(t, 1, cmp.compare("rokotap0"), "the tap's coalescing, compared")
		var c Coalescing
		require.NoError(t, ns.Do(func() (err error) { c, err = InterfaceCoalescing("rokotap0"); return err }))
		assert.Equal(t, uint32(17), c.RxFrames)
	})
	t.Run("host", func(t *testing.T) {
		ifaces, err := os.ReadDir("/sys/class/net")
		require.NoError(t, err)
		cmp := ethtoolComparer{t: t, bin: bin, do: func(f func() error) error { return f() }, command: exec.Command}
		compared := 0
		for _, d := range ifaces {
			compared += cmp.compare(d.Name())
		}
		t.Logf("%d answers compared with ethtool's (veth and loopback have neither coalescing nor rings)", compared)
	})
}

// ethtoolComparer compares this package's answers for an interface with
// the ethtool command's, in a namespace: do runs a function there and
// command a command there.
type ethtoolComparer struct {
	t       *testing.T
	bin     string
	do      func(func() error) error
	command func(name string, args ...string) *exec.Cmd
}

// field reads "name: 123" from ethtool's output; n/a is not found.
func (e ethtoolComparer) field(out, name string) (uint32, bool) {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `:\s+(\d+)\s*$`).FindStringSubmatch(out)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseUint(m[1], 10, 32)
	require.NoError(e.t, err)
	return uint32(v), true
}

// compare compares what name's driver has (coalescing, rings) and
// returns how many of the two it compared.
func (e ethtoolComparer) compare(name string) (compared int) {
	t := e.t
	var c Coalescing
	if e.do(func() (err error) { c, err = InterfaceCoalescing(name); return err }) == nil {
		out, err := e.command(e.bin, "-c", name).Output()
		require.NoError(t, err, "ethtool -c %s", name)
		for _, f := range []struct {
			label string
			got   uint32
		}{{"rx-usecs", c.RxUsecs}, {"rx-frames", c.RxFrames}, {"tx-usecs", c.TxUsecs}, {"tx-frames", c.TxFrames}} {
			// ethtool prints n/a for a field the driver does not
			// support; the ioctl reads 0 there.
			if v, ok := e.field(string(out), f.label); ok {
				assert.Equal(t, v, f.got, "%s %s", name, f.label)
			} else {
				assert.Zero(t, f.got, "%s %s", name, f.label)
			}
		}
		assert.Equal(t, c.AdaptiveRx, strings.Contains(string(out), "Adaptive RX: on"), "%s adaptive-rx", name)
		compared++
	}
	var r Rings
	if e.do(func() (err error) { r, err = InterfaceRings(name); return err }) == nil {
		out, err := e.command(e.bin, "-g", name).Output()
		require.NoError(t, err, "ethtool -g %s", name)
		max, cur, ok := strings.Cut(string(out), "Current hardware settings:")
		require.True(t, ok, "%s", out)
		for _, f := range []struct {
			part, label string
			got         uint32
		}{{max, "RX", r.RxMax}, {max, "TX", r.TxMax}, {cur, "RX", r.Rx}, {cur, "TX", r.Tx}} {
			v, ok := e.field(f.part, f.label)
			require.True(t, ok, "%s: no %s in\n%s", name, f.label, f.part)
			assert.Equal(t, v, f.got, "%s %s", name, f.label)
		}
		compared++
	}
	return compared
}
