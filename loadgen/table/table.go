// Package table lays out the tables iolab prints for people: a header and
// rows of cells, as right-aligned columns for a terminal (iolab load, iolab
// logs, iolab bench) or as Markdown for a report (the bench's report.md).
// Numbers make up most cells, and right-aligned numbers line up by their
// units: in a terminal every column is right-aligned, the rows' names too;
// in Markdown every column but the names.
package table

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// Table is a header and rows of cells, each row as wide as the header.
type Table struct {
	Header []string
	Rows   []Row
	// Indent, if set, is a blank first column on every line, so that the
	// table sits under the heading it belongs to. Being a column, it gets
	// the padding of one too: "    " indents by 6.
	Indent string
}

// Row is one row of a table.
type Row struct {
	Cells []string
	// Mark, if set, follows the last column unaligned: what a row must say
	// to be read right (" partial: cut short"), too rare to earn a column.
	Mark string
}

// Add appends a row of cells, without a mark.
func (t *Table) Add(cells ...string) { t.Rows = append(t.Rows, Row{Cells: cells}) }

// padding is the space WriteText puts before each column's widest cell.
const padding = 2

// WriteText writes t for a terminal: each column as wide as its widest
// cell and two spaces more, right-aligned, so that two spaces at least
// separate the columns.
func (t *Table) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, padding, ' ', tabwriter.AlignRight)
	if _, err := io.WriteString(tw, t.textLine(t.Header, "")); err != nil {
		return err
	}
	for _, r := range t.Rows {
		if _, err := io.WriteString(tw, t.textLine(r.Cells, r.Mark)); err != nil {
			return err
		}
	}
	return tw.Flush()
}

// textLine returns one line for the tabwriter. Every cell ends with a tab,
// the last one too: tabwriter aligns only the cells a tab ends, and leaves
// the text after the last tab, the mark, as it is.
func (t *Table) textLine(cells []string, mark string) string {
	var b strings.Builder
	if t.Indent != "" {
		b.WriteString(t.Indent + "\t")
	}
	for _, c := range cells {
		b.WriteString(c + "\t")
	}
	b.WriteString(mark + "\n")
	return b.String()
}

// WriteMarkdown writes t as a Markdown table: the first column, which
// names the rows, aligned left, the others right. A cell's "|" is escaped
// and a line break becomes a space, so that a cell stays one cell. Markdown
// has nothing outside the grid, so a row's mark ends its last cell.
func (t *Table) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	mdLine(&b, t.Header)
	b.WriteString("|")
	for i := range t.Header {
		if i == 0 {
			b.WriteString("---|")
		} else {
			b.WriteString("---:|")
		}
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		cells := slices.Clone(r.Cells)
		if r.Mark != "" && len(cells) > 0 {
			cells[len(cells)-1] += r.Mark
		}
		mdLine(&b, cells)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdLine writes one row of a Markdown table.
func mdLine(b *strings.Builder, cells []string) {
	b.WriteString("|")
	for _, c := range cells {
		fmt.Fprintf(b, " %s |", mdEscape(c))
	}
	b.WriteString("\n")
}

// mdEscape keeps text inside one Markdown table cell.
func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}
