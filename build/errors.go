package build

import (
	"fmt"
	"sort"
	"strings"
)

// Error is a problem found in a manifest or while resolving layers. File
// and Line locate it; Hint suggests a fix.
type Error struct {
	File string
	Line int
	Msg  string
	Hint string
}

func (e *Error) Error() string {
	s := e.Msg
	if e.File != "" {
		if e.Line > 0 {
			s = fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
		} else {
			s = fmt.Sprintf("%s: %s", e.File, e.Msg)
		}
	}
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// ErrorList is several Errors, reported together.
type ErrorList []*Error

func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap lets errors.As find the individual Errors.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// err returns nil for an empty list, the single Error, or the sorted list.
func (l ErrorList) err() error {
	switch len(l) {
	case 0:
		return nil
	case 1:
		return l[0]
	}
	sort.SliceStable(l, func(i, j int) bool {
		if l[i].File != l[j].File {
			return l[i].File < l[j].File
		}
		return l[i].Line < l[j].Line
	})
	return l
}
