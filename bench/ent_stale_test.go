package bench

import (
	"context"
	"testing"
	"time"

	"ariga.io/entcache"
	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/hydracache/hydracache/core"
	hydraent "github.com/hydracache/hydracache/plugin/ent"
	"github.com/hydracache/hydracache/plugin/ent/entschema"
	"github.com/hydracache/hydracache/plugin/ent/entschema/migrate"
	"github.com/hydracache/hydracache/store"
	"github.com/hydracache/hydracache/testing/testenv"
)

// TestEntStaleAfterWrite shows the difference the benchmarks do not:
// after UpdateOneID(...).SetName(...) returns, ariga/entcache v0.1.0 keeps
// serving the old name (it has no invalidation, only a TTL), while
// hydraent serves the new one.
func TestEntStaleAfterWrite(t *testing.T) {
	db, _ := testenv.Postgres(t)
	ctx := context.Background()
	base := entsql.OpenDB(dialect.Postgres, db)
	if err := entschema.NewClient(entschema.Driver(base)).Schema.Create(ctx); err != nil {
		t.Fatal(err)
	}

	st, err := store.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	cache, err := core.New(st, core.WithNamespace(testenv.Name(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	hdrv, err := hydraent.NewDriver(base, cache, hydraent.WithSchema(migrate.Tables...), hydraent.WithEntities(entschema.User{}))
	if err != nil {
		t.Fatal(err)
	}
	hclient := entschema.NewClient(entschema.Driver(hdrv))
	hclient.Intercept(hdrv.Interceptor())
	clients := []struct {
		name   string
		client *entschema.Client
		stale  bool
	}{
		{"entcache", entschema.NewClient(entschema.Driver(entcache.NewDriver(base, entcache.TTL(time.Hour), entcache.Levels(entcache.NewLRU(0))))), true},
		{"hydraent", hclient, false},
	}
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			u := c.client.User.Create().SetName("old").SetAge(1).SaveX(ctx)
			c.client.User.GetX(ctx, u.ID) // fill
			c.client.User.GetX(ctx, u.ID) // hit
			c.client.User.UpdateOneID(u.ID).SetName("new").ExecX(ctx)
			got := c.client.User.GetX(ctx, u.ID).Name
			t.Logf("%s after the update returned: %q", c.name, got)
			if stale := got == "old"; stale != c.stale {
				t.Fatalf("%s read %q after the update (stale %v, expected stale %v)", c.name, got, stale, c.stale)
			}
		})
	}
}
