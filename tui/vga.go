package tui

import (
	"ukw/session"
)

// The VGA text screen: 80x25 cells of (character, attribute) at 0xB8000.
const (
	vgaAddr  = 0xb8000
	vgaCols  = 80
	vgaRows  = 25
	vgaBytes = vgaCols * vgaRows * 2
)

// cp437 maps code page 437's upper half (0x80-0xFF) to Unicode; the lower
// control range shows as spaces and 0x20-0x7E is ASCII.
const cp437 = "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»" +
	"░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀" +
	"αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■ "

// vgaScreen is the console pane's VGA text view.
type vgaScreen struct {
	shown   bool
	pending bool
	lines   []string
	err     string
}

// set takes the answer to the VGA read.
func (v *vgaScreen) set(ev session.MemoryEvent) {
	v.pending = false
	if ev.Err != "" {
		v.err = ev.Err
		return
	}
	v.err = ""
	v.lines = decodeVGA(ev.Data)
}

// decodeVGA turns VGA text memory into lines, trailing blanks trimmed.
func decodeVGA(data []byte) []string {
	upper := []rune(cp437)
	var lines []string
	for r := 0; r < vgaRows && r*vgaCols*2 < len(data); r++ {
		row := make([]rune, 0, vgaCols)
		for c := 0; c < vgaCols; c++ {
			i := (r*vgaCols + c) * 2
			if i >= len(data) {
				break
			}
			b := data[i]
			switch {
			case b >= 0x80:
				row = append(row, upper[b-0x80])
			case b >= 0x20 && b < 0x7f:
				row = append(row, rune(b))
			default:
				row = append(row, ' ')
			}
		}
		n := len(row)
		for n > 0 && row[n-1] == ' ' {
			n--
		}
		lines = append(lines, string(row[:n]))
	}
	return lines
}

func (v *vgaScreen) view(st *Styles) []string {
	switch {
	case v.err != "":
		return []string{st.Note.Render("VGA text screen not available: " + clean(v.err)), st.Dim.Render("press v for the serial console")}
	case v.lines == nil && v.pending:
		return []string{st.Dim.Render("reading the VGA text screen…")}
	case v.lines == nil:
		return []string{st.Dim.Render("no VGA text screen yet: it is read when the guest stops")}
	}
	for _, l := range v.lines {
		if l != "" {
			return v.lines
		}
	}
	return []string{st.Dim.Render("the VGA text screen is blank")}
}
