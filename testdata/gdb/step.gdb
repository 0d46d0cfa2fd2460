# stepi, nexti (over a call), step (into functions), next, finish.
break main.c:@main-compute@
continue
stepi
x/i $pc
nexti
x/i $pc
step
step
bt 2
next
next
finish
step
step
step
bt 3
set var release = 1
finish
continue
