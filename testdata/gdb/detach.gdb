# detach: the guest keeps running to its exit (the test checks status 37).
break bump
continue
set var release = 1
detach
