package symbols

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// Crash is what a crash report is made of: the fault facts as the guest's
// exception stub or the hypervisor reported them, and the unwound frames.
type Crash struct {
	// Vector is the x86 exception vector (0-31), or -1 when the crash was
	// not an exception (triple fault, timeout, ...).
	Vector    int
	ErrorCode uint64
	// CR2 is the faulting address of a #PF.
	CR2 uint64
	// Regs are the registers at the fault (DWARF numbering).
	Regs   Regs
	RFLAGS uint64
	// Frames is the backtrace (File.Unwind(Regs, mem).Frames); it may be
	// empty, then the report shows the faulting pc alone.
	Frames []Frame
	// StopReason is Backtrace.Reason, shown after the frames.
	StopReason string
	// Summary is the report's first line, the caller's one-line account of
	// the crash (guest.Fault.Summary: "#PF page fault (error 0x2) accessing
	// 0x0 at rip 0x102153"); " at rip" and the pc are added when it has none.
	Summary string
	// VectorName names the exception vectors of exception frames crossed
	// in the backtrace (guest.VectorName); nil shows "vector N".
	VectorName func(int) string
}

// ReportOptions tune WriteCrashReport.
type ReportOptions struct {
	// Context is the number of source lines shown around the faulting
	// line (0 means 2; negative hides the snippet).
	Context int
	// SourceDirs are extra directories searched for source files by base
	// name when the path DWARF records cannot be read.
	SourceDirs []string
}

// WriteCrashReport writes a human-readable crash report: what happened,
// where (function, file:line), the backtrace with inline frames, a source
// snippet around the faulting line, and the registers. f may be nil (no
// ELF): frames then show raw addresses.
//
//	#PF page fault (error 0x2) accessing 0x0 at rip 0x401136
//	  in leaf at prog.c:37
//
//	backtrace:
//	  #0  0x0000000000401136 in leaf at /src/prog.c:37
//	  #1  0x00000000004011c0 in walk at /src/prog.c:52
//	  ...
//
//	/src/prog.c:
//	     35		int local = s->pts[0].x + k;
//	  >  37		global_counter += local;
//
//	registers:
//	  rax 0x0000000000000000  rbx ...
func WriteCrashReport(w io.Writer, f *File, c Crash, o ReportOptions) error {
	bw := bufio.NewWriter(w)
	pc := c.Regs.PC()
	if strings.Contains(c.Summary, " at rip ") {
		fmt.Fprintf(bw, "%s\n", c.Summary)
	} else {
		fmt.Fprintf(bw, "%s at rip %#x\n", c.Summary, pc)
	}
	frames := c.Frames
	if len(frames) == 0 {
		fr := Frame{PC: pc, Regs: c.Regs, How: "stop"}
		if f != nil {
			fr.Loc = f.LookupGDB(pc)
		}
		frames = []Frame{fr}
	}
	if sf := frames[0].Loc.Frames; len(sf) > 0 {
		fmt.Fprintf(bw, "  in %s\n", sourceFrameString(sf[0]))
	} else if frames[0].Loc.Symbol != "" {
		fmt.Fprintf(bw, "  in %s+%#x\n", frames[0].Loc.Symbol, frames[0].Loc.Offset)
	}
	bw.WriteString("\nbacktrace:\n")
	n := 0
	for _, fr := range frames {
		if fr.Interrupted != nil {
			fmt.Fprintf(bw, "  <%s, error %#x, frame at %#x>\n", c.vectorName(fr.Interrupted.Vector), fr.Interrupted.ErrorCode, fr.Interrupted.FrameAddr)
		}
		for i, sf := range fr.Loc.Frames {
			if i == 0 {
				fmt.Fprintf(bw, "  #%-2d 0x%016x in %s\n", n, fr.PC, sourceFrameString(sf))
			} else {
				fmt.Fprintf(bw, "  #%-2d %18s in %s\n", n, "", sourceFrameString(sf))
			}
			n++
		}
		if len(fr.Loc.Frames) == 0 {
			name := "??"
			if fr.Loc.Symbol != "" {
				name = fmt.Sprintf("%s+%#x", fr.Loc.Symbol, fr.Loc.Offset)
			}
			fmt.Fprintf(bw, "  #%-2d 0x%016x in %s\n", n, fr.PC, name)
			n++
		}
	}
	if c.StopReason != "" {
		fmt.Fprintf(bw, "  (%s)\n", c.StopReason)
	}
	if o.Context >= 0 && f != nil {
		ctx := o.Context
		if ctx == 0 {
			ctx = 2
		}
		if sf := frames[0].Loc.Frames; len(sf) > 0 && sf[0].File != "" && sf[0].Line > 0 {
			if lines, path := f.sourceLines(sf[0].File, o.SourceDirs); lines != nil {
				fmt.Fprintf(bw, "\n%s:\n", path)
				for l := max(sf[0].Line-ctx, 1); l <= sf[0].Line+ctx && l <= len(lines); l++ {
					mark := "   "
					if l == sf[0].Line {
						mark = "-> "
					}
					fmt.Fprintf(bw, "  %s%5d\t%s\n", mark, l, lines[l-1])
				}
			}
		}
	}
	bw.WriteString("\nregisters:\n")
	order := []int{RegRAX, RegRBX, RegRCX, RegRDX, RegRSI, RegRDI, RegRBP, RegRSP,
		RegR8, RegR9, RegR10, RegR11, RegR12, RegR13, RegR14, RegR15, RegRIP}
	for i, r := range order {
		v, ok := c.Regs.Get(r)
		val := "<unknown>         "
		if ok {
			val = fmt.Sprintf("0x%016x", v)
		}
		fmt.Fprintf(bw, "  %-3s %s", RegName(r), val)
		if i%4 == 3 {
			bw.WriteByte('\n')
		}
	}
	fmt.Fprintf(bw, "  rflags 0x%08x\n", c.RFLAGS)
	return bw.Flush()
}

func sourceFrameString(sf SourceFrame) string {
	name := sf.Func
	if name == "" {
		name = "??"
	}
	if sf.File == "" {
		return name
	}
	if sf.Line == 0 {
		return name + " at " + sf.File
	}
	return fmt.Sprintf("%s at %s:%d", name, sf.File, sf.Line)
}

// sourceLines reads a source file (cached), trying the recorded path and
// then each of dirs with the base name.
func (f *File) sourceLines(path string, dirs []string) ([]string, string) {
	f.srcMu.Lock()
	defer f.srcMu.Unlock()
	if l, ok := f.src[path]; ok {
		return l, path
	}
	cands := []string{path}
	base := path[strings.LastIndexByte(path, '/')+1:]
	for _, d := range dirs {
		cands = append(cands, d+"/"+base)
	}
	for _, p := range cands {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		f.src[path] = lines
		return lines, p
	}
	f.src[path] = nil
	return nil, path
}

// SourceLine returns line n (1-based) of a source file DWARF names, or
// false when the file cannot be read.
func (f *File) SourceLine(path string, n int) (string, bool) {
	lines, _ := f.sourceLines(path, nil)
	if n < 1 || n > len(lines) {
		return "", false
	}
	return lines[n-1], true
}

func (c *Crash) vectorName(v int) string {
	if c.VectorName != nil {
		return c.VectorName(v)
	}
	return fmt.Sprintf("vector %d", v)
}
