# A hardware breakpoint, then a watchpoint on a global (hardware where the
# backend has it; the test prepends `set can-use-hw-watchpoints 0` where it
# does not, and gdb single-steps).
hbreak bump
continue
bt 2
watch watched
continue
print watched
delete
set var release = 1
continue
