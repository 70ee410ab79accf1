package engine

import "github.com/roko-network/roko-ptpd/ptp"

func gmConfig(id byte) ClockConfig {
	c := DefaultClockConfig(cid(id))
	c.Priority1 = 1
	c.ClockQuality = ptp.ClockQuality{ClockClass: 6, ClockAccuracy: 0x20, OffsetScaledLogVariance: 0x4e5d}
	c.DomainNumber = 24
	return c
}

func clientConfig(id byte) ClockConfig {
	c := DefaultClockConfig(cid(id))
	c.SlaveOnly = true
	c.DomainNumber = 24
	return c
}

func fastPort(name string) PortConfig {
	p := DefaultPortConfig(name)
	p.LogAnnounceInterval = 0
	p.LogSyncInterval = -4
	p.LogMinDelayReqInterval = -4
	return p
}

// testPI is a plain PI servo in linuxptp's manner, enough to close the
// loop in engine tests: the first sample is held, the second estimates the
// frequency and steps if the offset is large, then proportional-integral.
type testPI struct {
	n         int
	interval  float64
	lastOff   int64
	lastT     int64
	drift     float64
	stepLimit int64
}

func (s *testPI) SetSyncInterval(seconds float64) { s.interval = seconds }
func (s *testPI) Reset()                          { s.n = 0; s.drift = 0 }
func (s *testPI) Sample(offset, t int64) (float64, ServoState) {
	s.n++
	switch s.n {
	case 1:
		s.lastOff, s.lastT = offset, t
		return s.drift, ServoUnlocked
	case 2:
		if dt := float64(t - s.lastT); dt > 0 {
			s.drift -= float64(offset-s.lastOff) / dt * 1e9
		}
		if offset > s.stepLimit || offset < -s.stepLimit {
			return s.drift, ServoJump
		}
	}
	iv := s.interval
	if iv == 0 {
		iv = 1
	}
	kp, ki := 0.7/iv, 0.3/iv
	s.drift -= ki * float64(offset)
	return s.drift - kp*float64(offset), ServoLocked
}

func cid(b byte) ptp.ClockIdentity { return ptp.ClockIdentity{0x02, 0, 0, 0xff, 0xfe, 0, 0, b} }
