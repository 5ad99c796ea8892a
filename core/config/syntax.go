package config

import (
	"fmt"
	"strings"
)

// item is one entry of a config file: a setting (a name and the words after
// it on its line) or a block (a name, the words before its "{", and the
// items up to the matching "}"). Reading the file into items first keeps
// the grammar (words, lines, braces) apart from the meaning of each name.
type item struct {
	name  string
	args  []string
	line  int
	block bool
	items []*item
}

// parseItems reads src into a root block holding the top-level items.
//
// The grammar is Aerospike's: words are separated by whitespace, "#" starts
// a comment that runs to the end of the line, a block opens with "{" at the
// end of its header line and closes with "}", and a setting's values are the
// words that follow its name on the same line. Braces are words too, so
// "storage-engine memory { data-size 4G }" fits on one line. The root's
// line is the file's last line, for errors about the file as a whole.
func parseItems(file string, src []byte) (*item, error) {
	lines := strings.Split(string(src), "\n")
	if len(lines) > 1 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1] // the newline ends the last line
	}
	root := &item{block: true, line: len(lines)}
	open := []*item{root}
	for i, text := range lines {
		line := i + 1
		text, _, _ = strings.Cut(text, "#")
		words := strings.Fields(text)
		for len(words) > 0 {
			w := words[0]
			words = words[1:]
			switch w {
			case "}":
				if len(open) == 1 {
					return nil, fmt.Errorf(`%s:%d: unexpected "}": no block is open`, file, line)
				}
				open = open[:len(open)-1]
			case "{":
				return nil, fmt.Errorf(`%s:%d: unexpected "{": a block opens with "{" after its name on the same line`, file, line)
			default:
				it := &item{name: w, line: line}
				for len(words) > 0 && words[0] != "{" && words[0] != "}" {
					it.args = append(it.args, words[0])
					words = words[1:]
				}
				parent := open[len(open)-1]
				parent.items = append(parent.items, it)
				if len(words) > 0 && words[0] == "{" {
					words = words[1:]
					it.block = true
					open = append(open, it)
				}
			}
		}
	}
	if len(open) > 1 {
		// The innermost open block is the likeliest to lack its "}".
		it := open[len(open)-1]
		return nil, fmt.Errorf("%s:%d: block %q is not closed: missing \"}\"", file, it.line, it.header())
	}
	return root, nil
}

// header is the item's name and words, as written: "namespace test".
func (it *item) header() string {
	return strings.Join(append([]string{it.name}, it.args...), " ")
}
