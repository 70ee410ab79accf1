package tod

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeGPSD(t *testing.T) {
	at := time.Date(2025, 6, 30, 12, 0, 0, 283e6, time.UTC)
	tests := []struct {
		name    string
		line    string
		want    Report
		ok      bool
		wantErr string
	}{
		{name: "3D fix", line: `{"class":"TPV","device":"/dev/pts/1","mode":3,"time":"2025-06-30T12:00:00.283Z","ept":0.005,"lat":46.5,"lon":7.4}`,
			want: Report{UTC: at, Valid: true, Source: "gpsd"}, ok: true},
		{name: "2D fix with leapseconds", line: `{"class":"TPV","mode":2,"time":"2025-06-30T12:00:00.283Z","leapseconds":18}`,
			want: Report{UTC: at, Valid: true, UTCOffset: 37, UTCOffsetKnown: true, Source: "gpsd"}, ok: true},
		{name: "leapseconds zero is known", line: `{"class":"TPV","mode":3,"time":"2025-06-30T12:00:00.283Z","leapseconds":0}`,
			want: Report{UTC: at, Valid: true, UTCOffset: 19, UTCOffsetKnown: true, Source: "gpsd"}, ok: true},
		{name: "time without a fix", line: `{"class":"TPV","mode":1,"time":"2025-06-30T12:00:00.283Z"}`,
			want: Report{UTC: at, Source: "gpsd"}, ok: true},
		{name: "mode unknown", line: `{"class":"TPV","time":"2025-06-30T12:00:00.283Z"}`,
			want: Report{UTC: at, Source: "gpsd"}, ok: true},
		{name: "whole second, CR LF", line: "{\"class\":\"TPV\",\"mode\":3,\"time\":\"2025-06-30T12:00:01Z\"}\r\n",
			want: Report{UTC: time.Date(2025, 6, 30, 12, 0, 1, 0, time.UTC), Valid: true, Source: "gpsd"}, ok: true},
		{name: "leap second", line: `{"class":"TPV","mode":3,"time":"2016-12-31T23:59:60.000Z"}`,
			want: Report{UTC: time.Date(2016, 12, 31, 23, 59, 59, 0, time.UTC), Leap: true, Valid: true, Source: "gpsd"}, ok: true},
		{name: "TPV without time", line: `{"class":"TPV","device":"/dev/pts/1","mode":1}`},
		{name: "VERSION", line: `{"class":"VERSION","release":"3.22","rev":"3.22","proto_major":3,"proto_minor":14}`},
		{name: "DEVICES", line: `{"class":"DEVICES","devices":[{"class":"DEVICE","path":"/dev/pts/1","activated":"2025-06-30T12:00:00.000Z"}]}`},
		{name: "WATCH", line: `{"class":"WATCH","enable":true,"json":true,"nmea":false,"raw":0,"scaled":false,"timing":false,"split24":false,"pps":false}`},
		{name: "SKY", line: `{"class":"SKY","device":"/dev/pts/1","time":"2025-06-30T12:00:00.000Z","satellites":[{"PRN":1,"el":40,"az":100,"ss":40,"used":true}]}`},
		{name: "TOFF", line: `{"class":"TOFF","device":"/dev/pts/1","real_sec":1751284800,"real_nsec":0,"clock_sec":1751284800,"clock_nsec":120000000,"precision":-1}`},
		{name: "PPS", line: `{"class":"PPS","device":"/dev/pts/1","real_sec":1751284800,"real_nsec":0,"clock_sec":1751284800,"clock_nsec":500,"precision":-20}`},
		{name: "ERROR", line: `{"class":"ERROR","message":"Unrecognized request 'FOO'"}`, wantErr: "Unrecognized request"},
		{name: "not JSON", line: `$GPRMC,120000,A,...`, wantErr: "gpsd line"},
		{name: "no class", line: `{"time":"2025-06-30T12:00:00Z"}`, wantErr: "without class"},
		{name: "bad time", line: `{"class":"TPV","mode":3,"time":"yesterday"}`, wantErr: "yesterday"},
		{name: "leap second not at the day's end", line: `{"class":"TPV","mode":3,"time":"2016-12-31T12:59:60.000Z"}`, wantErr: "leap second"},
		{name: "mode of the wrong type", line: `{"class":"TPV","mode":"3","time":"2025-06-30T12:00:00Z"}`, wantErr: "gpsd line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := decodeGPSD([]byte(tt.line))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.False(t, ok)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

// gpsdSession is one connection of a fake gpsd: it checks the client's
// ?WATCH and answers with lines.
func gpsdSession(t *testing.T, hold bool, lines ...string) func(net.Conn) {
	return func(c net.Conn) {
		c.Write([]byte(`{"class":"VERSION","release":"3.22","rev":"3.22","proto_major":3,"proto_minor":14}` + "\n"))
		cmd, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			t.Errorf("fake gpsd: reading the client's command: %v", err)
			return
		}
		if got := strings.TrimSpace(cmd); got != `?WATCH={"enable":true,"json":true};` {
			t.Errorf("fake gpsd: the client sent %q", got)
		}
		c.Write([]byte(strings.Join(lines, "\n") + "\n"))
		if hold {
			holdOpen(c)
		}
	}
}

func TestGPSDReports(t *testing.T) {
	host, port := fakePeer(t,
		gpsdSession(t, false,
			`{"class":"DEVICES","devices":[{"class":"DEVICE","path":"/dev/pts/1","driver":"NMEA0183"}]}`,
			`{"class":"WATCH","enable":true,"json":true}`,
			`{"class":"TPV","device":"/dev/pts/1","mode":1}`,
			`{"class":"TPV","device":"/dev/pts/1","mode":1,"time":"2025-06-30T12:00:00.000Z"}`,
			`{"class":"SKY","device":"/dev/pts/1","satellites":[]}`,
			`not json at all`,
			`{"class":"TPV","device":"/dev/pts/1","mode":3,"time":"2025-06-30T12:00:01.000Z","leapseconds":18}`,
			`{"class":"ERROR","message":"oops"}`,
			`{"class":"TPV","mode":3,"time":"2025-06-30T12:00:02.0`, // cut short: malformed
		),
		gpsdSession(t, true,
			`{"class":"TPV","device":"/dev/pts/1","mode":2,"time":"2025-06-30T12:00:03.000Z"}`,
		),
	)
	g := DialGPSD(net.JoinHostPort(host, port))
	g.b.min = 10 * time.Millisecond
	logged := make(chan string, 10)
	g.Log = func(err error) { logged <- err.Error() }
	run := start(t, g)

	want := []Report{
		{UTC: time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC), Source: "gpsd"},
		{UTC: time.Date(2025, 6, 30, 12, 0, 1, 0, time.UTC), Valid: true, UTCOffset: 37, UTCOffsetKnown: true, Source: "gpsd"},
		{UTC: time.Date(2025, 6, 30, 12, 0, 3, 0, time.UTC), Valid: true, Source: "gpsd"},
	}
	for _, w := range want {
		got := run.next(t)
		assert.NotZero(t, got.Received)
		assert.LessOrEqual(t, got.Received, monotonic())
		got.Received = 0
		assert.Equal(t, w, got)
	}
	// Skipped: VERSION twice, DEVICES, WATCH, TPV without time, SKY,
	// ERROR. Malformed: not JSON, cut short. One lost connection.
	assert.Equal(t, Counters{Accepted: 3, Malformed: 2, Skipped: 7, ReadErrors: 1, Reconnects: 1}, g.Counters())
	assert.Contains(t, <-logged, "oops")
	assert.Contains(t, <-logged, net.JoinHostPort(host, port))
}

func TestGPSDTooLongLine(t *testing.T) {
	host, port := fakePeer(t, gpsdSession(t, true,
		`{"class":"SKY","pad":"`+strings.Repeat("x", 3*maxGPSDLine)+`"}`,
		`{"class":"TPV","mode":3,"time":"2025-06-30T12:00:04Z"}`,
	))
	g := DialGPSD(net.JoinHostPort(host, port))
	run := start(t, g)
	assert.Equal(t, time.Date(2025, 6, 30, 12, 0, 4, 0, time.UTC), run.next(t).UTC)
	assert.Equal(t, Counters{Accepted: 1, Malformed: 1, Skipped: 1}, g.Counters())
}

func TestDialGPSDDefault(t *testing.T) {
	assert.Equal(t, "127.0.0.1:2947", DialGPSD("").addr)
}

func FuzzDecodeGPSD(f *testing.F) {
	for _, s := range []string{
		`{"class":"TPV","mode":3,"time":"2025-06-30T12:00:00.283Z","leapseconds":18}`,
		`{"class":"TPV","mode":3,"time":"2016-12-31T23:59:60.000Z"}`,
		`{"class":"SKY","satellites":[]}`,
		`{"class":"ERROR","message":"x"}`,
		`{"class":"TPV","time":"2016-12-31T23:59:60.000000000000000000000000Z"}`,
		`null`, `[]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		rep, ok, err := decodeGPSD(line)
		if err != nil && ok {
			t.Fatalf("ok with an error: %v", err)
		}
		if ok && (rep.UTC.IsZero() || rep.Source != "gpsd" || rep.UTC.Location() != time.UTC) {
			t.Fatalf("a report without a UTC time: %+v", rep)
		}
	})
}

func BenchmarkDecodeGPSD(b *testing.B) {
	line := []byte(`{"class":"TPV","device":"/dev/pts/1","mode":2,"time":"2025-06-30T12:00:00.000Z","leapseconds":18,"ept":0.005,"lat":48.1173,"lon":11.516666667,"track":0.0,"magtrack":3.3264,"magvar":3.3,"speed":0.000}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := decodeGPSD(line); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
