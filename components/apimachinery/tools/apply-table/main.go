// Command apply-table generates components/apimachinery/src/apply/go_types.rs,
// the per-field facts about the Kubernetes Go API types (k8s.io/api,
// apimachinery's meta/v1, apiextensions-apiserver's apiextensions/v1) that
// server-side apply needs and the OpenAPI schemas warren embeds (k8s-openapi)
// do not carry:
//
//   - the list, map and struct markers of k8s.io/api and
//     k8s.io/apimachinery/pkg/apis/meta/v1 (`+listType=atomic|set|map`,
//     `+listMapKey=...`, `+mapType=atomic|granular`, `+structType=...`,
//     on fields and on types), and `+default=` literals (associative list
//     keys default to them);
//   - how Go's encoding/json writes each field: non-pointer structs are always
//     written (`{}` when empty), fields without `omitempty` are always written
//     (`null`, `""`, `0`, `false` when zero), non-pointer scalars with
//     `omitempty` are dropped when zero. Server-side apply compares objects as
//     kube-apiserver sees them, decoded into Go structs and encoded again.
//
// It reads Go sources only (go/parser from the standard library; nothing is
// compiled or downloaded). Run from this directory with checkouts of
// kubernetes/api, kubernetes/apimachinery and kubernetes/apiextensions-apiserver
// at the same tag (v0.33.x):
//
//	git -C <kubernetes/api clone> archive v0.33.13 | tar -x -C /tmp/gosrc/api
//	git -C <kubernetes/apimachinery clone> archive v0.33.13 | tar -x -C /tmp/gosrc/apimachinery
//	git -C <kubernetes/apiextensions-apiserver clone> archive v0.33.13 | tar -x -C /tmp/gosrc/apiextensions-apiserver
//	go run . -api /tmp/gosrc/api -apimachinery /tmp/gosrc/apimachinery \
//	  -apiextensions /tmp/gosrc/apiextensions-apiserver -tag v0.33.13 > ../../src/apply/go_types.rs
//
// Only stable group versions (v1, v2) are included.
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// A package: its OpenAPI definition prefix and its named types.
type pkg struct {
	prefix  string
	imports map[string]string // file-independent: alias -> import path (last wins; k8s is consistent)
	types   map[string]*typeDecl
}

type typeDecl struct {
	name    string
	expr    ast.Expr
	markers map[string][]string
	file    *ast.File
}

var pkgs = map[string]*pkg{} // import path -> package

// Special value types whose JSON comes from a MarshalJSON: their zero value.
var special = map[string]string{
	"k8s.io/apimachinery/pkg/apis/meta/v1.Time":       "null",
	"k8s.io/apimachinery/pkg/apis/meta/v1.MicroTime":  "null",
	"k8s.io/apimachinery/pkg/apis/meta/v1.Duration":   `"0s"`,
	"k8s.io/apimachinery/pkg/apis/meta/v1.FieldsV1":   "null",
	"k8s.io/apimachinery/pkg/api/resource.Quantity":   `"0"`,
	"k8s.io/apimachinery/pkg/util/intstr.IntOrString": "0",
	"k8s.io/apimachinery/pkg/runtime.RawExtension":    "null",
	"k8s.io/apimachinery/pkg/types.UID":               `""`,
	"k8s.io/apimachinery/pkg/types.NodeName":          `""`,
}

var markerRe = regexp.MustCompile(`^\s*\+(listType|listMapKey|mapType|structType|default)=(.*)$`)

func markersOf(groups ...*ast.CommentGroup) map[string][]string {
	out := map[string][]string{}
	for _, g := range groups {
		if g == nil {
			continue
		}
		for _, c := range g.List {
			text := strings.TrimPrefix(c.Text, "//")
			if m := markerRe.FindStringSubmatch(text); m != nil {
				out[m[1]] = append(out[m[1]], strings.TrimSpace(m[2]))
			}
		}
	}
	return out
}

// The comment group ending on the line before `pos`'s doc, separated by one blank line
// (gengo reads markers from the "second closest" comment block too).
func secondBlock(f *ast.File, fset *token.FileSet, doc *ast.CommentGroup, pos token.Pos) *ast.CommentGroup {
	start := pos
	if doc != nil {
		start = doc.Pos()
	}
	line := fset.Position(start).Line
	for _, g := range f.Comments {
		if fset.Position(g.End()).Line == line-2 {
			return g
		}
	}
	return nil
}

func load(dir, importPath, prefix string) {
	fset := token.NewFileSet()
	p := &pkg{prefix: prefix, imports: map[string]string{}, types: map[string]*typeDecl{}}
	entries, err := os.ReadDir(dir)
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		n := e.Name()
		if !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") || strings.HasPrefix(n, "zz_generated") || strings.HasPrefix(n, "generated") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.ParseComments)
		if err != nil {
			panic(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			alias := filepath.Base(path)
			if imp.Name != nil {
				alias = imp.Name.Name
			}
			p.imports[alias] = path
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, s := range gd.Specs {
				ts := s.(*ast.TypeSpec)
				doc := ts.Doc
				if doc == nil {
					doc = gd.Doc
				}
				m := markersOf(doc, secondBlock(f, fset, doc, gd.Pos()))
				p.types[ts.Name.Name] = &typeDecl{name: ts.Name.Name, expr: ts.Type, markers: m, file: f}
			}
		}
	}
	pkgs[importPath] = p
}

// resolve returns the package and declaration of a named type expression.
func resolve(p *pkg, e ast.Expr) (string, *pkg, *typeDecl) {
	switch t := e.(type) {
	case *ast.Ident:
		if d, ok := p.types[t.Name]; ok {
			for path, q := range pkgs {
				if q == p {
					return path + "." + t.Name, p, d
				}
			}
		}
		return t.Name, nil, nil
	case *ast.SelectorExpr:
		alias := t.X.(*ast.Ident).Name
		path := p.imports[alias]
		full := path + "." + t.Sel.Name
		if q, ok := pkgs[path]; ok {
			if d, ok := q.types[t.Sel.Name]; ok {
				return full, q, d
			}
		}
		return full, nil, nil
	}
	return "", nil, nil
}

type field struct {
	json string
	code []string
	keep bool // carries information the runtime needs
}

var scalarZero = map[string]string{
	"string": `""`, "bool": "false",
	"int": "0", "int8": "0", "int16": "0", "int32": "0", "int64": "0",
	"uint": "0", "uint8": "0", "uint16": "0", "uint32": "0", "uint64": "0",
	"float32": "0", "float64": "0", "byte": "0",
}

// shape classifies a field type: s (value struct), p (pointer), l (slice), m (map),
// v (value scalar), x (value struct with its own MarshalJSON) with its zero literal, plus the
// markers of the named type.
func shape(p *pkg, e ast.Expr) (string, string, map[string][]string) {
	switch t := e.(type) {
	case *ast.StarExpr:
		_, _, m := shape(p, t.X)
		return "p", "null", m
	case *ast.ArrayType:
		return "l", "null", nil
	case *ast.MapType:
		return "m", "null", nil
	case *ast.InterfaceType:
		return "p", "null", nil
	case *ast.Ident, *ast.SelectorExpr:
		full, q, d := resolve(p, e)
		if z, ok := special[full]; ok {
			if _, ok := d.expr.(*ast.StructType); ok {
				// a struct with a MarshalJSON: never omitted, whatever its tag says
				return "x", z, nil
			}
			return "v", z, nil
		}
		if id, ok := e.(*ast.Ident); ok && d == nil {
			if z, ok := scalarZero[id.Name]; ok {
				return "v", z, nil
			}
		}
		if d == nil {
			fmt.Fprintf(os.Stderr, "unresolved type %s\n", full)
			return "v", "null", nil
		}
		switch d.expr.(type) {
		case *ast.StructType:
			return "s", "{}", d.markers
		default:
			k, z, _ := shape(q, d.expr)
			return k, z, d.markers
		}
	}
	fmt.Fprintf(os.Stderr, "unknown type expr %T\n", e)
	return "v", "null", nil
}

func fieldsOf(p *pkg, st *ast.StructType) []field {
	var out []field
	for _, f := range st.Fields.List {
		tag := ""
		if f.Tag != nil {
			raw, _ := strconv.Unquote(f.Tag.Value)
			tag = reflect.StructTag(raw).Get("json")
		}
		parts := strings.Split(tag, ",")
		name := parts[0]
		omitempty, inline := false, false
		for _, o := range parts[1:] {
			omitempty = omitempty || o == "omitempty"
			inline = inline || o == "inline"
		}
		if name == "-" {
			continue
		}
		if len(f.Names) == 0 && (inline || name == "") {
			// embedded struct: its fields are the parent's
			_, q, d := resolve(p, f.Type)
			if d == nil {
				continue
			}
			if est, ok := d.expr.(*ast.StructType); ok {
				out = append(out, fieldsOf(q, est)...)
			}
			continue
		}
		if name == "" && len(f.Names) > 0 {
			name = f.Names[0].Name
		}
		k, zero, typeMarkers := shape(p, f.Type)
		fm := markersOf(f.Doc)
		var code []string
		keep := false
		code = append(code, k)
		switch {
		case k == "s":
			keep = true
		case k == "x":
			code[0] = "v"
			code = append(code, "n="+zero)
			keep = true
		case !omitempty:
			code = append(code, "n="+zero)
			keep = true
		case k == "v" && omitempty:
			code = append(code, "z="+zero)
			keep = true
		}
		get := func(key string) []string {
			if v, ok := fm[key]; ok {
				return v
			}
			return typeMarkers[key]
		}
		if v := get("listType"); len(v) > 0 {
			code = append(code, "lt="+v[0])
			keep = true
		}
		if v := get("listMapKey"); len(v) > 0 {
			code = append(code, "lk="+strings.Join(v, ","))
			keep = true
		}
		if v := get("mapType"); len(v) > 0 {
			code = append(code, "mt="+v[0])
			keep = true
		}
		if v := get("structType"); len(v) > 0 {
			code = append(code, "st="+v[0])
			keep = true
		}
		if v := fm["default"]; len(v) > 0 && !strings.HasPrefix(v[0], "ref(") && !strings.HasPrefix(v[0], "{") {
			code = append(code, "d="+v[0])
			keep = true
		}
		out = append(out, field{json: name, code: code, keep: keep})
	}
	return out
}

func main() {
	api := flag.String("api", "/tmp/gosrc/api", "kubernetes/api checkout")
	am := flag.String("apimachinery", "/tmp/gosrc/apimachinery", "kubernetes/apimachinery checkout")
	ext := flag.String("apiextensions", "/tmp/gosrc/apiextensions-apiserver", "kubernetes/apiextensions-apiserver checkout")
	tag := flag.String("tag", "v0.33.13", "tag of both checkouts (for the header)")
	flag.Parse()

	load(filepath.Join(*am, "pkg/apis/meta/v1"), "k8s.io/apimachinery/pkg/apis/meta/v1", "io.k8s.apimachinery.pkg.apis.meta.v1")
	load(filepath.Join(*am, "pkg/runtime"), "k8s.io/apimachinery/pkg/runtime", "io.k8s.apimachinery.pkg.runtime")
	load(filepath.Join(*am, "pkg/util/intstr"), "k8s.io/apimachinery/pkg/util/intstr", "io.k8s.apimachinery.pkg.util.intstr")
	load(filepath.Join(*am, "pkg/api/resource"), "k8s.io/apimachinery/pkg/api/resource", "io.k8s.apimachinery.pkg.api.resource")
	load(filepath.Join(*am, "pkg/types"), "k8s.io/apimachinery/pkg/types", "io.k8s.apimachinery.pkg.types")
	load(filepath.Join(*ext, "pkg/apis/apiextensions/v1"), "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1", "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1")
	var emit []string
	emit = append(emit, "k8s.io/apimachinery/pkg/apis/meta/v1", "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1")
	groups, _ := os.ReadDir(*api)
	for _, g := range groups {
		if !g.IsDir() {
			continue
		}
		versions, _ := os.ReadDir(filepath.Join(*api, g.Name()))
		for _, v := range versions {
			if !v.IsDir() || (v.Name() != "v1" && v.Name() != "v2") {
				continue
			}
			path := "k8s.io/api/" + g.Name() + "/" + v.Name()
			load(filepath.Join(*api, g.Name(), v.Name()), path, "io.k8s.api."+g.Name()+"."+v.Name())
			emit = append(emit, path)
		}
	}
	sort.Strings(emit)

	fmt.Printf("// GENERATED by components/apimachinery/tools/apply-table from k8s.io/api,\n")
	fmt.Printf("// k8s.io/apimachinery and k8s.io/apiextensions-apiserver %s (see its main.go for how\n", *tag)
	fmt.Printf("// to regenerate); do not edit.\n")
	fmt.Printf("//\n// (definition, type markers, [(json field, facts)]). Facts: shape `s` non-pointer struct,\n")
	fmt.Printf("// `p` pointer, `l` slice, `m` map, `v` non-pointer scalar; `n=<zero>` written even when\n")
	fmt.Printf("// zero (no omitempty); `z=<zero>` dropped when equal to it (omitempty scalar); `lt=`, `lk=`,\n")
	fmt.Printf("// `mt=`, `st=` list/map/struct markers; `d=` the +default literal. Fields with nothing to\n")
	fmt.Printf("// say (omitempty pointers, slices, maps without markers) are left out.\n\n")
	fmt.Printf("pub(super) type Fields = &'static [(&'static str, &'static str)];\n")
	fmt.Printf("#[rustfmt::skip]\npub(super) const GO_TYPES: &[(&str, &str, Fields)] = &[\n")
	for _, path := range emit {
		p := pkgs[path]
		names := make([]string, 0, len(p.types))
		for n := range p.types {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			d := p.types[n]
			st, ok := d.expr.(*ast.StructType)
			if !ok || !ast.IsExported(n) {
				continue
			}
			var tm []string
			if v := d.markers["structType"]; len(v) > 0 {
				tm = append(tm, "st="+v[0])
			}
			if v := d.markers["mapType"]; len(v) > 0 {
				tm = append(tm, "mt="+v[0])
			}
			fs := fieldsOf(p, st)
			var parts []string
			for _, f := range fs {
				if f.keep {
					parts = append(parts, fmt.Sprintf("(%q,%q)", f.json, strings.Join(f.code, " ")))
				}
			}
			fmt.Printf("(%q,%q,&[%s]),\n", p.prefix+"."+n, strings.Join(tm, " "), strings.Join(parts, ","))
		}
	}
	fmt.Printf("];\n")
}
