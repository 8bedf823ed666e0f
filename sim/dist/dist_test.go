package dist

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestParseDelay(t *testing.T) {
	cases := []struct {
		in   string
		want Delay
		err  bool
	}{
		{in: "2s", want: Fixed(2 * time.Second)},
		{in: "0", want: Fixed(0)},
		{in: "1s..3s", want: Delay{Min: time.Second, Max: 3 * time.Second}},
		{in: "100ms..2m~tail", want: Delay{Min: 100 * time.Millisecond, Max: 2 * time.Minute, Tail: true}},
		{in: "3s..1s", err: true},
		{in: "2s~tail", err: true},
		{in: "soon", err: true},
		{in: "-1s", err: true},
	}
	for _, c := range cases {
		got, err := ParseDelay(c.in)
		if c.err {
			if err == nil {
				t.Errorf("ParseDelay(%q) = %v, want an error", c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseDelay(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
		if back, _ := ParseDelay(got.String()); back != got {
			t.Errorf("String round trip of %q gave %v", c.in, back)
		}
	}
}

func TestDrawStaysInRangeAndIsReproducible(t *testing.T) {
	for _, d := range []Delay{{Min: time.Second, Max: 3 * time.Second}, {Min: 10 * time.Millisecond, Max: time.Minute, Tail: true}} {
		a, b := rand.New(rand.NewPCG(1, 2)), rand.New(rand.NewPCG(1, 2))
		below := 0
		for i := 0; i < 2000; i++ {
			x, y := d.Draw(a), d.Draw(b)
			if x != y {
				t.Fatalf("same stream, different draws: %v vs %v", x, y)
			}
			if x < d.Min || x > d.Max {
				t.Fatalf("%v drew %v, outside its range", d, x)
			}
			if x < d.Min+(d.Max-d.Min)/4 {
				below++
			}
		}
		// A tail delay puts most draws in the lowest quarter; a uniform one about a quarter.
		if d.Tail && below < 1000 || !d.Tail && (below < 350 || below > 650) {
			t.Errorf("%v: %d of 2000 draws in the lowest quarter", d, below)
		}
	}
}

func TestPerMille(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	if PerMille(0).Happens(r) {
		t.Fatal("0 per mille happened")
	}
	if !PerMille(1000).Happens(r) {
		t.Fatal("1000 per mille did not happen")
	}
	n := 0
	for i := 0; i < 10000; i++ {
		if PerMille(100).Happens(r) {
			n++
		}
	}
	if n < 850 || n > 1150 {
		t.Fatalf("100 per mille happened %d times in 10000", n)
	}
}
