package symbols

import (
	"debug/dwarf"
	"fmt"
)

// unitScope indexes the file-scope names of one compile unit: what an
// expression can name besides a frame's locals (see Eval).
type unitScope struct {
	vars  map[string]dwarf.Offset // variables with a location or constant value
	funcs map[string]dwarf.Offset // subprograms with code
	types map[string]dwarf.Offset // "struct x", "union x", "enum x", typedef and base type names
	enums map[string]enumConst
}

type enumConst struct {
	typ dwarf.Offset // the DW_TAG_enumeration_type
	val int64
}

// scope returns u's file-scope index, reading the unit's top-level DIEs
// once.
func (f *File) scope(u *unit) *unitScope {
	u.scopeOnce.Do(func() {
		s := &unitScope{vars: map[string]dwarf.Offset{}, funcs: map[string]dwarf.Offset{},
			types: map[string]dwarf.Offset{}, enums: map[string]enumConst{}}
		defer func() {
			recover() // a malformed unit keeps what was read before the fault
			u.scope = s
		}()
		r := f.dwarfData().Reader()
		r.Seek(u.off)
		cu, err := r.Next()
		if err != nil || cu == nil || !cu.Children {
			return
		}
		for {
			e, err := r.Next()
			if err != nil || e == nil || e.Tag == 0 {
				return
			}
			name, _ := e.Val(dwarf.AttrName).(string)
			decl, _ := e.Val(dwarf.AttrDeclaration).(bool)
			switch e.Tag {
			case dwarf.TagVariable:
				if name != "" && !decl && (e.Val(dwarf.AttrLocation) != nil || e.Val(dwarf.AttrConstValue) != nil) {
					s.vars[name] = e.Offset
				}
				if spec, ok := e.Val(dwarf.AttrSpecification).(dwarf.Offset); ok && name == "" {
					// A definition completing an earlier declaration.
					sr := f.dwarfData().Reader()
					sr.Seek(spec)
					if d, err := sr.Next(); err == nil && d != nil {
						if n, ok := d.Val(dwarf.AttrName).(string); ok {
							s.vars[n] = e.Offset
						}
					}
				}
			case dwarf.TagSubprogram:
				if name != "" && e.Val(dwarf.AttrLowpc) != nil {
					s.funcs[name] = e.Offset
				}
			case dwarf.TagStructType, dwarf.TagUnionType, dwarf.TagEnumerationType:
				key := map[dwarf.Tag]string{dwarf.TagStructType: "struct ", dwarf.TagUnionType: "union ", dwarf.TagEnumerationType: "enum "}[e.Tag] + name
				if _, have := s.types[key]; name != "" && (!have || !decl) {
					s.types[key] = e.Offset
				}
				if e.Tag == dwarf.TagEnumerationType && e.Children {
					for {
						c, err := r.Next()
						if err != nil || c == nil || c.Tag == 0 {
							break
						}
						if c.Tag == dwarf.TagEnumerator {
							if n, ok := c.Val(dwarf.AttrName).(string); ok {
								s.enums[n] = enumConst{typ: e.Offset, val: constInt(c.Val(dwarf.AttrConstValue))}
							}
						}
						if c.Children {
							r.SkipChildren()
						}
					}
					continue
				}
			case dwarf.TagTypedef, dwarf.TagBaseType:
				if name != "" {
					s.types[name] = e.Offset
				}
			}
			if e.Children {
				r.SkipChildren()
			}
		}
	})
	return u.scope
}

func constInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case uint64:
		return int64(x)
	}
	return 0
}

// lookupScopes calls fn with the unit scopes to search for a name: the
// current unit first, then every unit in order.
func (f *File) lookupScopes(cur *unit, fn func(*unit, *unitScope) bool) {
	if !f.hasDW {
		return
	}
	if cur != nil && fn(cur, f.scope(cur)) {
		return
	}
	for _, u := range f.units {
		if u != cur && fn(u, f.scope(u)) {
			return
		}
	}
}

// entryAt reads the DIE at off.
func (f *File) entryAt(off dwarf.Offset) (*dwarf.Entry, error) {
	r := f.dwarfData().Reader()
	r.Seek(off)
	e, err := r.Next()
	if err == nil && e == nil {
		err = fmt.Errorf("no DIE at %#x", off)
	}
	return e, err
}

// funcType builds the C type of a subprogram DIE (debug/dwarf types only
// DW_TAG_subroutine_type).
func (f *File) funcType(off dwarf.Offset) (*dwarf.FuncType, error) {
	r := f.dwarfData().Reader()
	r.Seek(off)
	e, err := r.Next()
	if err != nil || e == nil {
		return nil, fmt.Errorf("no subprogram at %#x", off)
	}
	if ao, ok := e.Val(dwarf.AttrSpecification).(dwarf.Offset); ok && e.Val(dwarf.AttrType) == nil {
		return f.funcType(ao)
	}
	ft := &dwarf.FuncType{}
	ft.ByteSize = -1
	if t, ok := e.Val(dwarf.AttrType).(dwarf.Offset); ok {
		if ft.ReturnType, err = f.dwarfData().Type(t); err != nil {
			return nil, err
		}
	}
	if !e.Children {
		return ft, nil
	}
	for {
		c, err := r.Next()
		if err != nil || c == nil || c.Tag == 0 {
			break
		}
		switch c.Tag {
		case dwarf.TagFormalParameter:
			if t, ok := c.Val(dwarf.AttrType).(dwarf.Offset); ok {
				if pt, err := f.dwarfData().Type(t); err == nil {
					ft.ParamType = append(ft.ParamType, pt)
				}
			}
		case dwarf.TagUnspecifiedParameters:
			ft.ParamType = append(ft.ParamType, &dwarf.DotDotDotType{})
		}
		if c.Children {
			r.SkipChildren()
		}
	}
	return ft, nil
}
