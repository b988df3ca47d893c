package toolhouse_test

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The README's Go code must be code that compiles and runs. Rather than
// compile the snippets on their own, each ```go block must appear verbatim
// (indentation and blank lines aside) in a file that go vet and go test
// already compile: a program under examples/ or a _test.go file, most
// often an Example function. Change a snippet and this test says where it
// no longer matches; change the code and it says which snippet went stale.

// readmeBlock is one ```go block of the README.
type readmeBlock struct {
	line  int      // line of the opening fence, 1-based
	lines []string // normalised, see normalise
}

// readmeGoBlocks returns the ```go blocks of the markdown file at path.
func readmeGoBlocks(t *testing.T, path string) []readmeBlock {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		blocks []readmeBlock
		cur    *readmeBlock
		body   []string
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		fence := strings.TrimSpace(line)
		switch {
		case cur == nil && fence == "```go":
			cur, body = &readmeBlock{line: n}, nil
		case cur != nil && fence == "```":
			cur.lines = normalise(body)
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			body = append(body, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("%s:%d: ```go block is never closed", path, cur.line)
	}
	return blocks
}

// normalise drops each line's leading and trailing white space and the
// blank lines, so that a snippet matches code indented inside a function.
func normalise(lines []string) []string {
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// compiledGoFiles returns the normalised lines of every file that holds
// README code: the .go files under examples/ and the _test.go files.
func compiledGoFiles(t *testing.T) map[string][]string {
	t.Helper()
	files := make(map[string][]string)
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		inExamples := strings.HasPrefix(filepath.ToSlash(path), "examples/")
		if !strings.HasSuffix(path, ".go") || !(inExamples || strings.HasSuffix(path, "_test.go")) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(path)] = normalise(strings.Split(string(b), "\n"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// containsRun reports whether want occurs in have as consecutive lines.
func containsRun(have, want []string) bool {
	if len(want) == 0 {
		return true
	}
outer:
	for i := 0; i+len(want) <= len(have); i++ {
		for j, w := range want {
			if have[i+j] != w {
				continue outer
			}
		}
		return true
	}
	return false
}

func TestREADMEGoBlocksAreCompiledCode(t *testing.T) {
	t.Parallel()
	blocks := readmeGoBlocks(t, "README.md")
	if len(blocks) == 0 {
		t.Fatal("README.md has no ```go block: the sync check would pass on nothing")
	}
	files := compiledGoFiles(t)
	for _, b := range blocks {
		if len(b.lines) == 0 {
			t.Errorf("README.md:%d: empty ```go block", b.line)
			continue
		}
		found := ""
		for name, lines := range files {
			if containsRun(lines, b.lines) {
				found = name
				break
			}
		}
		if found == "" {
			t.Errorf("README.md:%d: this ```go block appears in no file under examples/ and no _test.go file; "+
				"put it (verbatim, indentation aside) into an Example function or an example program, "+
				"or bring it back in line with the code it was taken from:\n\t%s",
				b.line, strings.Join(b.lines, "\n\t"))
		}
	}
}

// The README tells a newcomer to run these two commands first; they must
// keep working.
func TestREADMESetupCommandsExist(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"go run ./examples/quickstart", "go test -race ./..."} {
		if !strings.Contains(string(readme), cmd) {
			t.Errorf("README.md no longer shows %q", cmd)
		}
	}
	if _, err := os.Stat(filepath.Join("examples", "quickstart", "main.go")); err != nil {
		t.Errorf("README.md runs ./examples/quickstart: %v", err)
	}
}

func TestContainsRun(t *testing.T) {
	t.Parallel()
	have := []string{"a", "b", "c", "d"}
	for _, tc := range []struct {
		want []string
		ok   bool
	}{
		{[]string{"b", "c"}, true},
		{[]string{"a", "b", "c", "d"}, true},
		{[]string{"d"}, true},
		{[]string{"b", "d"}, false},
		{[]string{"c", "d", "e"}, false},
	} {
		if got := containsRun(have, tc.want); got != tc.ok {
			t.Errorf("containsRun(%q, %q) = %v, want %v", have, tc.want, got, tc.ok)
		}
	}
}
