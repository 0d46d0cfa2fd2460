package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSetLayerKeepsCommentsAndValidates(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, ManifestName)
	orig := "# my app\nname: demo\nlayers: [arch/x86_64, plat/kvm] # the base\nsources: [main.c]\n"
	if err := os.WriteFile(file, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	changed, err := SetLayer(dir, "lib/nolibc", true)
	if err != nil || !changed {
		t.Fatalf("add: changed %v, err %v", changed, err)
	}
	m := mustParse(t, file)
	if strings.Join(m.Layers, " ") != "arch/x86_64 plat/kvm lib/nolibc" {
		t.Fatalf("layers after add: %v", m.Layers)
	}
	data, _ := os.ReadFile(file)
	if !strings.Contains(string(data), "# my app") || !strings.Contains(string(data), "# the base") {
		t.Fatalf("comments lost:\n%s", data)
	}
	if changed, _ := SetLayer(dir, "lib/nolibc", true); changed {
		t.Fatal("adding a present layer must not change the file")
	}
	if changed, err := SetLayer(dir, "plat/kvm", false); err != nil || !changed {
		t.Fatalf("remove: changed %v, err %v", changed, err)
	}
	if m := mustParse(t, file); strings.Join(m.Layers, " ") != "arch/x86_64 lib/nolibc" {
		t.Fatalf("layers after remove: %v", m.Layers)
	}
}

func TestSetLayerRefusesBrokenManifest(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, ManifestName)
	orig := "name: demo\nlayers: not-a-list\n"
	os.WriteFile(file, []byte(orig), 0o644)
	if _, err := SetLayer(dir, "lib/nolibc", true); err == nil || !strings.Contains(err.Error(), ":2:") {
		t.Fatalf("want an error naming line 2, got %v", err)
	}
	if data, _ := os.ReadFile(file); string(data) != orig {
		t.Fatal("a refused edit must leave the file alone")
	}
}

func mustParse(t *testing.T, file string) *AppManifest {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseAppManifest(file, data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
