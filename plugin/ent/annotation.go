package hydraent

import (
	"fmt"
	"reflect"
	"time"

	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"

	"github.com/hydracache/hydracache/core"
)

// Annotation opts an Ent schema type in to caching from the schema itself:
//
//	func (User) Annotations() []schema.Annotation {
//		return []schema.Annotation{hydraent.Annotation{TTL: time.Minute}}
//	}
//
// WithSchemaTypes reads it from the schema types at run time, so no code
// generation step is involved.
type Annotation struct {
	// TTL, NegativeTTL, SkipLists, Tags and EarlyRefresh are those of
	// core.Policy.
	TTL          time.Duration `json:"ttl,omitempty"`
	NegativeTTL  time.Duration `json:"negative_ttl,omitempty"`
	SkipLists    bool          `json:"skip_lists,omitempty"`
	Tags         []string      `json:"tags,omitempty"`
	EarlyRefresh float64       `json:"early_refresh,omitempty"`
}

// Name names the annotation for Ent.
func (Annotation) Name() string { return "HydraCache" }

// Policy returns the cache policy the annotation describes.
func (a Annotation) Policy() core.Policy {
	return core.Policy{TTL: a.TTL, NegativeTTL: a.NegativeTTL, SkipLists: a.SkipLists, Tags: a.Tags, EarlyRefresh: a.EarlyRefresh}
}

// WithSchemaTypes opts in every schema type (the ent/schema package's
// types, as in hydraent.WithSchemaTypes(schema.User{}, schema.Pet{})) that
// carries an Annotation, with the policy it describes; types without one
// are left out. A type's table is its entsql.Annotation's Table, else
// Ent's default name.
func WithSchemaTypes(types ...ent.Interface) Option {
	return func(c *config) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%w: a schema type's Annotations panicked: %v", ErrConfig, r)
			}
		}()
		for _, t := range types {
			if t == nil {
				return fmt.Errorf("%w: nil schema type", ErrConfig)
			}
			var policy *core.Policy
			table := ""
			for _, a := range t.Annotations() {
				switch a := a.(type) {
				case Annotation:
					p := a.Policy()
					policy = &p
				case *Annotation:
					if a != nil {
						p := a.Policy()
						policy = &p
					}
				case entsql.Annotation:
					table = a.Table
				case *entsql.Annotation:
					if a != nil {
						table = a.Table
					}
				}
			}
			if policy == nil {
				continue
			}
			if table == "" {
				table = defaultTable(reflect.TypeOf(t))
			}
			c.annotated = append(c.annotated, annotated{table: table, policy: *policy, from: t})
		}
		return nil
	}
}

type annotated struct {
	table  string
	policy core.Policy
	from   ent.Interface
}
