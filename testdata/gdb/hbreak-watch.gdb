# A hardware breakpoint, then a watchpoint on a global: a Z2 where the
# backend takes it (debug registers, QEMU, the native VMM's read-only
# memslots on kvm-pvm); the test prepends `set can-use-hw-watchpoints 0`
# where it does not, and gdb single-steps.
hbreak bump
continue
bt 2
watch watched
continue
print watched
delete
set var release = 1
continue
