# First of two sessions on one VM: stop in add, then detach with release
# still 0, so the guest spins until the second session.
break add
continue
bt 1
detach
