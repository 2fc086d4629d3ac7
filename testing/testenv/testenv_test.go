package testenv_test

import (
	"context"
	"testing"

	"github.com/hydracache/hydracache/testing/testenv"
)

func TestPostgresSchemaIsolated(t *testing.T) {
	db, _ := testenv.Postgres(t)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE probe (id int)`); err != nil {
		t.Fatal(err)
	}
	var schema string
	if err := db.QueryRowContext(ctx, `SELECT table_schema FROM information_schema.tables WHERE table_name = 'probe' AND table_schema = current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	if schema == "public" {
		t.Fatalf("table landed in public schema")
	}
}

func TestRedisNamespaceCleaned(t *testing.T) {
	client, ns := testenv.Redis(t)
	ctx := context.Background()
	if err := client.Do(ctx, client.B().Set().Key(ns+"k").Value("v").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if err := testenv.DeletePrefix(ctx, client, ns); err != nil {
		t.Fatal(err)
	}
	n, err := client.Do(ctx, client.B().Exists().Key(ns+"k").Build()).AsInt64()
	if err != nil || n != 0 {
		t.Fatalf("key survived DeletePrefix: n=%d err=%v", n, err)
	}
}
