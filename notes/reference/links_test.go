// Package reference holds the reference pages that the README links to.
// Its only Go code is this test, which make test runs: every relative link
// in the README and in notes/**/*.md must lead somewhere, and every
// #anchor into a Markdown file must name one of its headings (GitHub's
// slugs) or one of its <a id> tags. (It lives here and not in notes/,
// whose forkcost.c would make a Go package there a cgo one.)
package reference

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// root is the repository, seen from this package's directory, where go
// test runs.
const root = "../.."

// link is one link target found in a Markdown file.
type link struct {
	file   string // the file it is in, relative to root
	line   int    // its line, from 1
	target string // as written, before unescaping
}

var (
	// inline finds the target of [text](target) and ![alt](target); the
	// text may have begun on an earlier line, the target may not.
	inline = regexp.MustCompile(`\]\(\s*(<[^>]*>|[^)\s]*)`)
	// refDef is a reference definition: [name]: target.
	refDef = regexp.MustCompile(`^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)`)
	// htmlRef is an href or src attribute in inline HTML.
	htmlRef = regexp.MustCompile(`(?i)\b(?:href|src)\s*=\s*"([^"]*)"`)
	// htmlID is an anchor made by hand: <a id="x"> or <a name="x">.
	htmlID = regexp.MustCompile(`(?i)<a\s[^>]*\b(?:id|name)\s*=\s*"([^"]*)"`)
	// atx is a heading: # Title.
	atx = regexp.MustCompile(`^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*#*[ \t]*$`)
	// setext is the underline of a heading written as Title\n=====.
	setext = regexp.MustCompile(`^ {0,3}(=+|-+)[ \t]*$`)
	// codeSpan is inline code, whose brackets are not links.
	codeSpan = regexp.MustCompile("(`+)[^`]*?`+")
	// mdLink is a link inside a heading, whose slug keeps the text only.
	mdLink = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	// htmlTag is any tag inside a heading, which the slug drops.
	htmlTag = regexp.MustCompile(`<[^>]*>`)
)

// TestRelativeLinks checks every relative link in README.md and
// notes/**/*.md: the file or folder it names must exist, and an anchor into
// a Markdown file must be one of that file's anchors.
func TestRelativeLinks(t *testing.T) {
	files := []string{"README.md"}
	err := filepath.WalkDir(filepath.Join(root, "notes"), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".md") {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	anchors := map[string]map[string]bool{} // file (relative to root) → its anchors
	anchorsOf := func(file string) (map[string]bool, error) {
		if a, ok := anchors[file]; ok {
			return a, nil
		}
		_, a, err := scan(file)
		if err != nil {
			return nil, err
		}
		anchors[file] = a
		return a, nil
	}

	checked := 0
	for _, file := range files {
		links, a, err := scan(file)
		if err != nil {
			t.Fatal(err)
		}
		anchors[file] = a
		for _, l := range links {
			if problem := check(l, anchorsOf); problem != "" {
				t.Errorf("%s:%d: %s: %s", l.file, l.line, l.target, problem)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("found no link at all: is the scanner broken?")
	}
	t.Logf("%d relative links checked in %d files", checked, len(files))
}

// check returns what is wrong with one link, or "" if it resolves.
func check(l link, anchorsOf func(string) (map[string]bool, error)) string {
	target := strings.TrimSuffix(strings.TrimPrefix(l.target, "<"), ">")
	path, fragment, _ := strings.Cut(target, "#")
	p, err := url.PathUnescape(path)
	if err != nil {
		return "cannot unescape the path: " + err.Error()
	}
	f, err := url.PathUnescape(fragment)
	if err != nil {
		return "cannot unescape the anchor: " + err.Error()
	}
	if strings.HasPrefix(p, "/") {
		return "an absolute path: write it relative to " + l.file
	}

	dest := l.file // a bare #anchor is into the file itself
	if p != "" {
		dest = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(l.file), p)))
		if dest == ".." || strings.HasPrefix(dest, "../") {
			return "leads out of the repository"
		}
		if _, err := os.Stat(filepath.Join(root, dest)); err != nil {
			return "no such file or folder: " + dest
		}
	}
	if fragment == "" || !strings.HasSuffix(dest, ".md") {
		return "" // an anchor into a source file (#L10) is GitHub's to resolve
	}
	a, err := anchorsOf(dest)
	if err != nil {
		return err.Error()
	}
	if !a[strings.ToLower(f)] {
		return "no heading or <a id> in " + dest + " has the anchor #" + f
	}
	return ""
}

// scan reads one Markdown file (relative to root) and returns its relative
// links and its anchors. Fenced code blocks and code spans hold neither.
func scan(file string) ([]link, map[string]bool, error) {
	fh, err := os.Open(filepath.Join(root, file))
	if err != nil {
		return nil, nil, err
	}
	defer fh.Close()

	var links []link
	anchors := map[string]bool{}
	slugs := map[string]int{} // slug → how many headings had it, for -1, -2
	addHeading := func(text string) {
		s := slug(text)
		n := slugs[s]
		slugs[s] = n + 1
		if n > 0 {
			s = fmt.Sprintf("%s-%d", s, n)
		}
		anchors[s] = true
	}

	fence := ""    // the fence that opened the code block we are in
	previous := "" // the last line outside code, for setext headings
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimLeft(line, " ")
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]+" \t") == "" {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			for _, c := range trimmed[3:] {
				if string(c) != fence[:1] {
					break
				}
				fence += string(c)
			}
			previous = ""
			continue
		}

		if m := atx.FindStringSubmatch(line); m != nil {
			addHeading(m[2])
		} else if setext.MatchString(line) && isParagraph(previous) {
			addHeading(previous)
		}
		for _, m := range htmlID.FindAllStringSubmatch(line, -1) {
			anchors[strings.ToLower(m[1])] = true
		}

		text := codeSpan.ReplaceAllString(line, "")
		var targets []string
		for _, m := range inline.FindAllStringSubmatch(text, -1) {
			targets = append(targets, m[1])
		}
		if m := refDef.FindStringSubmatch(text); m != nil {
			targets = append(targets, m[1])
		}
		for _, m := range htmlRef.FindAllStringSubmatch(text, -1) {
			targets = append(targets, m[1])
		}
		for _, target := range targets {
			if relative(target) {
				links = append(links, link{file: file, line: n, target: target})
			}
		}
		previous = line
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", file, err)
	}
	return links, anchors, nil
}

// relative reports whether a link target is a path or an anchor in this
// repository, not a URL (https:, mailto:) or nothing.
func relative(target string) bool {
	t := strings.TrimSuffix(strings.TrimPrefix(target, "<"), ">")
	if t == "" {
		return false
	}
	if u, err := url.Parse(t); err == nil && u.Scheme != "" {
		return false
	}
	return !strings.HasPrefix(t, "//")
}

// isParagraph reports whether a line can be the text of a setext heading:
// not blank, and not a heading, list item, quote or table row itself.
func isParagraph(line string) bool {
	t := strings.TrimSpace(line)
	if t == "" {
		return false
	}
	for _, p := range []string{"#", ">", "|", "- ", "* ", "+ ", "<"} {
		if strings.HasPrefix(t, p) {
			return false
		}
	}
	return true
}

// slug is GitHub's anchor for a heading's text: the text as rendered
// (code spans, links and tags reduced to their text), lower case, with
// every character that is not a letter, a digit, a hyphen or an underscore
// dropped and every space turned into a hyphen.
func slug(heading string) string {
	s := mdLink.ReplaceAllString(heading, "$1")
	s = htmlTag.ReplaceAllString(s, "")
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.M, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestSlug pins slug to anchors GitHub gives these headings.
func TestSlug(t *testing.T) {
	for heading, want := range map[string]string{
		"Where io_uring is not allowed":                     "where-io_uring-is-not-allowed",
		"`iolab merge`: several load generators, one table": "iolab-merge-several-load-generators-one-table",
		"Many connections held at once (`c100k`)":           "many-connections-held-at-once-c100k",
		"Parte 1 — `sequential` e `listen(1)`":              "parte-1--sequential-e-listen1",
		"Notes on [gnet](https://gnet.host)":                "notes-on-gnet",
		"5.5. O modelo de conclusão":                        "55-o-modelo-de-conclusão",
	} {
		if got := slug(heading); got != want {
			t.Errorf("slug(%q) = %q, want %q", heading, got, want)
		}
	}
}
