package libvirt

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// WriteList prints domains for `ukw ps`: a table, or a JSON array with
// asJSON.
func WriteList(w io.Writer, list []DomainInfo, asJSON bool) error {
	if asJSON {
		if list == nil {
			list = []DomainInfo{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tUPTIME\tGDB\tAPP\tELF")
	for _, d := range list {
		up, gdb, app, elf := "-", "-", "-", "-"
		if !d.Started.IsZero() {
			up = formatUptime(d.Uptime)
		}
		if d.GDB != "" {
			gdb = d.GDB
		}
		if d.App != "" {
			app = d.App
		}
		if d.ELF != "" {
			elf = d.ELF
		}
		if !d.Ukw {
			app = "(not ukw)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.Name, d.State, up, gdb, app, elf)
	}
	return tw.Flush()
}

// formatUptime prints d like `ps`: 45s, 12m03s, 3h04m, 2d05h.
func formatUptime(d time.Duration) string {
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
}
