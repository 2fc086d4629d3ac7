package keys

import "slices"

// Tags is a sorted, de-duplicated set of tags. Build one with [NewTags] or
// [Tags.Add]; Contains relies on the order.
type Tags []string

// NewTags returns the sorted set of tags, without duplicates. It does not
// modify its argument.
func NewTags(tags ...string) Tags {
	t := slices.Clone(tags)
	slices.Sort(t)
	return Tags(slices.Compact(t))
}

// Add returns the sorted union of t and tags. t itself is never modified,
// so sets built from a shared base do not overwrite each other.
func (t Tags) Add(tags ...string) Tags {
	if len(tags) == 0 {
		return t
	}
	out := make([]string, 0, len(t)+len(tags))
	out = append(out, t...)
	out = append(out, tags...)
	slices.Sort(out)
	return Tags(slices.Compact(out))
}

// Contains reports whether tag is in t.
func (t Tags) Contains(tag string) bool {
	_, ok := slices.BinarySearch(t, tag)
	return ok
}
