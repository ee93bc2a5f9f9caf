package callgen

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// ReadCallers reads callers one per line as "number,name" (the name may be
// empty or hold further commas; surrounding double quotes are removed).
// Blank lines and lines starting with # are skipped. Nothing is checked:
// hostile names and numbers are what a test may want to send.
func ReadCallers(r io.Reader) ([]Caller, error) {
	var out []Caller
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		number, name, _ := strings.Cut(line, ",")
		number = strings.TrimSpace(number)
		if number == "" {
			return nil, fmt.Errorf("callgen: callers line %d: no number", n)
		}
		name = strings.TrimSpace(name)
		if len(name) >= 2 && name[0] == '"' && name[len(name)-1] == '"' {
			name = name[1 : len(name)-1]
		}
		out = append(out, Caller{Number: number, Name: name})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("callgen: callers: %w", err)
	}
	return out, nil
}

// Sequence generates callers prefix+start, prefix+start+1, … named
// "Caller 1", "Caller 2", …
func Sequence(prefix string, start int) func(i int) Caller {
	return func(i int) Caller {
		return Caller{Number: fmt.Sprintf("%s%d", prefix, start+i), Name: fmt.Sprintf("Caller %d", i+1)}
	}
}
