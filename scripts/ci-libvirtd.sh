#!/bin/sh
# Starts virtlogd and libvirtd by hand where no systemd runs (CI, containers)
# and waits until qemu:///system answers. Idempotent: daemons already running
# are left alone. Needs root and the Debian package libvirt-daemon-system.
#
# It also gives /dev/kvm the owner and mode udev's kvm rule would
# (root:kvm 0660): libvirt runs QEMU as libvirt-qemu (group kvm), which
# cannot open a root-only /dev/kvm. See docs/libvirt.md.
set -eu

running() { # pidfile: a live process, not a zombie awaiting its reaper
	[ -f "$1" ] || return 1
	state=$(ps -o stat= -p "$(cat "$1")" 2>/dev/null) || return 1
	case "$state" in Z*) return 1 ;; esac
}

if [ -c /dev/kvm ] && getent group kvm >/dev/null; then
	chgrp kvm /dev/kvm
	chmod 0660 /dev/kvm
fi

if ! running /run/virtlogd.pid; then
	echo "ci-libvirtd: starting virtlogd"
	virtlogd -d
fi
if ! running /run/libvirtd.pid; then
	echo "ci-libvirtd: starting libvirtd"
	libvirtd -d
fi

i=0
until virsh -q -c qemu:///system version >/dev/null 2>&1; do
	i=$((i + 1))
	if [ "$i" -ge 100 ]; then
		echo "ci-libvirtd: libvirtd did not answer on qemu:///system within 30 s" >&2
		exit 1
	fi
	sleep 0.3
done
echo "ci-libvirtd: libvirtd is up ($(virsh -q -c qemu:///system version | sed -n 's/^Running hypervisor: //p'))"
