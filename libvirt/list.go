package libvirt

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
)

// List returns the running domains that ukw booted or that have a GDB stub
// on their QEMU command line (all running domains when all is set), sorted
// by name.
func (c *Conn) List(all bool) ([]DomainInfo, error) {
	doms, _, err := c.lv.ConnectListAllDomains(1, golibvirt.ConnectListDomainsActive)
	if err != nil {
		return nil, fmt.Errorf("libvirt list domains: %w", err)
	}
	var out []DomainInfo
	for _, d := range doms {
		info, err := c.describe(d)
		if err != nil {
			if golibvirt.IsNotFound(err) {
				continue // it ended while we looked
			}
			return nil, err
		}
		if all || info.Ukw || info.GDB != "" {
			out = append(out, info)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Lookup describes the domain called name.
func (c *Conn) Lookup(name string) (DomainInfo, error) {
	d, err := c.lv.DomainLookupByName(name)
	if err != nil {
		return DomainInfo{}, fmt.Errorf("libvirt domain %q: %w", name, err)
	}
	return c.describe(d)
}

func (c *Conn) describe(d golibvirt.Domain) (DomainInfo, error) {
	x, err := c.lv.DomainGetXMLDesc(d, 0)
	if err != nil {
		return DomainInfo{}, err
	}
	info, err := parseDomain(x)
	if err != nil {
		return DomainInfo{}, fmt.Errorf("domain %s: %w", d.Name, err)
	}
	st, _, err := c.lv.DomainGetState(d, 0)
	if err != nil {
		return DomainInfo{}, err
	}
	info.State = stateName(golibvirt.DomainState(st))
	if info.Started.IsZero() && !c.remote {
		info.Started = localStartTime(d.Name)
	}
	if !info.Started.IsZero() {
		info.Uptime = time.Since(info.Started).Truncate(time.Millisecond)
	}
	return info, nil
}

// Stop destroys the domain called name and deletes the image ukw uploaded
// for it.
func (c *Conn) Stop(name string) error {
	info, err := c.Lookup(name)
	if err != nil {
		return err
	}
	d, err := c.lv.DomainLookupByName(name)
	if err != nil {
		return err
	}
	if err := c.lv.DomainDestroy(d); err != nil && !golibvirt.IsNotFound(err) {
		return fmt.Errorf("libvirt destroy %s: %w", name, err)
	}
	if err := c.deleteVolume(info.Pool, info.Volume); err != nil {
		return fmt.Errorf("deleting image %s of %s: %w", info.Volume, name, err)
	}
	return nil
}

func stateName(s golibvirt.DomainState) string {
	switch s {
	case golibvirt.DomainRunning:
		return "running"
	case golibvirt.DomainBlocked:
		return "blocked"
	case golibvirt.DomainPaused:
		return "paused"
	case golibvirt.DomainShutdown:
		return "shutting-down"
	case golibvirt.DomainShutoff:
		return "shutoff"
	case golibvirt.DomainCrashed:
		return "crashed"
	case golibvirt.DomainPmsuspended:
		return "pmsuspended"
	}
	return "unknown"
}

// localStartTime finds when a local domain's QEMU process started, from
// libvirt's pid file and /proc (proc(5): /proc/PID/stat field 22 is the
// start time in clock ticks after boot). Zero when unknown (not root, no
// such file).
func localStartTime(name string) time.Time {
	b, err := os.ReadFile(filepath.Join("/run/libvirt/qemu", name+".pid"))
	if err != nil {
		return time.Time{}
	}
	pid := strings.TrimSpace(string(b))
	stat, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return time.Time{}
	}
	// The command name (field 2) may hold spaces: fields start after ')'.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return time.Time{}
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return time.Time{}
	}
	ticks, err := strconv.ParseInt(f[19], 10, 64) // field 22
	if err != nil {
		return time.Time{}
	}
	boot := bootTime()
	if boot.IsZero() {
		return time.Time{}
	}
	const userHZ = 100 // sysconf(_SC_CLK_TCK) on Linux
	return boot.Add(time.Duration(ticks) * time.Second / userHZ)
}

// bootTime reads "btime" from /proc/stat (proc(5)).
func bootTime() time.Time {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				return time.Unix(n, 0)
			}
		}
	}
	return time.Time{}
}
