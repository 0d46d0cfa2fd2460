#!/bin/sh
# Build benchmark: cold, warm and one-file rebuilds of examples/hello with
# `ukw build`, side by side with a peer - the same sources compiled by a
# plain serial gcc/ld/objcopy loop (what a simple Makefile does, no cache) -
# and hello's loadable bytes (goal: at most 32 KiB).
set -eu
bin=$(realpath "${1:-bin/ukw}")
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$root/examples/hello" "$tmp/hello"
rm -rf "$tmp/hello/.ukw"
export XDG_CACHE_HOME="$tmp/cache"

ms() { date +%s%N | cut -c1-13; }
field() { sed -n "s/.*\"$1\": \\([0-9]*\\).*/\\1/p" "$tmp/out.json" | head -1; }
run() { # label, then ukw build args
	label=$1; shift
	t0=$(ms)
	"$bin" build --json "$@" "$tmp/hello" >"$tmp/out.json"
	t1=$(ms)
	printf '%-22s %6d ms  compiled %s, cached %s\n' "$label" $((t1 - t0)) "$(field compiled)" "$(field cached)"
}

echo "ukw build examples/hello ($(nproc) CPUs)"
run "cold (--clean)" --clean
run "warm (no change)"
echo "/* edit */" >>"$tmp/hello/main.c"
run "one file changed"
run "cold again (--clean)" --clean
load=$(field load_bytes)
img=$(field image_bytes)

# The peer: the same compile and link commands, serially, no cache.
cat=$(ls -d "$tmp"/cache/ukw/layers/*/ | head -1)
inc=$(gcc -print-file-name=include)
flags="-std=gnu11 -ffreestanding -fno-builtin -nostdlib -nostdinc -isystem $inc -fno-pic -fno-pie -fno-stack-protector -mno-red-zone -mgeneral-regs-only -mno-sse -mno-mmx -mno-80387 -mcmodel=small -fno-omit-frame-pointer -fno-asynchronous-unwind-tables -fno-common -g -gdwarf-5 -O2 -Wall"
incs="-I${cat}arch/x86_64/include -I${cat}plat/kvm/include -I${cat}lib/nolibc/include"
mkdir -p "$tmp/peer"
t0=$(ms)
i=0
for s in arch/x86_64/boot.S arch/x86_64/isr.S arch/x86_64/cpu.c plat/kvm/entry.c plat/kvm/bootinfo.c \
	plat/kvm/console.c plat/kvm/hypercall.c lib/nolibc/string.c lib/nolibc/printf.c lib/nolibc/stdlib.c \
	lib/alloc-bump/bump.c lib/panic/panic.c; do
	i=$((i + 1))
	gcc $flags $incs -D__ASSEMBLY__ -DUKW_APP_NAME='"hello"' -c "$cat$s" -o "$tmp/peer/$i.o"
done
gcc $flags $incs -DUKW_APP_NAME='"hello"' -c "$tmp/hello/main.c" -o "$tmp/peer/main.o"
ld -nostdlib -static -no-pie --build-id=none -z max-page-size=0x1000 -z noexecstack \
	-T "${cat}arch/x86_64/link.ld" -o "$tmp/peer/hello.elf" "$tmp"/peer/*.o
objcopy -O elf32-i386 --strip-all "$tmp/peer/hello.elf" "$tmp/peer/hello.img"
t1=$(ms)
printf '%-22s %6d ms  (peer: serial gcc/ld/objcopy, no cache)\n' "plain gcc loop" $((t1 - t0))

printf 'hello image: %s bytes, loadable %s bytes (goal <= 32768): %s\n' "$img" "$load" \
	"$([ "$load" -le 32768 ] && echo ok || echo OVER)"
