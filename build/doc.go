// Package build turns an application directory (ukw.yaml) into a bootable
// unikernel: it parses the app and layer manifests, resolves the layers
// (requires, provides, conflicts), compiles every source in parallel through
// a content-addressed object cache, links NAME.elf (ELF64 with DWARF) and
// copies it to NAME.img (ELF32 without debug info, for QEMU's multiboot
// loader), and reports sizes, cache hits and gcc diagnostics.
//
// The entry points are Load, Build and LoadCatalog. Watch describes which
// files a watcher must observe to rebuild an app. See docs/build.md and
// docs/manifests.md.
package build
