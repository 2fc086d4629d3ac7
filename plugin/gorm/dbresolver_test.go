package hydragorm_test

import (
	"testing"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/plugin/dbresolver"
)

// TestDBResolver: dbresolver registered after the plugin opens its sources
// and replicas with the DB's Config, which initializes the plugin again on
// each; that must not fail. Models dbresolver routes elsewhere are read
// from the database every time (a replica may lag behind the last bump),
// their writes still invalidate, and the other models stay cached.
func TestDBResolver(t *testing.T) {
	e := newEnv(t, nil)
	e.seed(2)
	pool := func() gorm.Dialector { return postgres.New(postgres.Config{Conn: e.sqlDB}) }
	err := e.cached.Use(dbresolver.Register(dbresolver.Config{
		Sources:  []gorm.Dialector{pool()},
		Replicas: []gorm.Dialector{pool()},
	}, &Pet{}))
	if err != nil {
		t.Fatalf("dbresolver after hydragorm: %v", err)
	}

	var u User
	e.cached.First(&u, 1)
	if n := e.statements(func() { e.cached.First(&u, 1) }); n != 0 {
		t.Errorf("a user read (not routed by dbresolver) reached the database %d times, want a hit", n)
	}

	readPet := func() string {
		var p Pet
		if err := e.cached.First(&p, 1).Error; err != nil {
			t.Fatal(err)
		}
		return p.Name
	}
	hits := e.cache.Stats().Hits
	readPet()
	readPet()
	if got := e.cache.Stats().Hits; got != hits {
		t.Errorf("pet reads through dbresolver's replica were served from the cache (%d hits)", got-hits)
	}
	bumps := e.cache.Stats().Bumps
	if err := e.cached.Model(&Pet{ID: 1}).Update("name", "renamed").Error; err != nil {
		t.Fatal(err)
	}
	if e.cache.Stats().Bumps == bumps {
		t.Error("a pet write through dbresolver's source bumped nothing")
	}
	if got := readPet(); got != "renamed" {
		t.Errorf("after the write: %q", got)
	}
}
