package build

import (
	"debug/elf"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// Report summarizes a build.
type Report struct {
	App    string      `json:"app"`
	Opt    string      `json:"opt"`
	Layers []LayerSize `json:"layers"` // link order, then "app"
	// ImageBytes is the size of NAME.img on disk; LoadBytes the bytes a
	// loader copies (sum of PT_LOAD file sizes); MemBytes what the image
	// occupies in guest memory (sum of PT_LOAD memory sizes, .bss included).
	ImageBytes int64  `json:"image_bytes"`
	ELFBytes   int64  `json:"elf_bytes"`
	LoadBytes  uint64 `json:"load_bytes"`
	MemBytes   uint64 `json:"mem_bytes"`
	Compiled   int    `json:"compiled"`
	Cached     int    `json:"cached"`
	Linked     bool   `json:"linked"`
	// External is set for an app built by its own command (no layer sizes).
	External bool `json:"external,omitempty"`
	// Providers maps each capability to the layer providing it.
	Providers map[string]string `json:"providers,omitempty"`
	Durations Durations         `json:"durations"`
}

// LayerSize is a layer's share of the image, from its objects' sections
// (as binutils size counts them: text includes read-only data).
type LayerSize struct {
	Name    string `json:"name"`
	Objects int    `json:"objects"`
	Text    uint64 `json:"text"`
	Data    uint64 `json:"data"`
	BSS     uint64 `json:"bss"`
}

// Durations of the build phases.
type Durations struct {
	Resolve time.Duration `json:"resolve_ns"`
	Compile time.Duration `json:"compile_ns"`
	Link    time.Duration `json:"link_ns"`
	Total   time.Duration `json:"total_ns"`
}

func report(name string, res *Resolution, units []*unit, cache objCache, elfPath, imgPath string) (*Report, error) {
	rep := &Report{App: name, Providers: map[string]string{}}
	for c, p := range res.Providers {
		if c != p {
			rep.Providers[c] = p
		}
	}
	idx := map[string]int{}
	for _, l := range res.Layers {
		idx[l.Name] = len(rep.Layers)
		rep.Layers = append(rep.Layers, LayerSize{Name: l.Name})
	}
	idx[AppLayer] = len(rep.Layers)
	rep.Layers = append(rep.Layers, LayerSize{Name: AppLayer})
	for _, u := range units {
		ls := &rep.Layers[idx[u.layer]]
		ls.Objects++
		if err := addSections(ls, cache.objPath(u.key)); err != nil {
			return nil, err
		}
	}
	f, err := elf.Open(elfPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			rep.LoadBytes += p.Filesz
			rep.MemBytes += p.Memsz
		}
	}
	if st, err := os.Stat(imgPath); err == nil {
		rep.ImageBytes = st.Size()
	}
	if st, err := os.Stat(elfPath); err == nil {
		rep.ELFBytes = st.Size()
	}
	return rep, nil
}

func addSections(ls *LayerSize, obj string) error {
	f, err := elf.Open(obj)
	if err != nil {
		return fmt.Errorf("reading %s: %w", obj, err)
	}
	defer f.Close()
	for _, s := range f.Sections {
		if s.Flags&elf.SHF_ALLOC == 0 || strings.HasPrefix(s.Name, ".note.GNU") {
			continue
		}
		switch {
		case s.Type == elf.SHT_NOBITS:
			ls.BSS += s.Size
		case s.Flags&elf.SHF_WRITE != 0:
			ls.Data += s.Size
		default:
			ls.Text += s.Size
		}
	}
	return nil
}

// Print writes the report as a table.
func (r *Report) Print(w io.Writer) {
	if r.External {
		fmt.Fprintf(w, "external build: image %d bytes (loadable %d), debug ELF %d bytes, %v\n",
			r.ImageBytes, r.LoadBytes, r.ELFBytes, r.Durations.Total.Round(time.Millisecond))
		return
	}
	width := len("layer")
	for _, l := range r.Layers {
		width = max(width, len(l.Name))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\tobjects\ttext\tdata\tbss\t\n", width, "layer")
	var t LayerSize
	for _, l := range r.Layers {
		fmt.Fprintf(tw, "%-*s\t%d\t%d\t%d\t%d\t\n", width, l.Name, l.Objects, l.Text, l.Data, l.BSS)
		t.Objects += l.Objects
		t.Text += l.Text
		t.Data += l.Data
		t.BSS += l.BSS
	}
	fmt.Fprintf(tw, "%-*s\t%d\t%d\t%d\t%d\t\n", width, "total", t.Objects, t.Text, t.Data, t.BSS)
	tw.Flush()
	fmt.Fprintf(w, "image %d bytes (loadable %d, in memory %d), elf %d bytes, -O%s\n",
		r.ImageBytes, r.LoadBytes, r.MemBytes, r.ELFBytes, r.Opt)
	link := "relinked"
	if !r.Linked {
		link = "link up to date"
	}
	fmt.Fprintf(w, "objects: %d compiled, %d cached; %s; %v (resolve %v, compile %v, link %v)\n",
		r.Compiled, r.Cached, link, r.Durations.Total.Round(time.Millisecond),
		r.Durations.Resolve.Round(time.Millisecond), r.Durations.Compile.Round(time.Millisecond),
		r.Durations.Link.Round(time.Millisecond))
}
