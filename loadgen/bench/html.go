package bench

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// reportTemplate is report.html's page: the report's structure (newReport),
// the same that report.md walks, with a small embedded style sheet.
//
//go:embed report.html.tmpl
var reportTemplate string

// pageTemplate parses reportTemplate once, on first use, so that a broken
// template is an error a bench returns rather than a panic at start-up.
var pageTemplate = sync.OnceValues(func() (*template.Template, error) {
	t, err := template.New("report.html").Funcs(template.FuncMap{"code": codeSpans, "anchor": anchor}).Parse(reportTemplate)
	if err != nil {
		return nil, fmt.Errorf("report.html template: %w", err)
	}
	return t, nil
})

// htmlPage is what the template reads: the report, its plots' SVG by file
// name, and the texts of the limits section.
type htmlPage struct {
	*report
	SVG                      map[string]template.HTML
	LimitsIntro, LimitsOutro string
}

// WriteHTMLReport writes report.html: report.md's content, in the same
// order, as one page that needs no other file. Each plot is inlined from
// the SVG that WritePlots wrote into dir, so the page can be mailed or
// projected offline; a plot whose SVG cannot be read is an error, since a
// page without it would not say what report.md says.
func WriteHTMLReport(w io.Writer, r *Results, plots []Plot, dir string) error {
	t, err := pageTemplate()
	if err != nil {
		return err
	}
	page := htmlPage{report: newReport(r, plots), SVG: map[string]template.HTML{},
		LimitsIntro: limitsIntro, LimitsOutro: limitsOutro}
	for _, p := range plots {
		svg, err := inlineSVG(filepath.Join(dir, p.SVG))
		if err != nil {
			return err
		}
		page.SVG[p.SVG] = svg
	}
	var b bytes.Buffer
	if err := t.Execute(&b, page); err != nil {
		return fmt.Errorf("report.html: %w", err)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("report.html: %w", err)
	}
	return nil
}

// inlineSVG reads an SVG file for a page: its <svg> element only, since
// the XML prolog, comments and doctype before it do not belong inside
// HTML. The SVG is trusted markup: WritePlots drew it, from the bench's
// own numbers and names.
func inlineSVG(path string) (template.HTML, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("plot for report.html: %w", err)
	}
	i := bytes.Index(b, []byte("<svg"))
	if i < 0 {
		return "", fmt.Errorf("plot for report.html: %s holds no <svg> element", path)
	}
	return template.HTML(bytes.TrimSpace(b[i:])), nil
}

// codeSpans renders a report's text, escaped, its `code` in <code>: the
// one piece of Markdown the report's texts hold. A backtick left unpaired
// stays a backtick.
func codeSpans(s string) template.HTML {
	parts := strings.Split(s, "`")
	var b strings.Builder
	for i, p := range parts {
		switch {
		case i%2 == 0:
			b.WriteString(template.HTMLEscapeString(p))
		case i == len(parts)-1: // after an unpaired backtick
			b.WriteString("`" + template.HTMLEscapeString(p))
		default:
			b.WriteString("<code>" + template.HTMLEscapeString(p) + "</code>")
		}
	}
	return template.HTML(b.String())
}

// anchor is the id of a scenario's section, for the table of contents:
// its name in letters, digits and dashes, so the link needs no escaping.
func anchor(name string) string {
	return "scenario-" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, name)
}
