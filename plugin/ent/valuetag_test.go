package hydraent_test

import (
	"context"
	"slices"
	"testing"

	"github.com/hydracache/hydracache/plugin/ent/entschema/pet"
)

// TestEntValueTags: the Ent twin of GORM's TestValueTags on pets by owner
// (owner_id indexed): a write to one owner's pets leaves the other's
// cached lists as hits; an update by predicate invalidates every list.
func TestEntValueTags(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		e.seed(t)
		ctx := context.Background()
		if _, err := e.drv.ExecContext(ctx, "CREATE INDEX pets_owner ON pets (owner_id)"); err != nil {
			t.Fatal(err)
		}
		owners := e.raw.User.Query().IDsX(ctx)
		slices.Sort(owners)
		a, b := owners[0], owners[1] // ada: rex, tom; bob: kit
		list := func(owner int) (names []string, reloaded bool) {
			e.count.take()
			for _, p := range e.cached.Pet.Query().Where(pet.OwnerID(owner)).Order(pet.ByID()).AllX(ctx) {
				names = append(names, p.Name)
			}
			reloaded = len(e.count.take()) > 0
			var want []string
			for _, p := range e.raw.Pet.Query().Where(pet.OwnerID(owner)).Order(pet.ByID()).AllX(ctx) {
				want = append(want, p.Name)
			}
			if !slices.Equal(names, want) {
				t.Errorf("owner %d: pets %v, the database has %v", owner, names, want)
			}
			return names, reloaded
		}
		list(a)
		list(b)
		steps := []struct {
			name     string
			write    func() error
			reloaded []int
		}{
			{"create a pet of a", func() error { return e.cached.Pet.Create().SetID(10).SetName("new").SetOwnerID(a).Exec(ctx) }, []int{a}},
			{"rename b's pet by id", func() error { return e.cached.Pet.UpdateOneID(3).SetName("kat").Exec(ctx) }, []int{b}},
			{"delete a's pet by id", func() error { return e.cached.Pet.DeleteOneID(1).Exec(ctx) }, []int{a}},
			{"move pets by predicate", func() error {
				_, err := e.cached.Pet.Update().Where(pet.NameEQ("tom")).SetOwnerID(b).Save(ctx)
				return err
			}, []int{a, b}},
		}
		for _, s := range steps {
			if err := s.write(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			var got []int
			for _, o := range []int{a, b} {
				if _, r := list(o); r {
					got = append(got, o)
				}
			}
			if !slices.Equal(got, s.reloaded) {
				t.Errorf("%s: reloaded %v, want %v", s.name, got, s.reloaded)
			}
		}
	})
}
