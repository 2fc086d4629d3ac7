package hydragorm_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/hydracache/hydracache/core"
)

// Counter is the row the concurrency test writes: Seq grows with every
// committed write of the row.
type Counter struct {
	ID  uint
	Seq int64
}

func (Counter) CachePolicy() core.Policy { return core.Policy{} }

// TestConcurrentNoStaleRead: writers update and delete rows (inside and
// outside transactions, some rolled back) while readers read by key and by
// list. After a write's commit returns, no read that starts later returns
// the older value.
func TestConcurrentNoStaleRead(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.plain.AutoMigrate(&Counter{}); err != nil {
		t.Fatal(err)
	}
	const rows = 8
	var (
		committed [rows + 1]atomic.Int64 // seq of the last committed write
		deleted   [rows + 1]atomic.Int64 // seq of the last delete begun
	)
	for i := 1; i <= rows; i++ {
		if err := e.plain.Create(&Counter{ID: uint(i), Seq: 1}).Error; err != nil {
			t.Fatal(err)
		}
		committed[i].Store(1)
	}
	db := e.cached
	stop := make(chan struct{})
	var failures atomic.Int64
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 5 {
			t.Errorf(format, args...)
		}
	}
	var wg sync.WaitGroup
	// Two writers, each owning half the rows, so a row's seq grows.
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seq := int64(1)
			for step := 0; ; step++ {
				select {
				case <-stop:
					return
				default:
				}
				id := uint(1 + w + 2*(step%(rows/2)))
				seq++
				var err error
				switch step % 6 {
				case 0: // implicit transaction
					err = db.Model(&Counter{ID: id}).Update("seq", seq).Error
				case 1: // explicit transaction
					err = db.Transaction(func(tx *gorm.DB) error {
						return tx.Model(&Counter{ID: id}).Update("seq", seq).Error
					})
				case 2: // rolled back: nothing changes
					_ = db.Transaction(func(tx *gorm.DB) error {
						if err := tx.Model(&Counter{ID: id}).Update("seq", seq).Error; err != nil {
							return err
						}
						return errors.New("rollback")
					})
					continue
				case 3: // Begin/Commit, no default transaction
					tx := db.Session(&gorm.Session{SkipDefaultTransaction: true}).Begin()
					if err = tx.Model(&Counter{ID: id}).Update("seq", seq).Error; err == nil {
						err = tx.Commit().Error
					} else {
						tx.Rollback()
					}
				case 4: // delete, then create again
					deleted[id].Store(seq)
					if err = db.Delete(&Counter{}, id).Error; err == nil {
						committed[id].Store(seq)
						seq++
						err = db.Create(&Counter{ID: id, Seq: seq}).Error
					}
				case 5: // bulk update by a non-key condition
					err = db.Model(&Counter{}).Where("id = ? AND seq >= 0", id).Update("seq", seq).Error
				}
				if err != nil {
					fail("write %d: %v", step, err)
					return
				}
				committed[id].Store(seq)
			}
		}()
	}
	check := func(id uint, floor int64, found bool, seq int64) {
		if found && seq < floor {
			fail("row %d: read seq %d after seq %d committed", id, seq, floor)
		}
		if !found && deleted[id].Load() < floor {
			fail("row %d: not found, but no delete since seq %d", id, floor)
		}
	}
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var floors [rows + 1]int64
				for id := 1; id <= rows; id++ {
					floors[id] = committed[id].Load()
				}
				switch (i + r) % 3 {
				case 0:
					id := uint(1 + i%rows)
					var c Counter
					err := db.First(&c, id).Error
					if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
						fail("First: %v", err)
						return
					}
					check(id, floors[id], err == nil, c.Seq)
				case 1, 2:
					var cs []Counter
					var err error
					ids := []uint{1, 2, 3, 4, 5, 6, 7, 8}
					if i%3 == 1 {
						err = db.Find(&cs, ids).Error
					} else {
						err = db.Where("id IN ?", ids).Order("id").Find(&cs).Error
					}
					if err != nil {
						fail("list: %v", err)
						return
					}
					seen := map[uint]int64{}
					for _, c := range cs {
						seen[c.ID] = c.Seq
					}
					for id := uint(1); id <= rows; id++ {
						s, ok := seen[id]
						check(id, floors[id], ok, s)
					}
				}
			}
		}()
	}
	time.Sleep(2 * time.Second) // the test's duration, not a synchronisation
	close(stop)
	wg.Wait()
	s := e.cache.Stats()
	t.Logf("stats: %+v", s)
	if s.Hits == 0 {
		t.Error("no read was a hit: the test proves nothing")
	}
}
