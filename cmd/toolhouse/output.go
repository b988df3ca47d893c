package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"
)

// writeJSON writes v as indented JSON, for scripts (and people, on a
// terminal: see escapeForTerminal).
func writeJSON(t *terminal, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := t.out.Write(t.json(buf.Bytes()))
	return err
}

// json returns JSON to write to t.out: as it is for a pipe or a file, with
// escapeForTerminal on a terminal.
func (t *terminal) json(b []byte) []byte {
	if t.tty {
		return escapeForTerminal(b)
	}
	return b
}

// escapeForTerminal writes the runes of JSON text that a terminal may act
// on (see unsafeRune; encoding/json leaves C1 controls and bidirectional
// overrides as they are) as \uXXXX escapes, and invalid UTF-8 as \ufffd.
// Such runes can only stand inside JSON strings, where the escape means
// the same, so the JSON a person reads decodes as the server sent it. The
// white space between tokens stays.
func escapeForTerminal(b []byte) []byte {
	var out []byte
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size == 1: // not UTF-8
			out = append(out, `\ufffd`...)
		case unsafeRune(r) && r != '\n' && r != '\t' && r != '\r':
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}

// table writes aligned columns for people. Every cell is server text, so
// it is sanitized.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	if len(header) > 0 {
		t.row(header...)
	}
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		if i > 0 {
			_, _ = io.WriteString(t.tw, "\t")
		}
		_, _ = io.WriteString(t.tw, sanitize(c))
	}
	_, _ = io.WriteString(t.tw, "\n")
}

func (t *table) flush() error { return t.tw.Flush() }

// sanitize makes server text safe to print on one line of a terminal:
// control characters (ESC starts terminal sequences), bidirectional
// overrides and invalid UTF-8 become U+FFFD, and a tab or newline a
// space.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case unsafeRune(r):
			return utf8.RuneError
		}
		return r
	}, s)
}

// sanitizeText is sanitize for text that may span lines: newlines and
// tabs stay.
func sanitizeText(s string) string {
	return strings.Map(func(r rune) rune {
		if r != '\n' && r != '\t' && unsafeRune(r) {
			return utf8.RuneError
		}
		return r
	}, s)
}

// unsafeRune reports a rune a terminal may act on rather than show:
// controls (C0, DEL, C1) and the bidirectional formatting characters that
// reorder what is shown. Invalid UTF-8 is the callers' to handle
// (strings.Map, which sanitize uses, turns it into RuneError itself).
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}

// oneLine shortens s to at most n runes on one line.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(sanitize(s)), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// isTerminal reports whether f is a terminal (a character device), where
// server text must not be able to send control sequences.
func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
