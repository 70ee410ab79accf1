package analyze

import (
	"time"

	"github.com/gopacket/gopacket"
)

func gopacketCI(t time.Time, n int) gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: t, CaptureLength: n, Length: n}
}
