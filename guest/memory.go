package guest

// VirtualMemory reads a stopped machine's guest-virtual memory, translated
// through CPU's page tables, as an io.ReaderAt: the form package symbols
// unwinds stacks and evaluates expressions with.
type VirtualMemory struct {
	M   Machine
	CPU int
}

// ReadAt fills p from guest-virtual address off; a partial read is an error.
func (v VirtualMemory) ReadAt(p []byte, off int64) (int, error) {
	if err := v.M.ReadMemory(v.CPU, Virtual, uint64(off), p); err != nil {
		return 0, err
	}
	return len(p), nil
}
