package child

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"iolab/models"
)

// TestSpecRoundTrip checks that a Spec carries a Config across exec(2):
// through JSON, as Start and Main pass it, a child serves with the
// parent's settings, log level and OnWork hook.
func TestSpecRoundTrip(t *testing.T) {
	cfg := models.DefaultConfig()
	cfg.Proto, cfg.Work, cfg.Greeting = models.Echo, models.Work{Kind: models.Sleep, D: 5 * time.Millisecond}, []byte("hi")
	cfg.MaxLine, cfg.MaxOutput, cfg.MaxConns, cfg.Edge = 100, 1000, 40, true
	cfg.IdleTimeout, cfg.RequestTimeout, cfg.ShutdownTimeout = time.Minute, time.Second, 0
	cfg.Log = zerolog.Nop().Level(zerolog.DebugLevel)
	cfg.OnWork = func() {}
	raw, err := json.Marshal(SpecOf(&cfg))
	if err != nil {
		t.Fatal(err)
	}
	var spec Spec
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	got, err := spec.Config()
	if err != nil {
		t.Fatalf("Config of %s: %v", raw, err)
	}
	if got.Log.GetLevel() != zerolog.DebugLevel || got.OnWork == nil {
		t.Errorf("Config of %s: level %v, OnWork set %v; want debug, true", raw, got.Log.GetLevel(), got.OnWork != nil)
	}
	got.Log, got.OnWork, cfg.Log, cfg.OnWork = zerolog.Logger{}, nil, zerolog.Logger{}, nil
	if !reflect.DeepEqual(got, cfg) {
		t.Errorf("Config of %s = %+v, want %+v", raw, got, cfg)
	}
}
