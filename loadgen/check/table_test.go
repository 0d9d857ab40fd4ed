package check

import (
	"bytes"
	"testing"

	"iolab/models/golden"
)

func TestGridFormat(t *testing.T) {
	g := NewGrid("quick", []Scenario{{Name: "slowloris"}, {Name: "10,000 concurrent clients"}}, []string{"sequential", "epoll", "gnet"})
	g.race = true
	g.Record("sequential", Cell{Scenario: "slowloris", Status: OK, Text: "2 closed as request_timeout after 1.00–1.01 s", After: "+0 / +0 / +0.1 MiB"})
	g.Record("epoll", Cell{Scenario: "slowloris", Status: Fail, Text: "4 of 4 still open after 3.0 s | no request_timeout", After: "+0 / +0 / -0.2 MiB"})
	g.Record("sequential", Cell{Scenario: "10,000 concurrent clients", Status: NA, Text: "serial model: one client at a time"})
	g.Record("gnet", Cell{Scenario: "10,000 concurrent clients", Status: Limit, Text: "documented"})
	var b bytes.Buffer
	if err := g.Write(&b); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "grid.golden.md", b.Bytes())
}

func TestReportFormat(t *testing.T) {
	rep := &Report{Server: "python3 server.py", About: "the command \"python3 server.py\", started by the check", Form: "quick", Cells: []Cell{
		{Scenario: "protocol", Status: OK, Text: "the same 65 B greeting and a close, 10 clients at once", After: "+0 / +0 / +0.0 MiB"},
		{Scenario: "slowloris", Status: NA, Text: "echo protocol only: this server speaks first and reads nothing"},
		{Scenario: "graceful shutdown under load", Status: Fail, Text: "the server was killed by SIGTERM", Failures: []string{"the server was killed by SIGTERM"}},
	}}
	if !rep.Failed() {
		t.Error("a FAIL among the checks, and Failed is false")
	}
	var text, js bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "report.golden.txt", text.Bytes())
	golden.Check(t, "report.golden.json", js.Bytes())
}

func TestSelect(t *testing.T) {
	picked, unknown := Select([]string{"storm"}, []string{"signal"})
	if len(picked) != 1 || picked[0].Name != "connect-then-RST storm" || len(unknown) != 0 {
		t.Errorf("-only storm -skip signal: %v, unknown %v", names(picked), unknown)
	}
	if _, unknown := Select([]string{"nothing like it"}, nil); len(unknown) != 1 {
		t.Errorf("an unknown word: unknown %v", unknown)
	}
	if all, _ := Select(nil, nil); len(all) != len(Battery) {
		t.Errorf("no words: %d checks, want all %d", len(all), len(Battery))
	}
}

func names(scs []Scenario) []string {
	var out []string
	for _, sc := range scs {
		out = append(out, sc.Name)
	}
	return out
}
