package hydraent_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"

	hydraent "github.com/hydracache/hydracache/plugin/ent"
	"github.com/hydracache/hydracache/plugin/ent/entschema/migrate"
)

// Schema types as an application's ent/schema package would declare
// them, opting in through annotations.
type annotatedUser struct{ ent.Schema }

func (annotatedUser) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "users"}, hydraent.Annotation{TTL: time.Hour}}
}

type Pet struct{ ent.Schema } // Ent's default table: pets

func (Pet) Annotations() []schema.Annotation {
	return []schema.Annotation{&hydraent.Annotation{SkipLists: true}}
}

type Setting struct{ ent.Schema } // no annotation: not cached

type Stranger struct{ ent.Schema } // a table the schema does not have

func (Stranger) Annotations() []schema.Annotation {
	return []schema.Annotation{hydraent.Annotation{}}
}

func TestSchemaAnnotations(t *testing.T) {
	e := newEnv(t, sqliteDB, []hydraent.Option{
		hydraent.WithSchema(migrate.Tables...),
		hydraent.WithSchemaTypes(annotatedUser{}, Pet{}, Setting{}),
	})
	e.seed(t)
	ctx := context.Background()
	id := firstUserID(ctx, e.raw)
	reads := func() int {
		e.count.take()
		e.cached.User.GetX(ctx, id)
		e.cached.User.Query().CountX(ctx)
		e.cached.Pet.GetX(ctx, 1)
		e.cached.Pet.Query().AllX(ctx)
		e.cached.Setting.GetX(ctx, "theme")
		return len(e.count.take())
	}
	reads()
	if n := reads(); n != 2 {
		t.Fatalf("warm reads ran %d statements, want 2 (the pet list and the setting)", n)
	}
	_, err := hydraent.NewDriver(e.drv.Unwrap(), e.cache, hydraent.WithSchema(migrate.Tables...), hydraent.WithSchemaTypes(Stranger{}))
	if !errors.Is(err, hydraent.ErrConfig) {
		t.Fatalf("unknown table: %v", err)
	}
}

// TestAnnotationPolicy: every field of the annotation reaches the policy.
func TestAnnotationPolicy(t *testing.T) {
	a := hydraent.Annotation{TTL: time.Minute, NegativeTTL: time.Second, SkipLists: true, Tags: []string{"x"}, EarlyRefresh: 1.5}
	p := a.Policy()
	if p.TTL != a.TTL || p.NegativeTTL != a.NegativeTTL || !p.SkipLists || len(p.Tags) != 1 || p.Tags[0] != "x" || p.EarlyRefresh != 1.5 {
		t.Fatalf("Policy() = %+v from %+v", p, a)
	}
}
