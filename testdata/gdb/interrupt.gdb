# The test sends SIGINT to gdb while spin() runs.
continue
bt 2
print release
set var release = 1
continue
