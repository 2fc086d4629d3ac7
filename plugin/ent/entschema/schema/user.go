// Package schema is the Ent schema of hydraent's tests and example: users
// with pets (one-to-many) and groups (many-to-many), plus a string-keyed
// setting, so every id type the plugin supports is exercised.
package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// User has an int id, fields of every common type, pets and groups.
type User struct {
	ent.Schema
}

// Fields of User.
func (User) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Int("age"),
		field.String("email").Optional().Nillable(),
		field.Float("score").Default(0),
		field.Bool("active").Default(true),
		field.Enum("role").Values("admin", "member").Default("member"),
		field.JSON("labels", []string{}).Optional(),
		field.Bytes("avatar").Optional(),
		field.Time("created_at").Default(time.Now),
	}
}

// Edges of User.
func (User) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("pets", Pet.Type),
		edge.From("groups", Group.Type).Ref("users"),
	}
}
