# break on a function and on FILE:LINE, continue, bt, registers, memory,
# set var / print, finish; then run to the exit.
break add
break main.c:@compute-ret@
continue
bt
info registers rip
info registers
x/8gx $rsp
print a
print b
finish
clear add
continue
print total
set var scale = 5
print scale
print total * scale
set var release = 1
continue
