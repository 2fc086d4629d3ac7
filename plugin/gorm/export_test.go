package hydragorm

import "gorm.io/gorm"

// SetSnapshotHook makes f run on every read answered from a snapshot.
func SetSnapshotHook(f func(*gorm.DB)) { snapshotHook = f }
