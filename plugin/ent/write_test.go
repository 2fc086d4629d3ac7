package hydraent_test

import (
	"context"
	"database/sql"
	"sort"
	"testing"

	"github.com/hydracache/hydracache/plugin/ent/entschema"
	"github.com/hydracache/hydracache/plugin/ent/entschema/group"
	"github.com/hydracache/hydracache/plugin/ent/entschema/pet"
	"github.com/hydracache/hydracache/plugin/ent/entschema/setting"
	"github.com/hydracache/hydracache/plugin/ent/entschema/user"
)

// snapshot is a set of reads that a write should change: entity reads
// (Get, IDIn) and collection reads (lists, counts, edges, eager loads).
func snapshot(ctx context.Context, t *testing.T, c *entschema.Client, ids []int) any {
	t.Helper()
	type userView struct {
		U      *entschema.User
		Pets   []int64
		Groups []string
	}
	var out struct {
		Users     []userView
		Missing   bool
		ByIDIn    []*entschema.User
		Pets      []*entschema.Pet
		PetByID   []*entschema.Pet
		Count     int
		Groups    []*entschema.Group
		GroupByID []*entschema.Group
		Eager     []*entschema.User
		Settings  []*entschema.Setting
		Theme     *entschema.Setting
	}
	for _, id := range ids {
		u, err := c.User.Get(ctx, id)
		if entschema.IsNotFound(err) {
			out.Missing = true
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		v := userView{U: u}
		for _, p := range c.User.Query().Where(user.ID(id)).QueryPets().Order(pet.ByID()).AllX(ctx) {
			v.Pets = append(v.Pets, p.ID)
		}
		for _, g := range c.User.Query().Where(user.ID(id)).QueryGroups().Order(group.ByName()).AllX(ctx) {
			v.Groups = append(v.Groups, g.Name)
		}
		out.Users = append(out.Users, v)
	}
	out.ByIDIn = c.User.Query().Where(user.IDIn(ids...)).AllX(ctx)
	sort.Slice(out.ByIDIn, func(i, j int) bool { return out.ByIDIn[i].ID < out.ByIDIn[j].ID })
	out.Pets = c.Pet.Query().Order(pet.ByID()).AllX(ctx)
	for _, id := range []int64{1, 2, 3, 4, 5, 6} {
		if p, err := c.Pet.Get(ctx, id); err == nil {
			out.PetByID = append(out.PetByID, p)
		}
	}
	out.Count = c.User.Query().CountX(ctx)
	out.Groups = c.Group.Query().Order(group.ByName()).WithUsers(func(q *entschema.UserQuery) { q.Order(user.ByID()) }).AllX(ctx)
	out.Eager = c.User.Query().Order(user.ByID()).
		WithPets(func(q *entschema.PetQuery) { q.Order(pet.ByID()) }).
		WithGroups(func(q *entschema.GroupQuery) { q.Order(group.ByName()) }).AllX(ctx)
	for _, g := range out.Groups {
		out.GroupByID = append(out.GroupByID, c.Group.GetX(ctx, g.ID))
	}
	out.Settings = c.Setting.Query().Where(setting.IDIn("theme", "lang", "tz")).Order(setting.ByID()).AllX(ctx)
	out.Theme, _ = c.Setting.Get(ctx, "theme")
	return out
}

type fixture struct {
	ada, bob, cy, next int
	admins, all        *entschema.Group
}

func ids(ctx context.Context, c *entschema.Client) fixture {
	var f fixture
	f.ada = c.User.Query().Where(user.Name("ada")).OnlyIDX(ctx)
	f.bob = c.User.Query().Where(user.Name("bob")).OnlyIDX(ctx)
	f.cy = c.User.Query().Where(user.Name("cy")).OnlyIDX(ctx)
	f.next = f.cy + 1
	f.admins = c.Group.Query().Where(group.Name("admins")).OnlyX(ctx)
	f.all = c.Group.Query().Where(group.Name("all")).OnlyX(ctx)
	return f
}

// TestReadWriteRead warms the cache with many reads, runs one write kind
// through the cached client, and reads again: every read must equal the
// database's answer.
func TestReadWriteRead(t *testing.T) {
	writes := []struct {
		name  string
		write func(ctx context.Context, c *entschema.Client, f fixture) error
	}{
		{"Create", func(ctx context.Context, c *entschema.Client, f fixture) error {
			return c.User.Create().SetName("dee").SetAge(9).Exec(ctx)
		}},
		{"CreateBulk", func(ctx context.Context, c *entschema.Client, f fixture) error {
			if err := c.Setting.CreateBulk(c.Setting.Create().SetID("lang").SetValue("en"), c.Setting.Create().SetID("tz").SetValue("UTC")).Exec(ctx); err != nil {
				return err
			}
			return c.Pet.CreateBulk(c.Pet.Create().SetID(5).SetName("new").SetOwnerID(f.bob), c.Pet.Create().SetID(6).SetName("other")).Exec(ctx)
		}},
		{"CreateWithEdges", func(ctx context.Context, c *entschema.Client, f fixture) error {
			return c.User.Create().SetName("dee").SetAge(9).AddPetIDs(4).AddGroupIDs(f.admins.ID).Exec(ctx)
		}},
		{"Upsert", func(ctx context.Context, c *entschema.Client, f fixture) error {
			return c.Setting.Create().SetID("theme").SetValue("light").OnConflictColumns(setting.FieldID).UpdateNewValues().Exec(ctx)
		}},
		{"UpsertBulk", func(ctx context.Context, c *entschema.Client, f fixture) error {
			return c.Setting.CreateBulk(c.Setting.Create().SetID("theme").SetValue("blue"), c.Setting.Create().SetID("lang").SetValue("fr")).
				OnConflictColumns(setting.FieldID).UpdateNewValues().Exec(ctx)
		}},
		{"UpsertOtherKey", func(ctx context.Context, c *entschema.Client, f fixture) error {
			// The conflict is on name; the row updated is an existing group
			// whose key the statement never names: only RETURNING tells.
			return c.Group.Create().SetName("admins").OnConflictColumns(group.FieldName).
				Update(func(u *entschema.GroupUpsert) { u.SetName("admins-renamed") }).Exec(ctx)
		}},
		{"UpdateOne", func(ctx context.Context, c *entschema.Client, f fixture) error {
			return c.User.UpdateOneID(f.ada).SetName("ada2").SetAge(40).ClearEmail().Exec(ctx)
		}},
		{"Update", func(ctx context.Context, c *entschema.Client, f fixture) error {
			return c.User.Update().Where(user.AgeGT(30)).AddAge(1).SetLabels([]string{"x"}).Exec(ctx)
		}},
		{"DeleteOne", func(ctx context.Context, c *entschema.Client, f fixture) error {
			return c.Pet.DeleteOneID(4).Exec(ctx)
		}},
		{"Delete", func(ctx context.Context, c *entschema.Client, f fixture) error {
			_, err := c.User.Delete().Where(user.Name("cy")).Exec(ctx)
			return err
		}},
		{"DeleteCascades", func(ctx context.Context, c *entschema.Client, f fixture) error {
			// Pets' owner_id is SET NULL, group_users rows CASCADE: rows of
			// tables the statement does not name.
			return c.User.DeleteOneID(f.ada).Exec(ctx)
		}},
		{"AddPets", func(ctx context.Context, c *entschema.Client, f fixture) error {
			return c.User.UpdateOneID(f.cy).AddPetIDs(4).Exec(ctx)
		}},
		{"RemovePets", func(ctx context.Context, c *entschema.Client, f fixture) error {
			return c.User.UpdateOneID(f.ada).RemovePetIDs(1).Exec(ctx)
		}},
		{"ClearPets", func(ctx context.Context, c *entschema.Client, f fixture) error {
			return c.User.UpdateOneID(f.ada).ClearPets().Exec(ctx)
		}},
		{"SetOwner", func(ctx context.Context, c *entschema.Client, f fixture) error {
			return c.Pet.UpdateOneID(3).SetOwnerID(f.cy).Exec(ctx)
		}},
		{"ClearOwnerBulk", func(ctx context.Context, c *entschema.Client, f fixture) error {
			return c.Pet.Update().Where(pet.NameIn("rex", "kit")).ClearOwner().Exec(ctx)
		}},
		{"AddGroups", func(ctx context.Context, c *entschema.Client, f fixture) error {
			return c.User.UpdateOneID(f.cy).AddGroupIDs(f.admins.ID).Exec(ctx)
		}},
		{"RemoveGroups", func(ctx context.Context, c *entschema.Client, f fixture) error {
			return c.User.UpdateOneID(f.bob).RemoveGroupIDs(f.admins.ID).Exec(ctx)
		}},
		{"ClearGroups", func(ctx context.Context, c *entschema.Client, f fixture) error {
			return c.User.UpdateOneID(f.ada).ClearGroups().Exec(ctx)
		}},
		{"GroupAddUsers", func(ctx context.Context, c *entschema.Client, f fixture) error {
			return c.Group.UpdateOne(f.admins).AddUserIDs(f.cy).SetName("admins2").Exec(ctx)
		}},
		{"DeleteGroup", func(ctx context.Context, c *entschema.Client, f fixture) error {
			return c.Group.DeleteOne(f.all).Exec(ctx)
		}},
		{"RawExec", func(ctx context.Context, c *entschema.Client, f fixture) error {
			_, err := c.ExecContext(ctx, `UPDATE users SET name = 'raw' WHERE age > 30`)
			return err
		}},
		{"RawExecMixedCase", func(ctx context.Context, c *entschema.Client, f fixture) error {
			// PostgreSQL folds the unquoted name to users; SQLite ignores case.
			_, err := c.ExecContext(ctx, `UPDATE Users SET age = 1`)
			return err
		}},
		{"RawQueryReturning", func(ctx context.Context, c *entschema.Client, f fixture) error {
			rows, err := c.QueryContext(ctx, `DELETE FROM pets WHERE name = 'kit' RETURNING id`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
			}
			return rows.Err()
		}},
		{"UserTx", func(ctx context.Context, c *entschema.Client, f fixture) error {
			tx, err := c.Tx(ctx)
			if err != nil {
				return err
			}
			tx.User.UpdateOneID(f.bob).SetName("bobby").ExecX(ctx)
			tx.Pet.UpdateOneID(1).SetOwnerID(f.bob).ExecX(ctx)
			tx.Setting.DeleteOneID("theme").ExecX(ctx)
			return tx.Commit()
		}},
		{"BeginTx", func(ctx context.Context, c *entschema.Client, f fixture) error {
			tx, err := c.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})
			if err != nil {
				return err
			}
			tx.User.Update().Where(user.NameIn("bob", "cy")).SetActive(true).SetScore(9).ExecX(ctx)
			return tx.Commit()
		}},
	}
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for _, w := range writes {
			t.Run(w.name, func(t *testing.T) {
				e := newEnvLike(t, e)
				e.seed(t)
				f := ids(ctx, e.raw)
				all := []int{f.ada, f.bob, f.cy, f.next}
				snapshot(ctx, t, e.cached, all)
				e.count.take()
				before := snapshot(ctx, t, e.cached, all)
				if s := e.count.take(); len(s) != 0 {
					t.Fatalf("warm snapshot ran %d statements, e.g. %q", len(s), s[0])
				}
				if err := w.write(ctx, e.cached, f); err != nil {
					t.Fatalf("write: %v", err)
				}
				want := snapshot(ctx, t, e.raw, all)
				got := snapshot(ctx, t, e.cached, all)
				if equal(before, want) == nil {
					t.Fatalf("the write changed nothing the reads see")
				}
				if err := equal(want, got); err != nil {
					t.Fatalf("read after write is stale: %v", err)
				}
			})
		}
	})
}

// newEnvLike gives a subtest a fresh database of the same kind as e.
func newEnvLike(t *testing.T, e *env) *env {
	for _, d := range dbs {
		if (d.name == "postgres") == (e.name == "postgres") {
			return newEnv(t, d.open, nil)
		}
	}
	t.Fatal("no database")
	return nil
}

// TestTransactions: a write in an open transaction is not visible to
// cached reads before the commit, is after it, and a rollback publishes
// nothing.
func TestTransactions(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		e.seed(t)
		ctx := context.Background()
		id := firstUserID(ctx, e.raw)
		name := func() string { return e.cached.User.GetX(ctx, id).Name }
		name()

		tx, err := e.cached.Tx(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tx.User.UpdateOneID(id).SetName("in-tx").ExecX(ctx)
		if e.name == "postgres" { // SQLite's single writer would block this read
			if n := name(); n != "ada" {
				t.Fatalf("uncommitted name %q seen outside the transaction", n)
			}
		}
		bumps := e.cache.Stats().Bumps
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		if b := e.cache.Stats().Bumps; b != bumps {
			t.Fatalf("rollback bumped %d tags", b-bumps)
		}
		e.count.take()
		if n := name(); n != "ada" {
			t.Fatalf("after rollback: %q", n)
		}
		if s := e.count.take(); len(s) != 0 {
			t.Fatalf("the rollback invalidated the cached row: %q", s)
		}

		tx, err = e.cached.Tx(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tx.User.UpdateOneID(id).SetName("committed").ExecX(ctx)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if n := name(); n != "committed" {
			t.Fatalf("after commit: %q", n)
		}
	})
}
