package hydraent_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hydracache/hydracache/plugin/ent/entschema"
	"github.com/hydracache/hydracache/plugin/ent/entschema/user"
)

// TestConcurrentReadersWriters runs writers (Ent's own transactions, user
// transactions that commit, user transactions that roll back, bulk
// updates) against readers of every kind. Each user's age only grows
// through commits; a rolled-back write sets a negative age. A reader notes
// the last committed age before it reads, and must never see less, nor a
// negative age.
func TestConcurrentReadersWriters(t *testing.T) {
	for _, d := range dbs {
		t.Run(d.name, func(t *testing.T) { concurrentReadersWriters(t, newEnv(t, d.open, nil)) })
	}
}

func concurrentReadersWriters(t *testing.T, e *env) {
	ctx := context.Background()
	const users, writes, readers = 4, 30, 4
	ids := make([]int, users)
	for i := range ids {
		ids[i] = e.raw.User.Create().SetName(fmt.Sprintf("u%d", i)).SetAge(0).SaveX(ctx).ID
	}
	committed := make([]atomic.Int64, users)
	var done atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, users+readers)

	for w := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := ids[w]
			for v := 1; v <= writes; v++ {
				var err error
				switch v % 4 {
				case 0:
					err = e.cached.User.UpdateOneID(id).SetAge(v).Exec(ctx)
				case 1:
					err = inTx(ctx, e.cached, true, func(tx *entschema.Tx) error {
						return tx.User.UpdateOneID(id).SetAge(v).Exec(ctx)
					})
				case 2:
					err = inTx(ctx, e.cached, false, func(tx *entschema.Tx) error {
						return tx.User.UpdateOneID(id).SetAge(-v).Exec(ctx)
					})
					if err == nil {
						continue // rolled back: the committed age stays
					}
				case 3:
					err = e.cached.User.Update().Where(user.Name(fmt.Sprintf("u%d", w))).SetAge(v).Exec(ctx)
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d, write %d: %w", w, v, err)
					return
				}
				committed[w].Store(int64(v))
			}
		}()
	}

	var rwg sync.WaitGroup
	var reads atomic.Int64
	for r := range readers {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			for i := 0; !done.Load() || i < 20; i++ {
				w := (i + r) % users
				floor := committed[w].Load()
				var age int
				switch i % 4 {
				case 0:
					u, err := e.cached.User.Get(ctx, ids[w])
					if err != nil {
						errs <- err
						return
					}
					age = u.Age
				case 1:
					us, err := e.cached.User.Query().Where(user.IDIn(ids...)).All(ctx)
					if err != nil {
						errs <- err
						return
					}
					for _, u := range us {
						if u.ID == ids[w] {
							age = u.Age
						}
					}
				case 2:
					us, err := e.cached.User.Query().Order(user.ByID()).All(ctx)
					if err != nil {
						errs <- err
						return
					}
					age = us[w].Age
				case 3:
					a, err := e.cached.User.Query().Where(user.ID(ids[w])).Select(user.FieldAge).Int(ctx)
					if err != nil {
						errs <- err
						return
					}
					age = a
				}
				reads.Add(1)
				if age < 0 || int64(age) < floor {
					errs <- fmt.Errorf("reader %d: user %d has age %d after age %d committed (read kind %d)", r, w, age, floor, i%4)
					return
				}
			}
		}()
	}
	wg.Wait()
	done.Store(true)
	rwg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := e.cache.Stats()
	t.Logf("%d reads; cache %+v", reads.Load(), st)
	if st.Hits == 0 {
		t.Errorf("no cache hits: the test did not exercise the cache")
	}
}

func inTx(ctx context.Context, c *entschema.Client, commit bool, f func(*entschema.Tx) error) error {
	tx, err := c.Tx(ctx)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if commit {
		return tx.Commit()
	}
	return tx.Rollback()
}
