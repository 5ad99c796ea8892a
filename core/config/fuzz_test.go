package config

import (
	"regexp"
	"testing"
)

// FuzzParse checks that Parse never panics and always answers either a
// Config with at least one namespace or an error that names file and line.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		string(defaultText),
		ns(),
		"namespace test { storage-engine memory { data-size 8G } }",
		"network {\nheartbeat {\nnested { x }\n}\n}\n" + ns(),
		"logging {\nfile /x {\ncontext any info\n}\n}\n" + ns(),
		// Malformed.
		"",
		"}",
		"{",
		"namespace test {\n",
		"namespace {\n}\n",
		"service skiff {\n}\n",
		"namespace test {\ndefault-ttl\n}\n",
		"namespace test {\ndefault-ttl 99999999999999999999D\n}\n",
		"namespace test {\nstorage-engine memory {\ndata-size 9999P\n}\n}\n",
		"namespace test {}\n# }",
		"\x00{\xff}\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	valid := regexp.MustCompile(`^f:[1-9][0-9]*: `)
	f.Fuzz(func(t *testing.T, src []byte) {
		c, err := Parse("f", src)
		switch {
		case err != nil && c != nil:
			t.Fatalf("Parse returned both a Config and %v", err)
		case err != nil && !valid.MatchString(err.Error()):
			t.Fatalf("error %q does not start with FILE:LINE: ", err)
		case err == nil && len(c.Namespaces) == 0:
			t.Fatal("Parse returned a Config without namespaces")
		}
	})
}
