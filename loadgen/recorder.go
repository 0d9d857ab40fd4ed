package loadgen

import (
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histograms hold nanoseconds from 1 ns to maxLatency with three
// significant digits (0.1% error); a longer latency is recorded as
// maxLatency.
const (
	maxLatency = int64(5 * time.Minute)
	sigFigs    = 3
)

func newHist() *hdr.Histogram { return hdr.New(1, maxLatency, sigFigs) }

// recorder is what one event loop measured. Only its loop writes to it;
// the level merges every loop's recorder when the loops are done.
type recorder struct {
	total       *hdr.Histogram     // latency (corrected, in open loop); the sum of the timeline's, see finish
	uncorrected *hdr.Histogram     // open loop: from the actual send
	connect     *hdr.Histogram     // greeting: handshake
	firstByte   *hdr.Histogram     // greeting: connected to first byte
	errors      [numErrKinds]int64 // failed requests of the measured interval, by kind
	late        int64              // open loop: requests sent more than lateness after they were due
	unsent      int64              // open loop: requests due in the interval and never sent
	warm        *hdr.Histogram     // warm-up latency, apart
	warmErrors  int64              // failed requests of the warm-up, all kinds
	timeline    []second           // the measured interval, second by second
	phases      bool               // connect and firstByte are measured (greeting), so the level reports them, even empty
	// cheap and heavy split the measured latencies of a mixed load
	// (Config.Heavy) by the kind of line; nil otherwise, since no run
	// but a mixed one needs them.
	cheap, heavy *hdr.Histogram
}

// second is one second of one loop's timeline.
type second struct {
	hist   *hdr.Histogram // latency of the requests due in this second
	errors int64          // failed requests counted in this second
}

// newRecorder returns an empty recorder; split, for a mixed load, times
// cheap and heavy requests apart as well.
func newRecorder(split bool) *recorder {
	r := &recorder{total: newHist(), uncorrected: newHist(), connect: newHist(),
		firstByte: newHist(), warm: newHist()}
	if split {
		r.cheap, r.heavy = newHist(), newHist()
	}
	return r
}

// clamp keeps v within what the histograms track.
func clamp(v int64) int64 {
	return min(max(v, 1), maxLatency)
}

// at returns the timeline slot of second s, growing the timeline. It
// allocates once per second, never per request.
func (r *recorder) at(s int) *second {
	for len(r.timeline) <= s {
		r.timeline = append(r.timeline, second{hist: newHist()})
	}
	return &r.timeline[s]
}

// done records an answered request: latency in ns, the second of the
// measured interval it started in (negative: warm-up), and whether it was
// a heavy line of a mixed load. Each latency is recorded once in its
// second's histogram, which finish adds up, and in a mixed load once more
// by its kind.
func (r *recorder) done(sec int, latency int64, heavy bool) {
	v := clamp(latency)
	if sec < 0 {
		_ = r.warm.RecordValue(v)
		return
	}
	_ = r.at(sec).hist.RecordValue(v)
	switch {
	case r.heavy == nil:
	case heavy:
		_ = r.heavy.RecordValue(v)
	default:
		_ = r.cheap.RecordValue(v)
	}
}

// finish fills total from the timeline, once the loop is done.
func (r *recorder) finish() {
	r.total.Reset()
	for _, s := range r.timeline {
		r.total.Merge(s.hist)
	}
}

// failed records a failed request.
func (r *recorder) failed(sec int, kind ErrKind) {
	if sec < 0 {
		r.warmErrors++
		return
	}
	r.errors[kind]++
	r.at(sec).errors++
}

// merge adds o into r.
func (r *recorder) merge(o *recorder) {
	r.total.Merge(o.total)
	r.uncorrected.Merge(o.uncorrected)
	r.connect.Merge(o.connect)
	r.firstByte.Merge(o.firstByte)
	r.warm.Merge(o.warm)
	for k := range r.errors {
		r.errors[k] += o.errors[k]
	}
	r.late += o.late
	r.unsent += o.unsent
	r.warmErrors += o.warmErrors
	r.phases = r.phases || o.phases
	if o.heavy != nil {
		if r.heavy == nil {
			r.cheap, r.heavy = newHist(), newHist()
		}
		r.cheap.Merge(o.cheap)
		r.heavy.Merge(o.heavy)
	}
	for s := range o.timeline {
		slot := r.at(s)
		slot.hist.Merge(o.timeline[s].hist)
		slot.errors += o.timeline[s].errors
	}
}

// summary of a histogram.
func summary(h *hdr.Histogram) Summary {
	return Summary{
		Count: h.TotalCount(),
		Mean:  h.Mean(),
		P50:   h.ValueAtQuantile(50),
		P90:   h.ValueAtQuantile(90),
		P99:   h.ValueAtQuantile(99),
		P999:  h.ValueAtQuantile(99.9),
		Max:   h.Max(),
	}
}

// encode a histogram for the JSON results.
func encode(h *hdr.Histogram) []byte {
	b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		return nil
	}
	return b
}

// Decode returns a histogram from Level.Histograms, for merging runs.
func Decode(b []byte) (*hdr.Histogram, error) { return hdr.Decode(b) }
