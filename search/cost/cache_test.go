package cost

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCacheValidatedOnRead: a cached table is used only if it fits the
// request; a corrupt, oversized, mismatched or non-finite file is ignored
// and the costs measured again. AUTONF_COST_CACHE=off turns the cache off.
func TestCacheValidatedOnRead(t *testing.T) {
	want := &Table{Emphasis: Train, Source: Measured, Dim: 3, Batch: 64, Candidates: []string{"a", "b"}}
	good := `{"emphasis":"train","source":"measured","dim":3,"batch":64,"candidates":["a","b"],"cost":[1,2],"raw":[0.1,0.2]}`
	cases := []struct {
		name, body string
		ok         bool
	}{
		{"valid", good, true},
		{"not JSON", "{", false},
		{"other candidates", strings.Replace(good, `["a","b"]`, `["a","c"]`, 1), false},
		{"other batch", strings.Replace(good, `"batch":64`, `"batch":65`, 1), false},
		{"too few costs", strings.Replace(good, `"cost":[1,2]`, `"cost":[1]`, 1), false},
		{"negative cost", strings.Replace(good, `"cost":[1,2]`, `"cost":[1,-2]`, 1), false},
		{"zero raw", strings.Replace(good, `"raw":[0.1,0.2]`, `"raw":[0,0.2]`, 1), false},
		{"oversized", good + strings.Repeat(" ", maxCacheBytes), false},
	}
	for _, c := range cases {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "costs-k.json"), []byte(c.body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, ok := loadCache(dir, "k", want); ok != c.ok {
			t.Errorf("%s: used %v, want %v", c.name, ok, c.ok)
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "costs-k.json"), []byte(good), 0o644)
	t.Setenv(CacheEnv, dir)
	if _, ok := loadCache("", "k", want); !ok {
		t.Errorf("%s=%s: cache not used", CacheEnv, dir)
	}
	t.Setenv(CacheEnv, "off")
	if _, ok := loadCache("", "k", want); ok {
		t.Errorf("%s=off: cache used", CacheEnv)
	}
}
