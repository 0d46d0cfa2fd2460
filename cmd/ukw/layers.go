package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"ukw/build"
)

func newLayersCmd() *cobra.Command {
	var (
		asJSON bool
		paths  []string
	)
	cmd := &cobra.Command{
		Use:   "layers",
		Short: "List the layer catalog: what each layer provides, requires, conflicts with, and its options",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cat, err := build.ListCatalog(paths...)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				var ls []*build.Layer
				for _, n := range cat.Names() {
					ls = append(ls, cat.Layers[n])
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(ls)
			}
			for i, n := range cat.Names() {
				l := cat.Layers[n]
				if i > 0 {
					fmt.Fprintln(out)
				}
				fmt.Fprintf(out, "%s", l.Name)
				if l.Origin != "builtin" {
					fmt.Fprintf(out, "  (from %s)", l.Origin)
				}
				fmt.Fprintf(out, "\n  %s\n", l.Description)
				list := func(what string, xs []string) {
					if len(xs) > 0 {
						fmt.Fprintf(out, "  %-10s %s\n", what+":", strings.Join(xs, ", "))
					}
				}
				list("provides", l.Provides)
				list("requires", l.Requires)
				list("conflicts", l.Conflicts)
				for _, o := range l.Options {
					fmt.Fprintf(out, "  option     %s.%s (%s, default %v): %s\n", l.Name, o.Name, o.Type, o.Default, o.Description)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the catalog as JSON")
	cmd.Flags().StringSliceVar(&paths, "layer-path", nil, "extra catalog directories (as layer_paths in ukw.yaml)")
	return cmd
}

func relPath(base, p string) (string, error) { return filepath.Rel(base, p) }
