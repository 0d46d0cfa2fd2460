package tui

import "ukw/session"

// The real session is a Backend: `ukw dev` passes it to Run.
var _ Backend = (*session.Session)(nil)
