package config

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// setters are the calls that may name an option outside this package:
// they put a value in (ptp4l's flags, --option=value, a test's settings),
// they never read one.
var setters = map[string]bool{"Set": true}

// TestNoOptionReadByName is a vet-like check of the rule that settings are
// resolved once: no code outside ptp/config, tests included, calls a
// method with a configuration option's name as an argument, except to set
// it. Reading an option by name elsewhere would bypass Resolve's checks
// and lose the file and line of a bad value.
func TestNoOptionReadByName(t *testing.T) {
	names := map[string]bool{}
	for name := range byName {
		names[name] = true
	}
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	self, err := filepath.Abs(".")
	require.NoError(t, err)
	var offences []string
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path == self || strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		offences = append(offences, readsByName(fset, f, rel, names)...)
		return nil
	})
	require.NoError(t, err)
	assert.Empty(t, offences, "options read by name outside ptp/config: take them from config.Settings")
}

// readsByName lists the calls in f that pass an option's name to a
// method other than a setter. Assertions (testify's assert and require)
// may mention option names: they check messages, they read nothing.
func readsByName(fset *token.FileSet, f *ast.File, file string, names map[string]bool) []string {
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || setters[sel.Sel.Name] {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); ok && (x.Name == "assert" || x.Name == "require") {
			return true
		}
		for _, arg := range call.Args {
			lit, ok := arg.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				continue
			}
			if s, err := strconv.Unquote(lit.Value); err == nil && names[s] {
				out = append(out, file+":"+strconv.Itoa(fset.Position(lit.Pos()).Line)+": "+sel.Sel.Name+"("+lit.Value+")")
			}
		}
		return true
	})
	return out
}

// TestReadsByName: the check above finds what it is for, and lets setters
// and assertions be.
func TestReadsByName(t *testing.T) {
	src := `package p
func f() {
	_ = cfg.String("global", "time_stamping")
	_ = c.value("eth0", "network_transport")
	_ = c.Set("priority1", "1")
	assert.ErrorContains(t, err, "max_frequency")
	_ = fmt.Sprintf("%s", "not an option")
}`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	require.NoError(t, err)
	names := map[string]bool{"time_stamping": true, "network_transport": true, "priority1": true, "max_frequency": true}
	assert.Equal(t, []string{`p.go:3: String("time_stamping")`, `p.go:4: value("network_transport")`}, readsByName(fset, f, "p.go", names))
}
