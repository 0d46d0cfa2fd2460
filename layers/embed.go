// Package layers is ukw's catalog of unikernel layers, C and assembly, one
// directory with a layer.yaml manifest per layer. README.md in this
// directory is the guest ABI. The package holds no logic: package build
// reads the catalog through FS.
package layers

import (
	"embed"
	"io/fs"
)

//go:embed README.md all:arch all:plat all:lib
var catalog embed.FS

// FS returns the embedded catalog; paths are relative to this directory
// ("plat/kvm/layer.yaml").
func FS() fs.FS { return catalog }
