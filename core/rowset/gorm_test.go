package rowset

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// gormUser has the field kinds GORM handles specially: embedded gorm.Model
// (soft delete), pointers, a JSON serializer and a sql.Scanner.
type gormUser struct {
	gorm.Model
	Name     string
	Nick     *string
	Age      int16
	Score    float32
	Tags     []string `gorm:"serializer:json"`
	Email    sql.NullString
	Birthday *time.Time
}

// TestGormScansReplayLikeDatabase scans a live result and its replay with
// gorm.Scan, as GORM's query callback does, into structs and into maps (where GORM builds values
// from the columns' ScanType), and requires the same outcome.
func TestGormScansReplayLikeDatabase(t *testing.T) {
	db := pgTable(t)
	gdb, err := gorm.Open(postgres.New(postgres.Config{Conn: db}), &gorm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := gdb.AutoMigrate(&gormUser{}); err != nil {
		t.Fatal(err)
	}
	nick := "al"
	bday := time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC)
	users := []gormUser{
		{Name: "alice", Nick: &nick, Age: 33, Score: 1.25, Tags: []string{"a", "b"}, Email: sql.NullString{String: "a@x", Valid: true}, Birthday: &bday},
		{Name: "bob"},
	}
	if err := gdb.Create(&users).Error; err != nil {
		t.Fatal(err)
	}

	var finite []string
	for _, c := range pgColumns {
		if c.name != "c_tstz_infinity" {
			finite = append(finite, c.name)
		}
	}
	queries := []string{
		"SELECT * FROM gorm_users ORDER BY id",
		"SELECT " + strings.Join(finite, ", ") + " FROM t ORDER BY id",
		// GORM makes a *time.Time for the timestamptz column from its
		// ScanType, and 'infinity' arrives as a string: the same error.
		"SELECT * FROM t ORDER BY id",
	}
	type target struct {
		name string
		new  func() any
	}
	targets := []target{
		{"[]gormUser", func() any { return new([]gormUser) }},
		{"[]map[string]any", func() any { return new([]map[string]any) }},
		{"map[string]any", func() any { return new(map[string]any) }},
	}
	for _, q := range queries {
		for _, tg := range targets {
			if q != queries[0] && tg.name == "[]gormUser" {
				continue
			}
			t.Run(q+" into "+tg.name, func(t *testing.T) {
				live, err := db.QueryContext(context.Background(), q)
				if err != nil {
					t.Fatal(err)
				}
				want := tg.new()
				wantErr := gormScan(gdb, live, want)
				live.Close()
				if wantErr == nil && reflect.ValueOf(want).Elem().Len() == 0 {
					t.Fatal("the live scan found nothing to compare")
				}

				src, err := db.QueryContext(context.Background(), q)
				if err != nil {
					t.Fatal(err)
				}
				rs := cacheRoundTrip(t, src)
				replay, err := rs.Rows(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				got := tg.new()
				gotErr := gormScan(gdb, replay, got)
				replay.Close()

				if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
					t.Fatalf("replay error %v, database error %v", gotErr, wantErr)
				}
				if !identical(got, want) {
					t.Errorf("replay scanned\n%#v\ndatabase scanned\n%#v", got, want)
				}
			})
		}
	}
}

// gormScan runs gorm.Scan over rows the way GORM's query callback does
// (ScanRows is meant for one row per call and scans before Next).
func gormScan(gdb *gorm.DB, rows *sql.Rows, dest any) error {
	tx := gdb.Session(&gorm.Session{NewDB: true})
	if err := tx.Statement.Parse(dest); err != nil && !errors.Is(err, schema.ErrUnsupportedDataType) {
		return err
	}
	tx.Statement.Dest = dest
	tx.Statement.ReflectValue = reflect.ValueOf(dest).Elem()
	gorm.Scan(rows, tx, 0)
	return tx.Error
}
