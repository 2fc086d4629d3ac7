package hydragorm

import "gorm.io/gorm"

// SetSnapshotHook makes f run on every read answered from a snapshot.
func SetSnapshotHook(f func(*gorm.DB)) { snapshotHook = f }

// PendingForeignTx counts the implicit transactions on foreign pools whose
// bumps the plugin is still gathering.
func PendingForeignTx(p *Plugin) int {
	n := 0
	p.foreignTx.Range(func(any, any) bool { n++; return true })
	return n
}
