package table

import (
	"bytes"
	"testing"
)

func sample() Table {
	t := Table{Header: []string{"model", "1", "10"}}
	t.Add("epoll", "14,705", "58,064")
	t.Rows = append(t.Rows, Row{Cells: []string{"threads", "5,195", "fail"}, Mark: " partial: cut short"})
	return t
}

func TestWriteText(t *testing.T) {
	tab := sample()
	var b bytes.Buffer
	if err := tab.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	// Every column right-aligned, two spaces before each, the mark after
	// the last one unaligned.
	want := "    model       1      10\n" +
		"    epoll  14,705  58,064\n" +
		"  threads   5,195    fail partial: cut short\n"
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestWriteTextIndent(t *testing.T) {
	tab := Table{Header: []string{"pid", "conns"}, Indent: "    "}
	tab.Add("4242", "3")
	var b bytes.Buffer
	if err := tab.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	// The indent is a column: its width and the padding after it.
	want := "         pid  conns\n" +
		"        4242      3\n"
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestWriteMarkdown(t *testing.T) {
	tab := sample()
	tab.Add("odd | one", "a\nb", "")
	var b bytes.Buffer
	if err := tab.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	want := "| model | 1 | 10 |\n" +
		"|---|---:|---:|\n" +
		"| epoll | 14,705 | 58,064 |\n" +
		"| threads | 5,195 | fail partial: cut short |\n" +
		"| odd \\| one | a b |  |\n"
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := tab.Rows[1].Cells[2]; got != "fail" {
		t.Errorf("WriteMarkdown changed the row's last cell to %q", got)
	}
}
