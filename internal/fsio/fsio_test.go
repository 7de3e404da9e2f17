package fsio

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCheckOutput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	write(t, in, "a\n1\n")
	link := filepath.Join(dir, "link.csv")
	if err := os.Symlink(in, link); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(dir, "hard.csv")
	if err := os.Link(in, hard); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		path   string
		force  bool
		inputs []string
		want   string // "" means accepted
		is     error
	}{
		{"new file", filepath.Join(dir, "new.csv"), false, []string{in}, "", nil},
		{"existing", in, false, nil, "use --force", ErrExists},
		{"existing forced", in, true, nil, "", nil},
		{"same as input", in, true, []string{in}, "same file as the input", ErrSameFile},
		{"symlink to input", link, true, []string{in}, "same file as the input", ErrSameFile},
		{"hard link to input", hard, true, []string{in}, "same file as the input", ErrSameFile},
		{"input given as relative link", in, true, []string{"", link}, "same file as the input", ErrSameFile},
		{"directory", dir, true, nil, "is a directory", nil},
		{"missing directory", filepath.Join(dir, "no", "x.csv"), false, nil, "cannot create files in", nil},
		{"special file", "/dev/null", true, nil, "not a regular file", nil},
		{"proc", "/proc/x", false, nil, "cannot create files in /proc", nil},
		{"empty", "", false, nil, "--out is empty", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckOutput("--out", c.path, c.force, c.inputs...)
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Fatalf("error %v does not wrap %v", err, c.is)
			}
		})
	}
}

func TestCheckDir(t *testing.T) {
	root := t.TempDir()
	model := filepath.Join(root, "model")
	os.Mkdir(model, 0o755)
	write(t, filepath.Join(model, "model.json"), "{}")
	file := filepath.Join(root, "file")
	write(t, file, "x")
	cases := []struct {
		name  string
		dir   string
		force bool
		want  string
	}{
		{"new nested", filepath.Join(root, "a", "b"), false, ""},
		{"existing model", model, false, "holds model.json"},
		{"existing model forced", model, true, ""},
		{"a file", file, true, "not a directory"},
		{"proc", "/proc/x", false, "cannot create the directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckDir("--out", c.dir, c.force, "model.json")
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if st, err := os.Stat(c.dir); err != nil || !st.IsDir() {
					t.Fatalf("directory not created: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

func TestCreateCommitAbort(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "out.csv")
	write(t, target, "old")

	// Abort leaves the target and no temporary file.
	f, err := Create(target)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "new")
	f.Abort()
	f.Abort()
	if b, _ := os.ReadFile(target); string(b) != "old" {
		t.Fatalf("target after Abort: %q", b)
	}
	if err := f.Commit(); err == nil {
		t.Fatal("Commit after Abort succeeded")
	}

	// Commit replaces the target.
	if err := WriteFile(target, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Fatalf("target after Commit: %q", b)
	}
	if st, _ := os.Stat(target); st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v", st.Mode())
	}

	// A failing writer leaves the target unchanged.
	if err := Write(target, func(w io.Writer) error { io.WriteString(w, "half"); return errors.New("boom") }); err == nil {
		t.Fatal("Write with a failing writer succeeded")
	}
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Fatalf("target after failed Write: %q", b)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("leftover files: %v", ents)
	}
}

// A symlink at the target (or at the old predictable temp name) is
// replaced, never written through.
func TestNoSymlinkFollowing(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	write(t, victim, "precious")
	target := filepath.Join(dir, "weights.safetensors")
	for _, l := range []string{target, target + ".tmp"} {
		if err := os.Symlink(victim, l); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteFile(target, []byte("weights")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Fatalf("victim overwritten: %q", b)
	}
	if st, _ := os.Lstat(target); st.Mode()&os.ModeSymlink != 0 {
		t.Fatal("target is still a symlink")
	}
	if _, err := Create(dir); err == nil {
		t.Fatal("Create of a directory succeeded")
	}
}

func TestLockDir(t *testing.T) {
	dir := t.TempDir()
	l, err := LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to the open file: a second open in this process
	// conflicts exactly as another process would.
	if _, err := LockDir(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: %v", err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	l2, err := LockDir(dir)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	l2.Unlock()
	if _, err := LockDir(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("lock of a missing directory succeeded")
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	write(t, small, "12345")
	cases := []struct {
		name string
		path string
		max  int64
		want string
	}{
		{"fits", small, 5, ""},
		{"too large", small, 4, "larger than 4 B"},
		{"dev zero", "/dev/zero", 1 << 20, "larger than 1 MiB"},
		{"directory", dir, 1 << 20, "is a directory"},
		{"missing", filepath.Join(dir, "none"), 10, "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := ReadFile(c.path, c.max)
			if c.want == "" {
				if err != nil || string(b) != "12345" {
					t.Fatalf("%q %v", b, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

func TestLimitReader(t *testing.T) {
	for _, n := range []int{0, 1, 9, 10} {
		b, err := io.ReadAll(LimitReader(strings.NewReader(strings.Repeat("x", n)), "s", 10))
		if err != nil || len(b) != n {
			t.Fatalf("n=%d: %d bytes, %v", n, len(b), err)
		}
	}
	b, err := io.ReadAll(LimitReader(strings.NewReader(strings.Repeat("x", 11)), "s", 10))
	if !errors.Is(err, ErrTooLarge) || len(b) != 10 {
		t.Fatalf("11 bytes: %d read, %v", len(b), err)
	}
}

func TestFormatBytes(t *testing.T) {
	for in, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1 KiB", 1536: "1.5 KiB", 64 << 20: "64 MiB", 3 << 30: "3 GiB"} {
		if got := FormatBytes(in); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestOpenDir(t *testing.T) {
	root := t.TempDir()
	run := filepath.Join(root, "run")
	l, err := OpenDir("--out", run, false, "report.md")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenDir("--out", run, true); !errors.Is(err, ErrLocked) {
		t.Fatalf("second OpenDir: %v", err)
	}
	write(t, filepath.Join(run, "report.md"), "done")
	l.Release(true) // not empty: kept
	if _, err := os.Stat(run); err != nil {
		t.Fatalf("a directory with files was removed: %v", err)
	}
	if _, err := OpenDir("--out", run, false, "report.md"); !errors.Is(err, ErrExists) {
		t.Fatalf("existing run: %v", err)
	}
	l2, err := OpenDir("--out", run, true, "report.md")
	if err != nil {
		t.Fatalf("forced: %v", err)
	}
	l2.Release(false)
	// A directory created for a run that fails before writing is removed.
	empty := filepath.Join(root, "a", "b")
	l3, err := OpenDir("--out", empty, false)
	if err != nil {
		t.Fatal(err)
	}
	l3.Release(true)
	if _, err := os.Stat(empty); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("empty created directory kept: %v", err)
	}
	if _, err := OpenDir("--out", "/proc/x", false); err == nil || !strings.Contains(err.Error(), "cannot create the directory") {
		t.Fatalf("/proc: %v", err)
	}
}
