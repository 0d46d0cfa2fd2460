package trace

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

func TestFormatPoint(t *testing.T) {
	neg := uint64(0xffffffffffffffff) // (uint64_t)(int)-1
	strs := func(a uint64) (string, bool) {
		if a == 0x5000 {
			return "hello", true
		}
		return "", false
	}
	for _, c := range []struct {
		format string
		args   []uint64
		want   string
	}{
		{"i=%d", []uint64{7}, "i=7"},
		{"%d %i %ld", []uint64{neg, neg, neg}, "-1 -1 -1"},
		{"%u %lu", []uint64{neg, neg}, "4294967295 18446744073709551615"},
		{"%x %#x %08X %lx", []uint64{255, 255, 0xbeef, 1 << 40}, "ff 0xff 0000BEEF 10000000000"},
		{"%hhd %hu", []uint64{0x1ff, 0x1ffff}, "-1 65535"},
		{"%5d|%-5d|%+d", []uint64{42, 42, 42}, "   42|42   |+42"},
		{"%p %c %o %%", []uint64{0x10f000, 'A', 8}, "0x10f000 A 10 %"},
		{"%s %s", []uint64{0x5000, 0x6000}, "hello (char *)0x6000"},
		{"%d %d", []uint64{1}, "1 %!d(MISSING)"},
		{"%q and %", []uint64{1}, "%q and %"},
		{"%zu %.3d", []uint64{3, 5}, "3 005"},
	} {
		if got := FormatPoint(c.format, c.args, strs); got != c.want {
			t.Errorf("FormatPoint(%q, %v) = %q, want %q", c.format, c.args, got, c.want)
		}
	}
}

func FuzzFormatPoint(f *testing.F) {
	f.Add("i=%d %s %-08.3lx %%", uint64(5))
	f.Add("%", uint64(0))
	f.Fuzz(func(t *testing.T, format string, a uint64) {
		FormatPoint(format, []uint64{a, a}, nil)
	})
}

func sampleTrace() *Trace {
	var r recorder
	r.enter(1000, 0x10).enter(1100, 0x20).at(1150).add(RecPoint, 0x900, 3, 0xffffffffffffffff).enter(1200, 0x30).exit(1300, 0x30).exit(1400, 0x20).
		enter(1500, 0x40).enter(1600, 0x40) // still running at the end
	tr := NewTrace(testSym)
	tr.Add(r.recs)
	return tr
}

func TestPerfettoValidates(t *testing.T) {
	tr := sampleTrace()
	var b bytes.Buffer
	if err := WritePerfetto(&b, tr, PerfettoOptions{Process: "tracetree", Clock: Clock{Hz: 1e9}}); err != nil {
		t.Fatal(err)
	}
	if err := ValidateTraceEvents(b.Bytes()); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	var f TraceFile
	if err := json.Unmarshal(b.Bytes(), &f); err != nil {
		t.Fatal(err)
	}
	var xs, is, ms int
	for _, e := range f.TraceEvents {
		switch e.Ph {
		case "X":
			xs++
			if e.Name == "main" && (e.Ts != 0 || *e.Dur != 0.6) {
				t.Errorf("main ts %v dur %v, want 0 and 0.6 µs", e.Ts, *e.Dur)
			}
			if e.Name == "fib" && e.Args["unfinished"] != true {
				t.Errorf("open fib not marked unfinished: %v", e.Args)
			}
		case "i":
			is++
			if e.Name != "work" || e.Args["msg"] != "i=3" || e.Ts != 0.15 || e.Args["source"] != "main.c:45" ||
				e.Args["arg0"] != 3.0 || e.Args["arg1"] != "0xffffffffffffffff" {
				t.Errorf("instant %+v", e)
			}
		case "M":
			ms++
		}
	}
	if xs != 5 || is != 1 || ms != 2 {
		t.Fatalf("%d X, %d i, %d M events; want 5, 1, 2", xs, is, ms)
	}
}

func TestValidateTraceEventsRejects(t *testing.T) {
	for _, c := range []struct{ name, json, want string }{
		{"not json", `{"traceEvents": [`, "unexpected"},
		{"no array", `{"events": []}`, "no traceEvents"},
		{"bad ph", `[{"name":"a","ph":"Z","ts":0,"pid":1,"tid":1}]`, "event type"},
		{"no name", `[{"ph":"X","ts":0,"dur":1,"pid":1,"tid":1}]`, "no name"},
		{"no ts", `[{"name":"a","ph":"i","pid":1,"tid":1}]`, "ts"},
		{"string pid", `[{"name":"a","ph":"i","ts":1,"pid":"1","tid":1}]`, "pid"},
		{"negative dur", `[{"name":"a","ph":"X","ts":0,"dur":-1,"pid":1,"tid":1}]`, "dur"},
		{"unmatched E", `[{"name":"a","ph":"E","ts":0,"pid":1,"tid":1}]`, "without a B"},
		{"unclosed B", `[{"name":"a","ph":"B","ts":0,"pid":1,"tid":1}]`, "without an E"},
		{"crossed B/E", `[{"name":"a","ph":"B","ts":0,"pid":1,"tid":1},{"name":"b","ph":"B","ts":1,"pid":1,"tid":1},{"name":"a","ph":"E","ts":2,"pid":1,"tid":1}]`, "closes"},
		{"overlapping X", `[{"name":"a","ph":"X","ts":0,"dur":10,"pid":1,"tid":1},{"name":"b","ph":"X","ts":5,"dur":10,"pid":1,"tid":1}]`, "overlaps"},
		{"bad scope", `[{"name":"a","ph":"i","s":"x","ts":0,"pid":1,"tid":1}]`, "scope"},
	} {
		if err := ValidateTraceEvents([]byte(c.json)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error mentioning %q", c.name, err, c.want)
		}
	}
	ok := `[{"name":"a","ph":"B","ts":0,"pid":1,"tid":1},{"ph":"E","ts":2,"pid":1,"tid":1},` +
		`{"name":"x","ph":"X","ts":0,"dur":10,"pid":1,"tid":2},{"name":"y","ph":"X","ts":10,"dur":5,"pid":1,"tid":2},` +
		`{"name":"process_name","ph":"M","pid":1,"args":{"name":"p"}}]`
	if err := ValidateTraceEvents([]byte(ok)); err != nil {
		t.Fatalf("valid events rejected: %v", err)
	}
}

func TestFoldedRoundTripAndTop(t *testing.T) {
	p := NewProfile()
	for i := 0; i < 90; i++ {
		p.Add([]string{"main", "work", "hot"})
	}
	for i := 0; i < 6; i++ {
		p.Add([]string{"main", "fib", "fib", "fib"})
	}
	p.AddN([]string{"main", "a;b", ""}, 4)
	var b bytes.Buffer
	p.WriteFolded(&b)
	want := "main;a:b;[unknown] 4\nmain;fib;fib;fib 6\nmain;work;hot 90\n"
	if b.String() != want {
		t.Fatalf("folded:\n%s\nwant:\n%s", b.String(), want)
	}
	q, err := ParseFolded(strings.NewReader(b.String()))
	if err != nil || q.Samples != 100 || q.Stacks["main;work;hot"] != 90 {
		t.Fatalf("parse: %+v, %v", q, err)
	}
	top := p.Top(3)
	if top[0] != (FuncStat{"hot", 90, 90}) || top[1] != (FuncStat{"fib", 6, 6}) || top[2] != (FuncStat{"[unknown]", 4, 4}) {
		t.Fatalf("top %+v", top)
	}
	all := p.Top(0)
	if len(all) != 6 || all[3] != (FuncStat{"main", 0, 100}) || all[5] != (FuncStat{"a:b", 0, 4}) {
		t.Fatalf("all %+v", all)
	}
	if _, err := ParseFolded(strings.NewReader("main;x notanumber\n")); err == nil {
		t.Fatal("bad count accepted")
	}
	if _, err := ParseFolded(strings.NewReader("nocount\n")); err == nil {
		t.Fatal("line without count accepted")
	}
	var tb bytes.Buffer
	WriteTop(&tb, top, p.Samples)
	if !strings.Contains(tb.String(), "90.0%  hot") {
		t.Fatalf("top text:\n%s", tb.String())
	}
}

// svgFrames parses an SVG with encoding/xml and returns its <title> texts.
func svgFrames(t *testing.T, data []byte) []string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(data))
	var titles []string
	var inTitle, sawSVG bool
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			if x.Name.Local == "svg" {
				sawSVG = x.Name.Space == "http://www.w3.org/2000/svg"
			}
			inTitle = x.Name.Local == "title"
		case xml.EndElement:
			inTitle = false
		case xml.CharData:
			if inTitle {
				titles = append(titles, string(x))
			}
		}
	}
	if !sawSVG {
		t.Fatal("no <svg> root in the SVG namespace")
	}
	return titles
}

func TestFlameGraphIsWellFormedSVG(t *testing.T) {
	p := NewProfile()
	p.AddN([]string{"main", "work", "hot_spin"}, 95)
	p.AddN([]string{"main", "<weird & name>"}, 5)
	var b bytes.Buffer
	if err := WriteFlameGraph(&b, p, FlameOptions{Subtitle: "100 samples & more"}); err != nil {
		t.Fatal(err)
	}
	titles := svgFrames(t, b.Bytes())
	joined := strings.Join(titles, "\n")
	for _, want := range []string{"all (100 samples, 100.00%)", "hot_spin (95 samples, 95.00%)", "<weird & name> (5 samples, 5.00%)", "main (100 samples"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no frame %q in\n%s", want, joined)
		}
	}
	if len(titles) != 5 {
		t.Errorf("%d frames, want 5", len(titles))
	}
	var empty bytes.Buffer
	WriteFlameGraph(&empty, NewProfile(), FlameOptions{})
	svgFrames(t, empty.Bytes())
}

func FuzzParseFolded(f *testing.F) {
	f.Add("main;work 3\nmain 1\n")
	f.Add("a b c 1\n\n;; 2")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseFolded(strings.NewReader(s))
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := WriteFlameGraph(&b, p, FlameOptions{}); err != nil {
			t.Fatal(err)
		}
		d := xml.NewDecoder(&b)
		for {
			if _, err := d.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("flame graph of %q is not XML: %v", s, err)
			}
		}
	})
}

func FuzzValidateTraceEvents(f *testing.F) {
	f.Add([]byte(`{"traceEvents":[{"name":"a","ph":"X","ts":0,"dur":1,"pid":1,"tid":1}]}`))
	f.Add([]byte(`[{"name":"a","ph":"B","ts":1e300,"pid":1,"tid":1},{"ph":"E","ts":-1e300,"pid":1,"tid":1}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ValidateTraceEvents(data)
	})
}
