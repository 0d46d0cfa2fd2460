// Package symbols turns raw addresses of an ELF image into functions,
// source lines, inline chains, backtraces, variables and disassembly.
//
// It reads ELF with debug/elf and DWARF 2-5 with debug/dwarf, its own
// line-table decoder, and delve's pkg/dwarf/{frame,op,loclist} for call
// frame information and location expressions. It does not import package
// guest: registers come as a Regs in DWARF numbering and memory as an
// io.ReaderAt over virtual addresses (Memory).
//
// # API
//
//	f, err := symbols.Open("hello.elf")   // symbol table + DWARF unit ranges; the rest is lazy
//	loc := f.Lookup(pc)                    // function, file:line:col, inline chain, symbol+offset
//	bps, err := f.Breakpoints("net.c:42")  // or "main": addresses like gdb's break, ambiguous names all listed
//	bt := f.Unwind(regs, mem)              // CFI (.eh_frame + .debug_frame), rbp fallback, exception frames
//	pcs, why := f.UnwindPCs(regs, mem, 64, nil) // the same walk, pcs and CFAs only (profilers)
//	n := f.HiddenInlineFrames(pc, &bp)     // inline frames gdb hides at a stop (break main on an inlined call)
//	args, locals, err := f.FrameVars(bt.Frames, 0, 0, mem) // formatted like gdb's info args/locals
//	v, err := f.Eval("s->pts[1].x", bt.Frames, 0, 0, mem) // like gdb's print; f.Children(v, mem, 100) expands it
//	li, ok := f.LineAt(pc)                 // row, is_stmt and the step range [Lo, Hi) of its line
//	fn, ok := f.FuncAt(pc); f.AfterPrologue(fn.Entry); f.IsStmtStart(pc)
//	insns, err := f.Disassemble(lo, hi, mem, symbols.ATT) // objdump's text; DisassembleSource for mixed mode
//	symbols.WriteCrashReport(w, f, symbols.Crash{...}, symbols.ReportOptions{})
//	f.Symbolize(os.Stdout, os.Stdin, args, symbols.Addr2lineOptions{Functions: true, Inlines: true})
//
// Lookup follows binutils addr2line's rules (smallest DWARF function
// range containing the address, BFD's line-row choice, symbol-table
// fallback), so `ukw symbolize` is byte-identical to addr2line; the few
// places where addr2line 2.40 is wrong are reproduced only in that text
// output (see bfdState and docs/symbols.md).
//
// Unwind recognises the exception stubs of ukw's lib/panic by the symbol
// prefix ExceptionStubPrefix ("ukw_exc_"): a stub calls its C handler with
// rsp pointing at the struct ukw_frame of layers/README.md, and the
// unwinder continues from the interrupted registers saved there.
//
// Open maps the image read-only; the indexers read DWARF sections in
// place and Close unmaps them once indexing in progress ends (nothing a
// caller holds points into the mapping).
//
// Every parser returns errors on malformed input; none panics (see the
// Fuzz tests).
package symbols
