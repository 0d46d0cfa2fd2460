package symbols

import (
	"cmp"
	"slices"
	"sort"
)

// Address-to-function answers: each unit's nested function (and block)
// ranges flattened into disjoint segments, so that a lookup is one binary
// search.

// funcAt returns the index of the function with the smallest range
// containing addr (binutils lookup_address_in_function_table; ties go to
// the later DIE), or -1.
func (f *File) funcAt(u *unit, addr uint64) int {
	f.functions(u)
	seg := u.segs
	i := sort.Search(len(seg), func(i int) bool { return seg[i].lo > addr }) - 1
	if i < 0 {
		return -1
	}
	return int(seg[i].fi)
}

// funcSeg is funcAt with the index of its segment (-1 before the
// first) and the address range [lo, hi) the answer holds for.
func (f *File) funcSeg(u *unit, addr uint64) (fi, si int, lo, hi uint64) {
	f.functions(u)
	seg := u.segs
	i := sort.Search(len(seg), func(i int) bool { return seg[i].lo > addr }) - 1
	hi = ^uint64(0)
	if i+1 < len(seg) {
		hi = seg[i+1].lo
	}
	if i < 0 {
		if len(seg) > 0 {
			hi = seg[0].lo
		}
		return -1, -1, 0, hi
	}
	return int(seg[i].fi), i, seg[i].lo, hi
}

// segment: from lo up to the next segment's lo, funcAt answers fi.
type segment struct {
	lo uint64
	fi int32
}

// buildSegments flattens the unit's (nested) function ranges into
// disjoint segments labelled with funcAt's answer, so a lookup is one
// binary search.
func (u *unit) buildSegments() {
	items := make([]segItem, 0, len(u.byLow))
	for _, i := range u.byLow {
		items = append(items, segItem{u.funcs[i].ranges, i})
	}
	u.segs = flatten(items)
}

// segItem is one thing with address ranges; a larger id is the later
// DIE, which wins among equal ranges (binutils and gdb take the inner).
type segItem struct {
	ranges [][2]uint64
	id     int
}

// flatten turns nested ranges into disjoint segments labelled with the
// item whose range is the smallest containing them: a sweep over the
// range boundaries with the active ranges in a heap ordered by length,
// then by id.
func flatten(items []segItem) []segment {
	type rng struct {
		lo, hi uint64
		fi     int
	}
	n := 0
	for _, it := range items {
		n += len(it.ranges)
	}
	if n == 0 {
		return nil
	}
	rs := make([]rng, 0, n)
	bounds := make([]uint64, 0, 2*n)
	for _, it := range items {
		for _, x := range it.ranges {
			rs = append(rs, rng{x[0], x[1], it.id})
			bounds = append(bounds, x[0], x[1])
		}
	}
	slices.SortFunc(rs, func(a, b rng) int { return cmp.Compare(a.lo, b.lo) })
	slices.Sort(bounds)
	better := func(a, b rng) bool { // a is a better answer than b
		la, lb := a.hi-a.lo, b.hi-b.lo
		return la < lb || la == lb && a.fi > b.fi
	}
	var heap []rng
	push := func(x rng) {
		heap = append(heap, x)
		for i := len(heap) - 1; i > 0; {
			p := (i - 1) / 2
			if !better(heap[i], heap[p]) {
				break
			}
			heap[i], heap[p] = heap[p], heap[i]
			i = p
		}
	}
	pop := func() {
		n := len(heap) - 1
		heap[0] = heap[n]
		heap = heap[:n]
		for i := 0; ; {
			l, r, m := 2*i+1, 2*i+2, i
			if l < n && better(heap[l], heap[m]) {
				m = l
			}
			if r < n && better(heap[r], heap[m]) {
				m = r
			}
			if m == i {
				break
			}
			heap[i], heap[m] = heap[m], heap[i]
			i = m
		}
	}
	segs := make([]segment, 0, len(bounds))
	next := 0
	for k, b := range bounds {
		if k > 0 && b == bounds[k-1] {
			continue
		}
		for next < len(rs) && rs[next].lo <= b {
			push(rs[next])
			next++
		}
		for len(heap) > 0 && heap[0].hi <= b {
			pop()
		}
		fi := int32(-1)
		if len(heap) > 0 {
			fi = int32(heap[0].fi)
		}
		if n := len(segs); n > 0 && segs[n-1].fi == fi {
			continue
		}
		segs = append(segs, segment{b, fi})
	}
	return segs
}

// blockAt identifies gdb's innermost block at addr (function, inlined
// subroutine or lexical block) by its DIE offset; ok is false outside
// every block.
func (f *File) blockAt(u *unit, addr uint64) (uint64, bool) {
	f.functions(u)
	u.blockOnce.Do(func() {
		var items []segItem
		for _, fn := range u.funcs {
			if len(fn.ranges) > 0 {
				items = append(items, segItem{fn.ranges, int(fn.off)})
			}
		}
		for _, b := range u.lexBlocks {
			items = append(items, segItem{b.ranges, int(b.off)})
		}
		u.blockSegs = flatten(items)
	})
	seg := u.blockSegs
	i := sort.Search(len(seg), func(i int) bool { return seg[i].lo > addr }) - 1
	if i < 0 || seg[i].fi < 0 {
		return 0, false
	}
	return uint64(seg[i].fi), true
}
