package entschema

import (
	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/plugin/ent/entschema/group"
	"github.com/hydracache/hydracache/plugin/ent/entschema/pet"
	"github.com/hydracache/hydracache/plugin/ent/entschema/setting"
	"github.com/hydracache/hydracache/plugin/ent/entschema/user"
)

// This file is not generated: it opts the types in to hydraent's cache.
// CachePolicy makes a type a core.CacheEntity; CacheTable names its table
// for hydraent.WithEntities.

// CachePolicy caches users with the cache's defaults.
func (User) CachePolicy() core.Policy { return core.Policy{} }

// CacheTable returns the users table.
func (User) CacheTable() string { return user.Table }

// CachePolicy caches pets with the cache's defaults.
func (Pet) CachePolicy() core.Policy { return core.Policy{} }

// CacheTable returns the pets table.
func (Pet) CacheTable() string { return pet.Table }

// CachePolicy caches groups with the cache's defaults.
func (Group) CachePolicy() core.Policy { return core.Policy{} }

// CacheTable returns the groups table.
func (Group) CacheTable() string { return group.Table }

// CachePolicy caches settings with the cache's defaults.
func (Setting) CachePolicy() core.Policy { return core.Policy{} }

// CacheTable returns the settings table.
func (Setting) CacheTable() string { return setting.Table }
