package loadgen

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"iolab/models"
)

// TestHeavyShare counts the heavy lines of many clients: their share is
// close to Config.Heavy over the whole load and over each client, none at
// 0 and all at 1, and asking twice gives the same answer, as the reply
// check needs.
func TestHeavyShare(t *testing.T) {
	const clients, lines = 200, 5000
	for _, share := range []float64{0, 0.01, 0.1, 0.5, 0.9, 1} {
		h := newHeavyLines(&Config{Heavy: share, HeavyMark: "!"})
		total, worst := 0, 0.0
		for id := range uint32(clients) {
			n := 0
			for seq := range uint32(lines) {
				if h.heavy(id, seq) {
					n++
				}
				if h.heavy(id, seq) != h.heavy(id, seq) {
					t.Fatalf("share %v: line %d of client %d heavy and not", share, seq, id)
				}
			}
			total += n
			worst = max(worst, math.Abs(float64(n)/lines-share))
		}
		got := float64(total) / (clients * lines)
		if (share == 0 || share == 1) && got != share {
			t.Errorf("share %v: %v of the lines heavy, want exactly %v", share, got, share)
		}
		// A million lines: a fair coin's share strays by some 0.0005 at
		// 0.5; a wrong rule (every line, none, one client in ten) by far
		// more. The bounds are several standard deviations wide, and the
		// rule is deterministic: it passes or fails the same every time.
		if math.Abs(got-share) > 0.005 {
			t.Errorf("share %v: %.4f of the lines heavy", share, got)
		}
		if worst > 0.04 {
			t.Errorf("share %v: a client's share strays by %.3f", share, worst)
		}
	}
}

// TestPutLineMark checks the lines of a mixed load: a heavy line begins
// with the mark, then numbers its client and itself as a plain line does;
// a plain line is as it was; the line keeps its length and its newline.
func TestPutLineMark(t *testing.T) {
	for _, tc := range []struct {
		size       int
		mark       string
		plain, hvy string
	}{
		{32, "!", "0000002a00000007xxxxxxxxxxxxxxx\n", "!0000002a00000007xxxxxxxxxxxxxx\n"},
		{16, "!", "00000007xxxxxxx\n", "!00000007xxxxxx\n"},
		{12, "#slow ", "00000007xxx\n", "#slow xxxxx\n"}, // no room for a number after the mark
		{3, "!", "xx\n", "!x\n"},
	} {
		pad := bytes.Repeat([]byte("x"), tc.size)
		pad[tc.size-1] = '\n'
		p := make([]byte, tc.size)
		putLine(p, pad, nil, 42, 7)
		if string(p) != tc.plain {
			t.Errorf("size %d, plain: %q, want %q", tc.size, p, tc.plain)
		}
		putLine(p, pad, []byte(tc.mark), 42, 7)
		if string(p) != tc.hvy {
			t.Errorf("size %d, mark %q: %q, want %q", tc.size, tc.mark, p, tc.hvy)
		}
	}
}

// TestPlainLinesNeverLookHeavy writes plain lines of many clients, sizes
// and numbers: none begins with a byte that checkMark lets a mark begin
// with, so a server never does the work of a plain line.
func TestPlainLinesNeverLookHeavy(t *testing.T) {
	for _, size := range []int{1, 2, 9, 16, 17, 64} {
		pad := bytes.Repeat([]byte("x"), size)
		pad[size-1] = '\n'
		p := make([]byte, size)
		for _, id := range []uint32{0, 9, 0xa0000000, math.MaxUint32} {
			for _, seq := range []uint32{0, 0xf, 0xbeef0000, math.MaxUint32} {
				putLine(p, pad, nil, id, seq)
				if !strings.ContainsRune(plainStart, rune(p[0])) {
					t.Errorf("size %d, client %x, line %x: %q begins with %q, which a mark may begin with", size, id, seq, p, p[0])
				}
			}
		}
	}
}

// TestHeavyConfig checks what Validate says of a heavy share and its mark.
func TestHeavyConfig(t *testing.T) {
	for _, tc := range []struct {
		heavy float64
		mark  string
		proto models.Proto
		size  int
		err   string // "" for a valid configuration
	}{
		{0, "", models.Greeting, 64, ""}, // no share: the mark is not used
		{0.1, "!", models.Echo, 64, ""},
		{1, "#slow ", models.Echo, 7, ""},
		{-0.1, "!", models.Echo, 64, "heavy share -0.1 is not within 0 and 1"},
		{1.5, "!", models.Echo, 64, "heavy share 1.5 is not within 0 and 1"},
		{math.NaN(), "!", models.Echo, 64, "heavy share NaN is not within 0 and 1"},
		{0.1, "!", models.Greeting, 64, "a heavy share needs the echo protocol"},
		{0.1, "", models.Echo, 64, "empty heavy mark"},
		{0.1, "a!", models.Echo, 64, `heavy mark "a!" begins with 'a', as a plain line can`},
		{0.1, "x", models.Echo, 64, `heavy mark "x" begins with 'x'`},
		{0.1, "!\n", models.Echo, 64, "holds a newline"},
		{0.1, "!!!!", models.Echo, 4, `heavy mark "!!!!" does not fit in a line of 4 bytes`},
	} {
		cfg := DefaultConfig()
		cfg.Heavy, cfg.HeavyMark, cfg.Proto, cfg.Size = tc.heavy, tc.mark, tc.proto, tc.size
		err := cfg.Validate()
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("heavy %v, mark %q, %v: %v", tc.heavy, tc.mark, tc.proto, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("heavy %v, mark %q, %v: error %v, want it to say %q", tc.heavy, tc.mark, tc.proto, err, tc.err)
		}
	}
}

// TestSplitRecording records cheap and heavy requests into loops'
// recorders, merges them as a level does, and checks that each kind has
// its own histogram, that together they are the level's, and that the
// warm-up counts in neither. Without a heavy share nothing is split.
func TestSplitRecording(t *testing.T) {
	lv := &level{cfg: &Config{Heavy: 0.5}, clients: 2}
	loops := []*recorder{newRecorder(true), newRecorder(true)}
	for i, r := range loops {
		for n := range 100 {
			r.done(n%3, int64(10_000+n), false)         // cheap: about 10 µs
			r.done(n%3, int64(50_000_000+n*1000), true) // heavy: about 50 ms
		}
		r.done(-1, 1_000_000_000, i == 0) // warm-up: in neither
		r.finish()
	}
	rec := newRecorder(true)
	for _, r := range loops {
		rec.merge(r)
	}
	l := lv.result(rec, 2, 1, 0, 0, 0)
	if l.Cheap == nil || l.Heavy == nil {
		t.Fatalf("cheap %v, heavy %v: want both", l.Cheap, l.Heavy)
	}
	if l.Cheap.Count != 200 || l.Heavy.Count != 200 || l.Requests != 400 {
		t.Errorf("%d cheap, %d heavy, %d in all; want 200, 200, 400", l.Cheap.Count, l.Heavy.Count, l.Requests)
	}
	if l.Cheap.Max >= 1_000_000 || l.Heavy.P50 < 50_000_000 || l.Heavy.Max >= 1_000_000_000 {
		t.Errorf("cheap %+v, heavy %+v: kinds mixed up, or the warm-up counted", *l.Cheap, *l.Heavy)
	}
	for _, name := range []string{"cheap", "heavy"} {
		h, err := Decode(l.Histograms[name])
		if err != nil || h.TotalCount() != 200 {
			t.Errorf("histogram %q: %v, %v", name, h, err)
		}
	}

	plain := newRecorder(false)
	plain.done(0, 10_000, false)
	plain.finish()
	if l := (&level{cfg: &Config{}, clients: 1}).result(plain, 1, 1, 0, 0, 0); l.Cheap != nil || l.Heavy != nil || l.Histograms["heavy"] != nil {
		t.Errorf("a load without heavy lines has cheap %v, heavy %v", l.Cheap, l.Heavy)
	}
}

// TestMergeSplitIsExact merges two mixed runs: the cheap and the heavy
// histograms add up as the overall one does, exactly, and runs with
// different heavy shares do not merge.
func TestMergeSplitIsExact(t *testing.T) {
	run := func(cheap, heavy []int64) *Result {
		all, c, h := newHist(), newHist(), newHist()
		for _, v := range cheap {
			_ = c.RecordValue(v)
			_ = all.RecordValue(v)
		}
		for _, v := range heavy {
			_ = h.RecordValue(v)
			_ = all.RecordValue(v)
		}
		cs, hs := summary(c), summary(h)
		n := all.TotalCount()
		return &Result{Config: ConfigSummary{Addr: "127.0.0.1:8000", Proto: "echo", Clients: []int{5}, Duration: "5s", Warmup: "1s",
			Timeout: "2s", Size: 64, Heavy: 0.25, HeavyMark: "!"},
			Levels: []Level{{Clients: 5, Seconds: 5, Requests: n, Throughput: float64(n) / 5, Errors: map[string]int64{},
				Cheap: &cs, Heavy: &hs,
				Histograms: map[string][]byte{"latency": encode(all), "cheap": encode(c), "heavy": encode(h)}}}}
	}
	a := run([]int64{10_000, 12_000, 14_000}, []int64{60_000_000})
	b := run([]int64{11_000, 900_000}, []int64{55_000_000, 70_000_000, 80_000_000})
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	l := m.Levels[0]
	want := func(vs ...int64) Summary {
		h := newHist()
		for _, v := range vs {
			_ = h.RecordValue(v)
		}
		return summary(h)
	}
	if got, w := *l.Cheap, want(10_000, 12_000, 14_000, 11_000, 900_000); got != w {
		t.Errorf("merged cheap %+v, want %+v", got, w)
	}
	if got, w := *l.Heavy, want(60_000_000, 55_000_000, 70_000_000, 80_000_000); got != w {
		t.Errorf("merged heavy %+v, want %+v", got, w)
	}
	if m.Config.Heavy != 0.25 || m.Config.HeavyMark != "!" {
		t.Errorf("merged config: heavy %v, mark %q", m.Config.Heavy, m.Config.HeavyMark)
	}
	other := run([]int64{10_000}, nil)
	other.Config.Heavy = 0.5
	if _, err := Merge(a, other); err == nil || !strings.Contains(err.Error(), "heavy share 0.5 against 0.25") {
		t.Errorf("merging different heavy shares: %v", err)
	}
}
