package bench

import "testing"

func TestParsePerfStat(t *testing.T) {
	out := []byte("237388,,raw_syscalls:sys_enter,819150773,100.00,,\n103459,,syscalls:sys_enter_read,819082480,100.00,,\n" +
		"<not counted>,,syscalls:sys_enter_futex,0,0.00,,\n\n")
	s, err := parsePerfStat(out)
	if err != nil {
		t.Fatal(err)
	}
	if s.Total != 237388 || s.ByName["read"] != 103459 || len(s.ByName) != 1 {
		t.Errorf("got %+v", s)
	}
	if _, err := parsePerfStat([]byte("Error: no permission\n")); err == nil {
		t.Error("no error for output without the total")
	}
}

func TestParseSS(t *testing.T) {
	out := []byte("ESTAB 0 0 127.0.0.1:8000 127.0.0.1:40000\n\t skmem:(r768,rb131072,t0,tb2626560,f3328,w0,o0,bl0,d0)\n" +
		"LISTEN 0 4096 127.0.0.1:8000 0.0.0.0:*\n\t skmem:(r0,rb131072,t0,tb16384,f0,w0,o0,bl0,d0)\n")
	m := parseSS(out)
	if m.Sockets != 2 || m.Listeners != 1 || m.Bytes != 768+3328 {
		t.Errorf("got %+v, want 2 sockets, 1 listener and %d bytes", m, 768+3328)
	}
	if v, ok := m.PerConnection(); !ok || v != 768+3328 {
		t.Errorf("per connection %v, %v", v, ok)
	}
}

func TestWaitDelta(t *testing.T) {
	start := map[int]int64{1: 100, 2: 50}
	end := map[int]int64{1: 150, 3: 20} // 2 exited, 3 started
	if got := waitDelta(start, end); got != 70 {
		t.Errorf("waitDelta = %d, want 70", got)
	}
}
