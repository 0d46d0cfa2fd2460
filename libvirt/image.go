package libvirt

import (
	"errors"
	"fmt"
	"os"

	golibvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"
)

// DefaultPool is the libvirt storage pool ukw uploads boot images into.
const DefaultPool = "ukw"

// DefaultPoolDir is where DefaultPool keeps its files on a qemu:///system host.
const DefaultPoolDir = "/var/lib/libvirt/images/ukw"

// uploadImage copies the local file path into a new volume name of pool
// (creating the pool as a transient directory pool at dir when it does not
// exist) and returns the volume's path on the libvirt host. Uploading through
// libvirt's storage API works the same for a local and a remote daemon, and
// leaves the user's build output untouched (libvirt relabels a kernel it
// boots for the QEMU user).
func (c *Conn) uploadImage(path, pool, dir, name string) (string, golibvirt.StorageVol, error) {
	var vol golibvirt.StorageVol
	f, err := os.Open(path)
	if err != nil {
		return "", vol, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", vol, err
	}
	p, err := c.ensurePool(pool, dir)
	if err != nil {
		return "", vol, err
	}
	vx, err := (&libvirtxml.StorageVolume{
		Name:     name,
		Capacity: &libvirtxml.StorageVolumeSize{Value: uint64(st.Size()), Unit: "bytes"},
		Target: &libvirtxml.StorageVolumeTarget{
			Format:      &libvirtxml.StorageVolumeTargetFormat{Type: "raw"},
			Permissions: &libvirtxml.StorageVolumeTargetPermissions{Mode: "0644"},
		},
	}).Marshal()
	if err != nil {
		return "", vol, err
	}
	vol, err = c.lv.StorageVolCreateXML(p, vx, 0)
	if err != nil {
		return "", vol, fmt.Errorf("creating volume %s in pool %s: %w", name, pool, err)
	}
	if err := c.lv.StorageVolUpload(vol, f, 0, uint64(st.Size()), 0); err != nil {
		c.lv.StorageVolDelete(vol, golibvirt.StorageVolDeleteNormal)
		return "", vol, fmt.Errorf("uploading %s: %w", path, err)
	}
	hostPath, err := c.lv.StorageVolGetPath(vol)
	if err != nil {
		c.lv.StorageVolDelete(vol, golibvirt.StorageVolDeleteNormal)
		return "", vol, err
	}
	return hostPath, vol, nil
}

// ensurePool returns the running pool called name, creating a transient
// directory pool at dir when there is none.
func (c *Conn) ensurePool(name, dir string) (golibvirt.StoragePool, error) {
	p, err := c.lv.StoragePoolLookupByName(name)
	if err == nil {
		if active, err := c.lv.StoragePoolIsActive(p); err == nil && active == 0 {
			if err := c.lv.StoragePoolCreate(p, golibvirt.StoragePoolCreateWithBuild); err != nil {
				return p, fmt.Errorf("starting storage pool %s: %w", name, err)
			}
		}
		return p, nil
	}
	if !isCode(err, golibvirt.ErrNoStoragePool) {
		return p, fmt.Errorf("storage pool %s: %w", name, err)
	}
	px, err := (&libvirtxml.StoragePool{
		Type:   "dir",
		Name:   name,
		Target: &libvirtxml.StoragePoolTarget{Path: dir},
	}).Marshal()
	if err != nil {
		return p, err
	}
	p, err = c.lv.StoragePoolCreateXML(px, golibvirt.StoragePoolCreateWithBuild)
	if err != nil {
		// Another ukw may have created it meanwhile.
		if p2, err2 := c.lv.StoragePoolLookupByName(name); err2 == nil {
			return p2, nil
		}
		return p, fmt.Errorf("creating storage pool %s at %s: %w", name, dir, err)
	}
	return p, nil
}

// deleteVolume removes an uploaded image; a volume already gone is fine.
func (c *Conn) deleteVolume(pool, name string) error {
	if pool == "" || name == "" {
		return nil
	}
	p, err := c.lv.StoragePoolLookupByName(pool)
	if err != nil {
		return nil
	}
	v, err := c.lv.StorageVolLookupByName(p, name)
	if err != nil {
		return nil
	}
	return c.lv.StorageVolDelete(v, golibvirt.StorageVolDeleteNormal)
}

// isCode reports whether err is a libvirt error with the given number.
func isCode(err error, code golibvirt.ErrorNumber) bool {
	var lerr golibvirt.Error
	return errors.As(err, &lerr) && lerr.Code == uint32(code)
}
