#!/bin/sh
# Builds the gdb test guest into $1: guest.elf (ELF64 with DWARF, what gdb
# and ukw's native VMM load) and guest.img (its ELF32 copy for QEMU's
# multiboot loader). Tests run it; it needs gcc and binutils.
set -eu
out=${1:?usage: build.sh OUTDIR}
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
cflags="-ffreestanding -fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only -mno-sse -mno-mmx \
 -fno-stack-protector -fno-omit-frame-pointer -fcf-protection=none -fno-asynchronous-unwind-tables -O0 -g"
gcc -c $cflags "$src/boot.S" -o "$out/boot.o"
gcc -c $cflags "$src/main.c" -o "$out/main.o"
ld -n -z noexecstack --no-warn-rwx-segments -T "$src/link.ld" -o "$out/guest.elf" "$out/boot.o" "$out/main.o"
objcopy -O elf32-i386 --strip-debug "$out/guest.elf" "$out/guest.img"
