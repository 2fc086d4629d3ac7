package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// Pet has an int64 id and belongs to at most one user through the owner_id
// foreign key.
type Pet struct {
	ent.Schema
}

// Fields of Pet.
func (Pet) Fields() []ent.Field {
	return []ent.Field{
		field.Int64("id"),
		field.String("name"),
		field.Int("owner_id").Optional().Nillable(),
	}
}

// Edges of Pet.
func (Pet) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("owner", User.Type).Ref("pets").Unique().Field("owner_id"),
	}
}
