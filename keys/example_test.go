package keys_test

import (
	"fmt"

	"github.com/hydracache/hydracache/keys"
)

func ExampleJoin() {
	fmt.Println(keys.Join("e", "users", "42"))
	// Separators and escapes inside a segment, and empty segments, are
	// escaped, so the key still splits back into the same list.
	k := keys.Join("e", "order:items", `a\b`, "")
	fmt.Println(k)
	segs, _ := keys.Split(k)
	fmt.Printf("%q\n", segs)
	// Output:
	// e:users:42
	// e:order\citems:a\\b:\e
	// ["e" "order:items" "a\\b" ""]
}

func ExampleEntity() {
	id, _ := keys.Value(int32(42)) // any integer width gives the same text
	fmt.Println(keys.Entity("users", id))
	fmt.Println(keys.EntityTag("users", id), keys.RowsTag("users"), keys.TableTag("users"))
	// Output:
	// e:users:42
	// e:users:42 r:users t:users
}

func ExampleQuery() {
	a, _ := keys.Query("postgres", `SELECT * FROM "users" WHERE "id" = $1`, []any{int64(1)})
	b, _ := keys.Query("postgres", `SELECT * FROM "users" WHERE "id" = $1`, []any{"1"})
	c, _ := keys.Query("postgres", `SELECT * FROM "users" WHERE "id" = $1`, []any{int32(1)})
	fmt.Println("int64 vs string:", a == b)
	fmt.Println("int64 vs int32:", a == c)
	fmt.Println(len(keys.Collection(a)))

	_, err := keys.Query("postgres", "SELECT $1", []any{struct{}{}})
	fmt.Println(err)
	// Output:
	// int64 vs string: false
	// int64 vs int32: true
	// 34
	// keys: query argument 0: keys: unsupported value: argument of type struct {}
}

func ExampleTenant() {
	acme := keys.Tenant("acme")
	fmt.Println(acme.Key("e", "users", "42"))
	fmt.Println(acme.Wrap(keys.TableTag("users")))
	fmt.Println(acme.With("eu").Prefix())
	var global keys.Scope // the zero Scope adds nothing
	fmt.Println(global.Key("e", "users", "42"))
	// Output:
	// tenant:acme:e:users:42
	// tenant:acme:t:users
	// tenant:acme:eu
	// e:users:42
}

func ExampleTags() {
	t := keys.NewTags(keys.TableTag("users"), keys.TableTag("orgs"), keys.TableTag("users"))
	t = t.Add(keys.TableTag("orgs"), keys.TableTag("teams"))
	fmt.Println(t, t.Contains("t:teams"))
	// Output:
	// [t:orgs t:teams t:users] true
}
