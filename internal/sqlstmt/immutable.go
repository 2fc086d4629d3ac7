package sqlstmt

// Immutable reports whether a built-in function of dialect d gives the
// same answer for the same arguments whatever the clock, the session and
// chance: only then may a read that calls it be cached. name is
// lower-cased. For PostgreSQL the database's catalog (pg_proc's
// provolatile) is the authority; this list is what is known without it
// (the grammar's own functions, which pg_proc does not hold, and common
// functions that are immutable in every overload). An unknown name is
// not immutable.
func Immutable(d Dialect, name string) bool {
	switch d {
	case Postgres:
		return pgGrammar[name] || pgImmutable[name]
	case MySQL:
		return common[name] || mysqlImmutable[name]
	case SQLite:
		return common[name] || sqliteImmutable[name]
	}
	return common[name]
}

// PostgresGrammar reports whether name is a function-like construct of
// PostgreSQL's grammar that pg_proc does not list (COALESCE and the like):
// immutable whatever the catalog says.
func PostgresGrammar(name string) bool { return pgGrammar[name] }

// Aggregates and plain functions that are immutable in every dialect that
// has them.
var common = lowerSet(
	"count", "sum", "avg", "min", "max", "coalesce", "nullif", "abs", "lower", "upper", "length",
	"replace", "round", "trim", "ltrim", "rtrim", "substr", "substring",
)

var pgGrammar = lowerSet("coalesce", "nullif", "greatest", "least", "row")

// pgImmutable are PostgreSQL functions immutable in every overload, used
// until the catalog is read (or when it cannot be).
var pgImmutable = lowerSet(
	"count", "sum", "avg", "min", "max", "bool_and", "bool_or", "every", "array_agg", "string_agg",
	"abs", "ceil", "ceiling", "floor", "round", "trunc", "mod", "sign", "sqrt", "power", "exp", "ln", "log",
	"lower", "upper", "length", "char_length", "character_length", "octet_length", "btrim", "ltrim", "rtrim",
	"substr", "substring", "replace", "position", "strpos", "left", "right", "lpad", "rpad", "reverse",
	"split_part", "initcap", "md5", "repeat", "starts_with", "translate",
	"array_length", "cardinality", "unnest", "array_position", "row_number", "rank", "dense_rank",
	"jsonb_extract_path", "jsonb_extract_path_text", "json_extract_path", "json_extract_path_text",
	"jsonb_array_length", "jsonb_typeof",
)

var mysqlImmutable = lowerSet(
	"group_concat", "bit_and", "bit_or", "bit_xor", "std", "stddev", "variance",
	"ceil", "ceiling", "floor", "truncate", "mod", "sign", "sqrt", "pow", "power", "exp", "ln", "log",
	"char_length", "character_length", "octet_length", "left", "right", "lpad", "rpad", "reverse",
	"concat", "concat_ws", "locate", "instr", "position", "repeat", "space", "strcmp", "ifnull", "if",
	"greatest", "least", "hex", "unhex", "md5", "sha1", "sha2", "crc32", "lcase", "ucase", "mid",
	"json_extract", "json_unquote", "json_contains", "json_length", "json_type", "json_valid",
	"json_keys", "json_contains_path", "json_object", "json_array", "json_quote", "field", "elt",
	"find_in_set", "row_number", "rank", "dense_rank",
)

var sqliteImmutable = lowerSet(
	"total", "group_concat", "string_agg", "ifnull", "iif", "instr", "hex", "unhex", "unicode", "char",
	"quote", "typeof", "printf", "format", "glob", "like", "likely", "unlikely", "likelihood",
	"sign", "zeroblob", "octet_length", "concat", "concat_ws",
	"json", "json_extract", "json_array", "json_object", "json_array_length", "json_type", "json_valid",
	"json_quote", "row_number", "rank", "dense_rank", "max", "min",
)

func lowerSet(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}
