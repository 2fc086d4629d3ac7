package hydragorm

import (
	"strings"
	"sync"

	"github.com/hydracache/hydracache/internal/sqlstmt"
)

// statement is a rendered SQL text as the plugin reads it, worked out once
// per text.
type statement struct {
	*sqlstmt.Statement
	reads  []string // the tables read, as tags name them
	writes []string // the tables written, as tags name them
}

// statements remembers statement per SQL text: GORM renders the same few
// texts over and over.
type statements struct {
	mu sync.RWMutex
	m  map[string]*statement
}

const statementsMax = 4096

// parse returns the plugin's reading of sql.
func (p *Plugin) parse(sql string) *statement {
	c := &p.stmts
	c.mu.RLock()
	s, ok := c.m[sql]
	c.mu.RUnlock()
	if ok {
		return s
	}
	st := sqlstmt.Parse(p.sqlDialect, sql)
	s = &statement{Statement: st, reads: lowerAll(st.Reads), writes: lowerAll(st.Writes)}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= statementsMax {
		c.m = make(map[string]*statement)
	}
	c.m[sql] = s
	c.mu.Unlock()
	return s
}

func lowerAll(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if l := strings.ToLower(n); !contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
