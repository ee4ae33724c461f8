// Package api holds checks on the module's exported API as a whole.
package api

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoExportedNameMentionsAnInternalType: code outside the module cannot
// name an internal package's types, so an exported field, parameter or
// result of such a type is an option nobody can set. Every exported
// declaration of every public package is walked.
func TestNoExportedNameMentionsAnInternalType(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	var found []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") || d.Name() == "internal" || d.Name() == "testdata" ||
				strings.HasPrefix(rel, "examples") || strings.HasPrefix(rel, "tests") || strings.HasPrefix(rel, "cmd") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, where := range internalMentions(f) {
			found = append(found, rel+": "+where)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Error(f)
	}
}

// internalMentions lists the exported declarations of f whose types name a
// package under an internal directory.
func internalMentions(f *ast.File) []string {
	internal := map[string]bool{}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		if !strings.Contains(path, "/internal/") && !strings.HasSuffix(path, "/internal") {
			continue
		}
		name := path[strings.LastIndex(path, "/")+1:]
		if imp.Name != nil {
			name = imp.Name.Name
		}
		internal[name] = true
	}
	if len(internal) == 0 {
		return nil
	}
	var out []string
	check := func(what string, n ast.Node) {
		if n != nil && mentions(n, internal) {
			out = append(out, what)
		}
	}
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if d.Name.IsExported() && (d.Recv == nil || exportedRecv(d.Recv)) {
				check("func "+d.Name.Name, d.Type)
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					if s.Name.IsExported() {
						checkType(s.Name.Name, s.Type, check)
					}
				case *ast.ValueSpec:
					for _, n := range s.Names {
						if n.IsExported() {
							check("var/const "+n.Name, s.Type)
						}
					}
				}
			}
		}
	}
	return out
}

// checkType checks the exported parts of an exported type: the fields of a
// struct, the methods of an interface, the whole of anything else.
func checkType(name string, typ ast.Expr, check func(string, ast.Node)) {
	var fields *ast.FieldList
	switch t := typ.(type) {
	case *ast.StructType:
		fields = t.Fields
	case *ast.InterfaceType:
		fields = t.Methods
	default:
		check("type "+name, typ)
		return
	}
	for _, fld := range fields.List {
		if len(fld.Names) == 0 { // embedded: its exported fields are promoted
			check("type "+name+" embeds", fld.Type)
		}
		for _, n := range fld.Names {
			if n.IsExported() {
				check("type "+name+"."+n.Name, fld.Type)
			}
		}
	}
}

func exportedRecv(recv *ast.FieldList) bool {
	typ := recv.List[0].Type
	if star, ok := typ.(*ast.StarExpr); ok {
		typ = star.X
	}
	if idx, ok := typ.(*ast.IndexExpr); ok {
		typ = idx.X
	}
	id, ok := typ.(*ast.Ident)
	return ok && id.IsExported()
}

// mentions reports whether n holds a selector pkg.Name with pkg one of the
// internal imports.
func mentions(n ast.Node, internal map[string]bool) bool {
	hit := false
	ast.Inspect(n, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && internal[id.Name] {
				hit = true
			}
		}
		return !hit
	})
	return hit
}
