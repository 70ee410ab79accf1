package servo

import "testing"

// The servo runs once per Sync: it must not allocate, and its cost with a
// full 1024-point window shows what the longer windows buy at what price.
func BenchmarkSample(b *testing.B) {
	for _, tc := range []struct {
		name string
		make func() Servo
	}{
		{"pi", func() Servo { s, _ := NewPI(DefaultConfig(), 0); return s }},
		{"linreg-64", func() Servo {
			c := DefaultConfig()
			c.LinRegMaxOrder = LinRegLinuxPTPOrder
			return NewLinReg(c, 0)
		}},
		{"linreg-1024", func() Servo { return NewLinReg(DefaultConfig(), 0) }},
		{"linreg-1024+filter", func() Servo { return NewFilter(NewLinReg(DefaultConfig(), 0), DefaultFilterConfig()) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := tc.make()
			s.SetSyncInterval(1.0 / 16)
			local := int64(1_700_000_000) * 1e9
			// Fill the window first.
			for i := range 2048 {
				s.Sample(int64(i%7)-3, local)
				local += 62_500_000
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s.Sample(int64(i%7)-3, local)
				local += 62_500_000
				i++
			}
		})
	}
}
