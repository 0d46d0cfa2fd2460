package build

import (
	"bufio"
	"regexp"
	"strconv"
	"strings"
)

// Diagnostic is one compiler or linker message, parsed from gcc's
// "file:line:col: severity: message" form. Line and Col are 0 when the
// message has none (a linker error, say).
type Diagnostic struct {
	File     string `json:"file,omitempty"`
	Line     int    `json:"line,omitempty"`
	Col      int    `json:"col,omitempty"`
	Severity string `json:"severity"` // error, warning, note
	Message  string `json:"message"`
}

func (d Diagnostic) String() string {
	var b strings.Builder
	if d.File != "" {
		b.WriteString(d.File)
		if d.Line > 0 {
			b.WriteString(":" + strconv.Itoa(d.Line))
			if d.Col > 0 {
				b.WriteString(":" + strconv.Itoa(d.Col))
			}
		}
		b.WriteString(": ")
	}
	b.WriteString(d.Severity + ": " + d.Message)
	return b.String()
}

var (
	gccDiag = regexp.MustCompile(`^(.+?):(\d+):(?:(\d+):)? (fatal error|error|warning|note): (.*)$`)
	ldDiag  = regexp.MustCompile(`^(?:.*/)?ld(?:\.bfd)?: (.*)$`)
)

// ParseDiagnostics extracts gcc and ld messages from tool output. Lines
// that are neither (source excerpts, "In function" context) are skipped.
func ParseDiagnostics(out string) []Diagnostic {
	var ds []Diagnostic
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if m := gccDiag.FindStringSubmatch(line); m != nil {
			ln, _ := strconv.Atoi(m[2])
			col, _ := strconv.Atoi(m[3])
			sev := m[4]
			if sev == "fatal error" {
				sev = "error"
			}
			ds = append(ds, Diagnostic{File: m[1], Line: ln, Col: col, Severity: sev, Message: m[5]})
			continue
		}
		if m := ldDiag.FindStringSubmatch(line); m != nil {
			d := Diagnostic{Severity: "error", Message: m[1]}
			if rest, ok := strings.CutPrefix(m[1], "warning: "); ok {
				d.Severity, d.Message = "warning", rest
			} else if file, msg, ok := strings.Cut(m[1], ": "); ok && !strings.Contains(file, " ") {
				d.File, d.Message = file, msg
			}
			ds = append(ds, d)
			continue
		}
		// "main.o: in function `f':" is context; "x.c:(.text+0x5): undefined reference" is an error
		if i := strings.Index(line, ": undefined reference to "); i >= 0 {
			file := line[:i]
			if j := strings.Index(file, ":("); j >= 0 {
				file = file[:j]
			}
			ds = append(ds, Diagnostic{File: file, Severity: "error", Message: line[i+2:]})
		}
	}
	return ds
}
