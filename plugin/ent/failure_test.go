package hydraent_test

import (
	"context"
	"errors"
	"testing"
	"time"

	lib "github.com/eko/gocache/lib/v4/store"
	"github.com/google/uuid"

	"github.com/hydracache/hydracache/plugin/ent/entschema/user"
)

// downStore is a store whose every operation fails.
type downStore struct{}

var errDown = errors.New("store down")

func (downStore) Get(context.Context, any) (any, error) { return nil, errDown }
func (downStore) GetWithTTL(context.Context, any) (any, time.Duration, error) {
	return nil, 0, errDown
}
func (downStore) Set(context.Context, any, any, ...lib.Option) error        { return errDown }
func (downStore) Delete(context.Context, any) error                         { return errDown }
func (downStore) Invalidate(context.Context, ...lib.InvalidateOption) error { return errDown }
func (downStore) Clear(context.Context) error                               { return errDown }
func (downStore) GetType() string                                           { return "down" }

// TestStoreDown: a store that fails every operation never fails a read or
// a write; every read goes to the database and returns its answer.
func TestStoreDown(t *testing.T) {
	e := newEnvStore(t, sqliteDB, nil, downStore{})
	e.seed(t)
	ctx := context.Background()
	uid := firstUserID(ctx, e.raw)
	gid := groupID(ctx, e.raw, "admins")
	for _, s := range readShapes(func() (int, uuid.UUID) { return uid, gid }) {
		want, werr := s.run(ctx, e.raw)
		got, gerr := s.run(ctx, e.cached)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%s: errors %v vs %v", s.name, werr, gerr)
		}
		if err := equal(want, got); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
	e.cached.User.UpdateOneID(uid).SetName("renamed").ExecX(ctx)
	if n := e.cached.User.Query().Where(user.ID(uid)).OnlyX(ctx).Name; n != "renamed" {
		t.Fatalf("after update: %q", n)
	}
	if st := e.cache.Stats(); st.StoreErrors == 0 || st.Hits != 0 {
		t.Fatalf("stats %+v", st)
	}
}
