// Command vulndb builds the Go vulnerability database that govulncheck
// reads with -db file://DIR, from the OSV entries that the golang.org/x/vulndb
// module carries (data/osv/GO-*.json), so that CI needs nothing but the Go
// module proxy: vuln.go.dev, the database's usual host, may not be
// reachable.
//
//	go run ./.ci/vulndb -osv "$vulndb_module_dir/data/osv" -out "$dir"
//
// It writes the layout of https://go.dev/security/vuln/database#api:
// index/db.json, index/modules.json, index/vulns.json and ID/<id>.json (the
// entries as they are). The modules index leaves out the optional "fixed"
// versions: govulncheck then reads every entry of a module it uses instead
// of skipping those fixed below its version, which gives the same findings.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// entry is the part of an OSV entry that the indexes need.
type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
	Affected []struct {
		Package struct {
			Name string `json:"name"` // the module path, or "stdlib", "toolchain"
		} `json:"package"`
	} `json:"affected"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
}

type module struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

type vuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
}

func main() {
	osvDir := flag.String("osv", "", "directory of OSV entries (the data/osv directory of golang.org/x/vulndb)")
	out := flag.String("out", "", "directory to write the database to")
	flag.Parse()
	if *osvDir == "" || *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	n, err := build(*osvDir, *out)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("vulndb: %d entries from %s\n", n, *osvDir)
}

func build(osvDir, out string) (int, error) {
	files, err := filepath.Glob(filepath.Join(osvDir, "GO-*.json"))
	if err != nil {
		return 0, err
	}
	if len(files) == 0 {
		return 0, fmt.Errorf("no GO-*.json entries in %s", osvDir)
	}
	for _, dir := range []string{"index", "ID"} {
		if err := os.MkdirAll(filepath.Join(out, dir), 0o755); err != nil {
			return 0, err
		}
	}
	var (
		newest  time.Time
		vulns   []vuln
		modules = map[string]*module{}
	)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return 0, err
		}
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil {
			return 0, fmt.Errorf("%s: %w", f, err)
		}
		if e.ID+".json" != filepath.Base(f) {
			return 0, fmt.Errorf("%s holds entry %q", f, e.ID)
		}
		if err := os.WriteFile(filepath.Join(out, "ID", e.ID+".json"), raw, 0o644); err != nil {
			return 0, err
		}
		if e.Modified.After(newest) {
			newest = e.Modified
		}
		vulns = append(vulns, vuln{ID: e.ID, Modified: e.Modified, Aliases: e.Aliases})
		for _, a := range e.Affected {
			m := modules[a.Package.Name]
			if m == nil {
				m = &module{Path: a.Package.Name}
				modules[a.Package.Name] = m
			}
			m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: e.Modified})
		}
	}
	slices.SortFunc(vulns, func(a, b vuln) int { return strings.Compare(a.ID, b.ID) })
	mods := make([]*module, 0, len(modules))
	for _, m := range modules {
		slices.SortStableFunc(m.Vulns, func(a, b moduleVuln) int { return strings.Compare(a.ID, b.ID) })
		mods = append(mods, m)
	}
	slices.SortFunc(mods, func(a, b *module) int { return strings.Compare(a.Path, b.Path) })
	for name, v := range map[string]any{
		"db.json":      map[string]time.Time{"modified": newest},
		"modules.json": mods,
		"vulns.json":   vulns,
	} {
		b, err := json.Marshal(v)
		if err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(out, "index", name), b, 0o644); err != nil {
			return 0, err
		}
	}
	return len(files), nil
}
