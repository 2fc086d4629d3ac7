package hydraent

import (
	"context"

	"entgo.io/ent"
	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
)

// plainQuery is what hydraent's code-generation template
// (plugin/ent/template/hydracache.tmpl) adds to each query builder.
type plainQuery interface {
	HydraCacheSQL(ctx context.Context) (query string, args []any, ok bool)
	HydraCacheNodes(rows *entsql.Rows) (any, error)
	HydraCacheDriver() dialect.Driver
	HydraCacheContext() *ent.QueryContext
	HydraCacheInterceptors() []ent.Interceptor
}

// interceptHook, when set (by tests), runs on each query the interceptor
// answers.
var interceptHook func()

// Interceptor returns an ent.Interceptor that answers the entity queries
// (All, First, Only) of a client generated with hydraent's template
// without Ent building their SELECT: the template renders the statement
// Ent would run, with the column list rendered once per dialect (most of
// a cache hit's cost is Ent quoting each column), and the statement goes
// through this driver as Ent's own would, cache and invalidation
// included. Ent builds the entities from the rows as usual.
//
// Queries the template does not render (in a transaction, with eager
// loading, modifiers or locks, a field selection, an edge traversal),
// queries of clients on another driver, and clients generated without
// the template go to Ent unchanged, and so do all queries of a type with
// an interceptor after this one (a schema's own Interceptors come after
// the client's): register it last, so that interceptors that change the
// query run before it:
//
//	client := entschema.NewClient(entschema.Driver(drv))
//	client.Intercept(drv.Interceptor())
func (d *Driver) Interceptor() ent.Interceptor { return &interceptor{d: d} }

// interceptor is a pointer so that it can find itself among a query's
// interceptors.
type interceptor struct{ d *Driver }

// Intercept implements ent.Interceptor.
func (i *interceptor) Intercept(next ent.Querier) ent.Querier {
	return ent.QuerierFunc(func(ctx context.Context, q ent.Query) (ent.Value, error) {
		pq, ok := q.(plainQuery)
		if !ok || !ownNodesOp(ctx, pq) || !i.innermost(pq) {
			return next.Query(ctx, q)
		}
		if drv, ok := pq.HydraCacheDriver().(*Driver); !ok || drv != i.d {
			return next.Query(ctx, q)
		}
		query, args, ok := pq.HydraCacheSQL(ctx)
		if !ok {
			return next.Query(ctx, q)
		}
		if interceptHook != nil {
			interceptHook()
		}
		var rows entsql.Rows
		if err := i.d.Query(ctx, query, args, &rows); err != nil {
			return nil, err
		}
		defer rows.Close()
		return pq.HydraCacheNodes(&rows)
	})
}

// innermost reports whether i is the last of the query's interceptors:
// one after it (a schema's Interceptors come after the client's) could
// change the query in ways the rendered statement would miss.
func (i *interceptor) innermost(q plainQuery) bool {
	inters := q.HydraCacheInterceptors()
	return len(inters) > 0 && inters[len(inters)-1] == ent.Interceptor(i)
}

// ownNodesOp reports whether q runs as its own All, First or Only, whose
// querier returns entities: IDs, Count, Exist and Select have other result
// types, and a query run for another's eager loading (its context is the
// other query's) may have a querier of the loader's own.
func ownNodesOp(ctx context.Context, q plainQuery) bool {
	qc := ent.QueryFromContext(ctx)
	if qc == nil || qc != q.HydraCacheContext() {
		return false
	}
	switch qc.Op {
	case ent.OpQueryAll, ent.OpQueryFirst, ent.OpQueryOnly:
		return true
	}
	return false
}
