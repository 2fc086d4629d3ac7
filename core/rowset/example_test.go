package rowset_test

import (
	"context"
	"database/sql/driver"
	"fmt"
	"log"

	"github.com/hydracache/hydracache/core/rowset"
)

// A plugin records a result on a miss, stores its encoding, and on a hit
// decodes it and hands the ORM the replayed *sql.Rows.
func Example() {
	ctx := context.Background()
	// A stand-in for a database result: in a plugin, src is the *sql.Rows
	// the query returned.
	live := &rowset.RowSet{
		Columns: []rowset.Column{{Name: "id"}, {Name: "name"}},
		Values:  [][]driver.Value{{int64(1), "ann"}, {int64(2), nil}},
	}
	src, err := live.Rows(ctx)
	if err != nil {
		log.Fatal(err)
	}

	// Miss: record (this reads and closes src) and encode for the store.
	rec, err := rowset.Record(src)
	if err != nil {
		log.Fatal(err) // a failed result is never cached
	}
	blob, err := rec.MarshalBinary()
	if err != nil {
		log.Fatal(err)
	}

	// Hit: decode and replay.
	var hit rowset.RowSet
	if err := hit.UnmarshalBinary(blob); err != nil {
		log.Fatal(err) // ErrCorrupt: treat as a miss
	}
	rows, err := hit.Rows(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name *string
		if err := rows.Scan(&id, &name); err != nil {
			log.Fatal(err)
		}
		fmt.Println(id, name != nil)
	}
	// Output:
	// 1 true
	// 2 false
}
