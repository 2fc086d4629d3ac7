package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
)

// Setting has a string id chosen by the caller.
type Setting struct {
	ent.Schema
}

// Fields of Setting.
func (Setting) Fields() []ent.Field {
	return []ent.Field{
		field.String("id"),
		field.String("value"),
	}
}
