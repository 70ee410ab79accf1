package tod

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestSerialReports(t *testing.T) {
	tests := []struct {
		name  string
		write string
		want  []Report // Received is checked apart
	}{
		{
			name:  "RMC valid",
			write: nmeaLine("GPRMC,120000.00,A,4807.038,N,01131.000,E,0.0,0.0,300625,,,A"),
			want:  []Report{{UTC: time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC), Valid: true, Source: "nmea"}},
		},
		{
			name:  "RMC void",
			write: nmeaLine("GNRMC,120001.50,V,,,,,,,300625,,,N"),
			want:  []Report{{UTC: time.Date(2025, 6, 30, 12, 0, 1, 500e6, time.UTC), Source: "nmea"}},
		},
		{
			// ZDA has no status: after an RMC without a fix it is not
			// vouched for.
			name:  "ZDA after a void RMC",
			write: nmeaLine("GPZDA,120001.00,30,06,2025,00,00"),
			want:  []Report{{UTC: time.Date(2025, 6, 30, 12, 0, 1, 0, time.UTC), Source: "nmea"}},
		},
		{
			name: "leap second",
			write: nmeaLine("GPRMC,235960.00,A,4807.038,N,01131.000,E,0.0,0.0,311216,,,A") +
				nmeaLine("GPZDA,235960.00,31,12,2016,00,00"),
			want: []Report{
				{UTC: time.Date(2016, 12, 31, 23, 59, 59, 0, time.UTC), Leap: true, Valid: true, Source: "nmea"},
				{UTC: time.Date(2016, 12, 31, 23, 59, 59, 0, time.UTC), Leap: true, Valid: true, Source: "nmea"},
			},
		},
		{
			name: "two sentences in one write",
			write: nmeaLine("GPRMC,120002,A,4807.038,N,01131.000,E,0.0,0.0,300625,,,A") +
				nmeaLine("GPZDA,120002.00,30,06,2025,00,00"),
			want: []Report{
				{UTC: time.Date(2025, 6, 30, 12, 0, 2, 0, time.UTC), Valid: true, Source: "nmea"},
				{UTC: time.Date(2025, 6, 30, 12, 0, 2, 0, time.UTC), Valid: true, Source: "nmea"},
			},
		},
	}
	master, slave := openPTY(t)
	s, err := OpenSerial(slave, 9600)
	require.NoError(t, err)
	run := start(t, s)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := monotonic()
			_, err := master.WriteString(tt.write)
			require.NoError(t, err)
			for _, want := range tt.want {
				got := run.next(t)
				after := monotonic()
				assert.GreaterOrEqual(t, got.Received, before, "received before it was written")
				assert.LessOrEqual(t, got.Received, after, "received after it was delivered")
				got.Received = 0
				assert.Equal(t, want, got)
			}
		})
	}
	assert.Equal(t, Counters{Accepted: 7}, s.Counters())
}

func TestSerialCountsWhatItCannotUse(t *testing.T) {
	master, slave := openPTY(t)
	s, err := OpenSerial(slave, 4800)
	require.NoError(t, err)
	run := start(t, s)
	good := nmeaLine("GPZDA,120003.00,30,06,2025,00,00")
	bad := []byte(good)
	bad[10] = '9' // the checksum no longer matches
	_, err = master.WriteString(string(bad) +
		"$GPZDA,120003.00,30,06*00\r\n" + // unreadable, checksum too
		nmeaLine("GPZDA,126003.00,30,06,2025,00,00") + // minute 60
		nmeaLine("GPGGA,120003.00,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,") +
		nmeaLine("GPGSV,1,1,00") +
		good)
	require.NoError(t, err)
	rep := run.next(t)
	assert.Equal(t, time.Date(2025, 6, 30, 12, 0, 3, 0, time.UTC), rep.UTC)
	run.none(t, 50*time.Millisecond)
	assert.Equal(t, Counters{Accepted: 1, Malformed: 3, Skipped: 2}, s.Counters())
}

func TestSerialTermios(t *testing.T) {
	tests := []struct {
		baud  int
		speed uint32
	}{
		{4800, unix.B4800},
		{9600, unix.B9600},
		{115200, unix.B115200},
		{921600, unix.B921600},
	}
	for _, tt := range tests {
		t.Run("", func(t *testing.T) {
			_, slave := openPTY(t)
			before := slaveTermios(t, slave)
			require.NotZero(t, before.Lflag&unix.ICANON, "a new pty starts in canonical mode")
			s, err := OpenSerial(slave, tt.baud)
			require.NoError(t, err)

			got := slaveTermios(t, slave)
			assert.Equal(t, tt.speed, got.Cflag&(unix.CBAUD|unix.CBAUDEX), "baud rate")
			assert.Equal(t, uint32(unix.CS8), got.Cflag&unix.CSIZE, "8 data bits")
			assert.Zero(t, got.Cflag&(unix.PARENB|unix.CSTOPB|unix.CRTSCTS), "no parity, 1 stop bit, no RTS/CTS")
			assert.Equal(t, uint32(unix.CLOCAL|unix.CREAD), got.Cflag&(unix.CLOCAL|unix.CREAD))
			assert.Zero(t, got.Lflag&(unix.ECHO|unix.ECHONL|unix.ICANON|unix.ISIG|unix.IEXTEN), "raw: no echo, no line editing")
			assert.Zero(t, got.Iflag&(unix.ICRNL|unix.INLCR|unix.IGNCR|unix.IXON|unix.ISTRIP), "no CR/NL translation, no XON/XOFF")
			assert.Zero(t, got.Oflag&unix.OPOST, "no output processing")
			assert.Equal(t, uint8(1), got.Cc[unix.VMIN])
			assert.Equal(t, uint8(0), got.Cc[unix.VTIME])

			require.NoError(t, s.Close())
			require.NoError(t, s.Close(), "a second Close")
			after := slaveTermios(t, slave)
			assert.Equal(t, before.Iflag, after.Iflag)
			assert.Equal(t, before.Oflag, after.Oflag)
			assert.Equal(t, before.Cflag, after.Cflag)
			assert.Equal(t, before.Lflag, after.Lflag)
			assert.Equal(t, before.Cc, after.Cc)
		})
	}
}

func TestOpenSerialErrors(t *testing.T) {
	_, slave := openPTY(t)
	tests := []struct {
		name, path string
		baud       int
		want       []string
	}{
		{"missing device", "/dev/roko-no-such-gps", 9600,
			[]string{"/dev/roko-no-such-gps", "does not exist", "ts2phc.nmea_serialport"}},
		{"not a tty", "/dev/null", 9600, []string{"/dev/null", "not a serial device"}},
		{"unsupported rate", slave, 12345, []string{"ts2phc.nmea_baudrate", "12345", "9600"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := OpenSerial(tt.path, tt.baud)
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestSerialCloseEndsRun(t *testing.T) {
	_, slave := openPTY(t)
	s, err := OpenSerial(slave, 9600)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- s.Run(t.Context(), func(Report) {}) }()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, s.Close())
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Close")
	}
}

func TestSerialHangUpIsAnError(t *testing.T) {
	master, slave := openPTY(t)
	s, err := OpenSerial(slave, 9600)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	done := make(chan error, 1)
	go func() { done <- s.Run(t.Context(), func(Report) {}) }()
	time.Sleep(20 * time.Millisecond)
	master.Close() // the receiver goes away: the slave reads EIO
	select {
	case err := <-done:
		require.Error(t, err)
		assert.Contains(t, err.Error(), slave)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the hang-up")
	}
	assert.Equal(t, uint64(1), s.Counters().ReadErrors)
}
