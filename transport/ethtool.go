package transport

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Coalescing is how long an interface's driver holds received and sent
// packets back before it raises an interrupt, as 'ethtool -c' prints it
// (ETHTOOL_GCOALESCE). A receive timestamp is taken when the packet
// arrives, whatever the interrupt does, but holding packets back delays
// the daemon's reaction and, with software timestamps, the timestamp
// itself. A field the driver does not implement reads 0.
type Coalescing struct {
	RxUsecs, RxFrames uint32 // rx-usecs, rx-frames
	TxUsecs, TxFrames uint32 // tx-usecs, tx-frames
	// AdaptiveRx and AdaptiveTx are adaptive-rx and adaptive-tx: the
	// driver changes the delays with the load.
	AdaptiveRx, AdaptiveTx bool
}

// Rings are an interface's receive and transmit descriptor rings, as
// 'ethtool -g' prints them (ETHTOOL_GRINGPARAM): the sizes in use and the
// largest the hardware allows. A ring too small for a burst drops packets,
// PTP's among them.
type Rings struct {
	Rx, Tx       uint32 // current rx and tx ring sizes
	RxMax, TxMax uint32 // pre-set maximums
}

// ethtoolCoalesce is struct ethtool_coalesce of linux/ethtool.h.
type ethtoolCoalesce struct {
	Cmd                      uint32
	RxCoalesceUsecs          uint32
	RxMaxCoalescedFrames     uint32
	RxCoalesceUsecsIrq       uint32
	RxMaxCoalescedFramesIrq  uint32
	TxCoalesceUsecs          uint32
	TxMaxCoalescedFrames     uint32
	TxCoalesceUsecsIrq       uint32
	TxMaxCoalescedFramesIrq  uint32
	StatsBlockCoalesceUsecs  uint32
	UseAdaptiveRxCoalesce    uint32
	UseAdaptiveTxCoalesce    uint32
	PktRateLow               uint32
	RxCoalesceUsecsLow       uint32
	RxMaxCoalescedFramesLow  uint32
	TxCoalesceUsecsLow       uint32
	TxMaxCoalescedFramesLow  uint32
	PktRateHigh              uint32
	RxCoalesceUsecsHigh      uint32
	RxMaxCoalescedFramesHigh uint32
	TxCoalesceUsecsHigh      uint32
	TxMaxCoalescedFramesHigh uint32
	RateSampleInterval       uint32
}

// ethtoolRingparam is struct ethtool_ringparam of linux/ethtool.h.
type ethtoolRingparam struct {
	Cmd               uint32
	RxMaxPending      uint32
	RxMiniMaxPending  uint32
	RxJumboMaxPending uint32
	TxMaxPending      uint32
	RxPending         uint32
	RxMiniPending     uint32
	RxJumboPending    uint32
	TxPending         uint32
}

// ethtoolIfreq is struct ifreq with its union as ifr_data, the pointer
// SIOCETHTOOL takes.
type ethtoolIfreq struct {
	Name [unix.IFNAMSIZ]byte
	Data unsafe.Pointer
	_    [24 - unsafe.Sizeof(uintptr(0))]byte
}

// InterfaceCoalescing asks the driver of ifname for its interrupt
// coalescing. A driver that has none (veth, for one) answers an error
// that errors.Is unix.EOPNOTSUPP.
func InterfaceCoalescing(ifname string) (Coalescing, error) {
	c := ethtoolCoalesce{Cmd: unix.ETHTOOL_GCOALESCE}
	if err := ethtool(ifname, "ETHTOOL_GCOALESCE", unsafe.Pointer(&c)); err != nil {
		return Coalescing{}, err
	}
	return Coalescing{RxUsecs: c.RxCoalesceUsecs, RxFrames: c.RxMaxCoalescedFrames,
		TxUsecs: c.TxCoalesceUsecs, TxFrames: c.TxMaxCoalescedFrames,
		AdaptiveRx: c.UseAdaptiveRxCoalesce != 0, AdaptiveTx: c.UseAdaptiveTxCoalesce != 0}, nil
}

// InterfaceRings asks the driver of ifname for its ring sizes. A driver
// without rings answers an error that errors.Is unix.EOPNOTSUPP.
func InterfaceRings(ifname string) (Rings, error) {
	r := ethtoolRingparam{Cmd: unix.ETHTOOL_GRINGPARAM}
	if err := ethtool(ifname, "ETHTOOL_GRINGPARAM", unsafe.Pointer(&r)); err != nil {
		return Rings{}, err
	}
	return Rings{Rx: r.RxPending, Tx: r.TxPending, RxMax: r.RxMaxPending, TxMax: r.TxMaxPending}, nil
}

// ethtool makes the SIOCETHTOOL request whose command and answer are at
// data, on a throw-away socket of the caller's network namespace.
func ethtool(ifname, name string, data unsafe.Pointer) error {
	var ifr ethtoolIfreq
	if len(ifname) == 0 || len(ifname) >= len(ifr.Name) {
		return fmt.Errorf("transport: interface %q: %s: %w: not an interface name", ifname, name, unix.EINVAL)
	}
	copy(ifr.Name[:], ifname)
	ifr.Data = data
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("transport: %s on %s: %w", name, ifname, err)
	}
	defer unix.Close(fd)
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr)))
	runtime.KeepAlive(&ifr)
	if errno != 0 {
		if errors.Is(errno, unix.ENODEV) {
			return fmt.Errorf("transport: interface %s not found: check the name with 'ip link' (%w)", ifname, errno)
		}
		return fmt.Errorf("transport: %s on %s: %w", name, ifname, errno)
	}
	return nil
}
