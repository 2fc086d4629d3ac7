package keys

// Scope prefixes keys and tags with a fixed list of segments, such as a
// tenant, so that the keys of different scopes never collide. The zero Scope
// has no prefix. Scopes are comparable: equal prefixes compare equal.
type Scope struct {
	// prefix is the joined scope segments, kept encoded so that Key costs
	// one allocation.
	prefix string
}

// tenantSegment is the first segment of a tenant scope; no builder of this
// package starts a key with it.
const tenantSegment = "tenant"

// Tenant returns a Scope whose keys start with ("tenant", id), for
// multi-tenant services.
func Tenant(id string) Scope {
	return Scope{prefix: Join(tenantSegment, id)}
}

// With returns a Scope whose prefix is s's followed by segments.
func (s Scope) With(segments ...string) Scope {
	return Scope{prefix: s.Wrap(Join(segments...))}
}

// Key returns Join(scope segments..., segments...).
func (s Scope) Key(segments ...string) string {
	return s.Wrap(Join(segments...))
}

// Wrap prefixes a key or tag already made by [Join] or a builder such as
// [Entity] or [TableTag]: s.Wrap(Join(x...)) == s.Key(x...).
func (s Scope) Wrap(joined string) string {
	switch {
	case s.prefix == "":
		return joined
	case joined == "":
		return s.prefix
	}
	return s.prefix + string(Separator) + joined
}

// Prefix returns Join(scope segments...), or "" for the zero Scope.
func (s Scope) Prefix() string {
	return s.prefix
}
