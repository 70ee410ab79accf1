package vtime

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestQueueOrder(t *testing.T) {
	type sched struct {
		at   int64
		name string
	}
	for _, tc := range []struct {
		name  string
		in    []sched
		until int64
		want  []string
		now   int64
	}{
		{name: "empty", until: 10, now: 10},
		{name: "by time", in: []sched{{30, "c"}, {10, "a"}, {20, "b"}}, until: 100, want: []string{"a", "b", "c"}, now: 100},
		{name: "ties in insertion order", in: []sched{{5, "a"}, {5, "b"}, {1, "x"}, {5, "c"}}, until: 5, want: []string{"x", "a", "b", "c"}, now: 5},
		{name: "stops at until", in: []sched{{5, "a"}, {6, "b"}, {7, "c"}}, until: 6, want: []string{"a", "b"}, now: 6},
		{name: "past runs now", in: []sched{{-5, "a"}, {0, "b"}}, until: 0, want: []string{"a", "b"}, now: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var q Queue
			var got []string
			var times []int64
			for _, s := range tc.in {
				q.At(s.at, func() { got = append(got, s.name); times = append(times, q.Now()) })
			}
			q.Run(tc.until)
			if !slices.Equal(got, tc.want) {
				t.Errorf("ran %v, want %v", got, tc.want)
			}
			if !slices.IsSorted(times) {
				t.Errorf("time went back: %v", times)
			}
			if q.Now() != tc.now {
				t.Errorf("Now = %d, want %d", q.Now(), tc.now)
			}
		})
	}
}

func TestQueueNested(t *testing.T) {
	var q Queue
	var got []int64
	q.At(10, func() {
		got = append(got, q.Now())
		q.At(q.Now(), func() { got = append(got, -q.Now()) }) // after the others at 10
		q.At(15, func() { got = append(got, q.Now()) })
		q.At(100, func() { got = append(got, q.Now()) })
	})
	q.At(10, func() { got = append(got, q.Now()+1) })
	q.Run(50)
	if want := []int64{10, 11, -10, 15}; !slices.Equal(got, want) {
		t.Fatalf("ran %v, want %v", got, want)
	}
	if n, ok := q.Next(); !ok || n != 100 || q.Len() != 1 {
		t.Fatalf("Next = %d, %v; Len %d", n, ok, q.Len())
	}
	if !q.RunNext() || q.Now() != 100 || q.RunNext() {
		t.Fatalf("RunNext: Now %d", q.Now())
	}
	q.Advance(50) // never back
	if q.Now() != 100 {
		t.Fatalf("Advance went back to %d", q.Now())
	}
}

func TestQueueRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var q Queue
	type rec struct {
		at  int64
		seq int
	}
	var got []rec
	for i := range 2000 {
		at := rng.Int64N(100)
		q.At(at, func() { got = append(got, rec{q.Now(), i}) })
	}
	q.Run(1000)
	if len(got) != 2000 {
		t.Fatalf("ran %d", len(got))
	}
	if !slices.IsSortedFunc(got, func(a, b rec) int {
		if a.at != b.at {
			return int(a.at - b.at)
		}
		return a.seq - b.seq
	}) {
		t.Fatal("not in (time, insertion) order")
	}
}

func BenchmarkQueue(b *testing.B) {
	var q Queue
	f := func() {}
	for i := range 64 {
		q.At(int64(i), f)
	}
	b.ReportAllocs()
	for b.Loop() {
		q.At(q.Now()+64, f)
		q.RunNext()
	}
}
