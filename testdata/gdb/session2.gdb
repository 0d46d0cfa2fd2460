# Second session: connecting stops the spinning guest.
bt 2
set var release = 1
continue
