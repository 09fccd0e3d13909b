// Command goshape prints the shape of the Go package in each directory it is given:
// how many functions, methods, types, struct fields, constants and variables it
// declares, or the syntax error that stops it. The hostile-name test compares the
// shapes of code generated from hostile and from plain names.
package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"sort"
	"strings"
)

func main() {
	for _, dir := range os.Args[1:] {
		fmt.Printf("%s\t%s\n", dir, shape(dir))
	}
}

func shape(dir string) string {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, nil, parser.SkipObjectResolution)
	if err != nil {
		return "error: " + strings.ReplaceAll(err.Error(), "\n", " ")
	}
	counts := map[string]int{}
	for _, p := range pkgs {
		for _, f := range p.Files {
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.FuncDecl:
					if n.Recv != nil {
						counts["method"]++
					} else {
						counts["func"]++
					}
				case *ast.TypeSpec:
					counts["type"]++
				case *ast.Field:
					counts["field"]++
				case *ast.ValueSpec:
					counts["value"] += len(n.Names)
				case *ast.ImportSpec:
					counts["import"]++
				}
				return true
			})
		}
	}
	var parts []string
	for k, v := range counts {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}
