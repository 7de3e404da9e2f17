package fsio

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gofrs/flock"
)

// ErrExists is wrapped by the errors of CheckOutput and CheckDir when the
// target exists and force is not set.
var ErrExists = errors.New("already exists")

// ErrSameFile is wrapped by the error of CheckOutput when the output is one
// of the command's inputs.
var ErrSameFile = errors.New("an output may not overwrite an input")

// ErrLocked is wrapped by the error of LockDir when another process holds
// the directory's lock.
var ErrLocked = errors.New("directory is locked by another process")

// ErrTooLarge is wrapped by the errors of ReadFile and LimitReader when the
// input exceeds its size limit.
var ErrTooLarge = errors.New("file too large")

// File is an output file being written. Writes go to a temporary file in
// the target's directory; Commit makes it the target, Abort discards it.
type File struct {
	*os.File
	path string
	done bool
}

// Create starts writing path: it creates an exclusive temporary file with an
// unpredictable name (".NAME.tmp-RANDOM") in path's directory. Create
// refuses a path that names a directory. It does not check whether path
// exists; use CheckOutput for that before the work starts.
func Create(path string) (*File, error) {
	if st, err := os.Lstat(path); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s is a directory, not a file", path)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("cannot write %s: %w", path, err)
	}
	return &File{File: f, path: path}, nil
}

// Path is the target path (not the temporary file's).
func (f *File) Path() string { return f.path }

// Commit flushes the temporary file to disk, renames it over the target
// (replacing a symlink there, never writing through it) and syncs the
// directory. After an error the temporary file is removed and the target
// is unchanged.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("%s: already committed or aborted", f.path)
	}
	f.done = true
	tmp := f.File.Name()
	err := f.File.Sync()
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, f.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("cannot write %s: %w", f.path, err)
	}
	return SyncDir(filepath.Dir(f.path))
}

// Abort closes and removes the temporary file, leaving the target
// unchanged. It is a no-op after Commit or a previous Abort, so it can be
// deferred.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	os.Remove(f.File.Name())
}

// Write writes path through Create: write is given the temporary file and
// the file is committed only if it returns nil.
func Write(path string, write func(w io.Writer) error) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := write(f); err != nil {
		return err
	}
	return f.Commit()
}

// WriteFile writes b to path through Create and Commit.
func WriteFile(path string, b []byte) error {
	return Write(path, func(w io.Writer) error { _, err := w.Write(b); return err })
}

// SyncDir fsyncs a directory so that a rename into it is durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// SameFile reports whether a and b name the same existing file (after
// following symlinks; hard links count too). It is false when either does
// not exist.
func SameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false
	}
	return os.SameFile(sa, sb)
}

// CheckOutput checks, before any work starts, that path can be written as
// an output file: it must not be a directory or a special file, its
// directory must exist and accept new files, it must not be the same file
// as any of inputs (whatever force says; empty inputs are skipped), and it
// must not exist unless force is set. flag names the option in messages
// (e.g. "--out").
func CheckOutput(flag, path string, force bool, inputs ...string) error {
	if path == "" {
		return fmt.Errorf("%s is empty", flag)
	}
	for _, in := range inputs {
		if in != "" && SameFile(path, in) {
			return fmt.Errorf("%s %s is the same file as the input %s (%w); choose another %s", flag, path, in, ErrSameFile, flag)
		}
	}
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		return fmt.Errorf("%s %s is a directory; give a file name", flag, path)
	case err == nil && !st.Mode().IsRegular():
		return fmt.Errorf("%s %s is not a regular file (%v); give a file name", flag, path, st.Mode().Type())
	case err == nil && !force:
		return fmt.Errorf("%s %s %w; use --force to overwrite it", flag, path, ErrExists)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s: %w", flag, path, err)
	}
	dir := filepath.Dir(path)
	if err := probe(dir); err != nil {
		return fmt.Errorf("%s %s: cannot create files in %s: %w", flag, path, dir, unwrapPath(err))
	}
	return nil
}

// CheckDir prepares dir as an output directory before any work starts: it
// creates it (and its parents) if needed and checks that files can be
// created in it. If dir already holds one of the marker files (e.g.
// "model.json"), it is refused unless force is set, so that an existing
// model or run is not overwritten by accident.
func CheckDir(flag, dir string, force bool, markers ...string) error {
	if dir == "" {
		return fmt.Errorf("%s is empty", flag)
	}
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return fmt.Errorf("%s %s exists and is not a directory", flag, dir)
	}
	if !force {
		for _, m := range markers {
			if _, err := os.Lstat(filepath.Join(dir, m)); err == nil {
				return fmt.Errorf("%s %s %w (it holds %s); use --force to replace it, or choose another %s", flag, dir, ErrExists, m, flag)
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("%s %s: cannot create the directory: %w", flag, dir, unwrapPath(err))
	}
	if err := probe(dir); err != nil {
		return fmt.Errorf("%s %s: cannot create files in it: %w", flag, dir, unwrapPath(err))
	}
	return nil
}

// probe checks that a file can be created in dir by creating and removing
// an exclusive temporary file.
func probe(dir string) error {
	f, err := os.CreateTemp(dir, ".autonf-probe-*")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// OpenDir prepares dir as the output directory of a run, before any work
// starts, in the order that is safe against a concurrent second run: it
// creates dir (and its parents) if needed, takes its lock (LockDir), and
// then applies CheckDir's checks (a marker file present is refused unless
// force; files must be creatable). On error nothing is held, and a
// directory created by this call is removed again. The caller releases
// the lock with Lock.Release when the run ends.
func OpenDir(flag, dir string, force bool, markers ...string) (*Lock, error) {
	if dir == "" {
		return nil, fmt.Errorf("%s is empty", flag)
	}
	st, statErr := os.Stat(dir)
	if statErr == nil && !st.IsDir() {
		return nil, fmt.Errorf("%s %s exists and is not a directory", flag, dir)
	}
	created := errors.Is(statErr, fs.ErrNotExist)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%s %s: cannot create the directory: %w", flag, dir, unwrapPath(err))
	}
	l, err := LockDir(dir)
	if err != nil {
		if created {
			os.Remove(dir)
		}
		return nil, err
	}
	l.created = created
	if err := CheckDir(flag, dir, force, markers...); err != nil {
		l.Release(true)
		return nil, err
	}
	return l, nil
}

// Release unlocks the directory. With failed set, a directory that OpenDir
// created is removed if the run left nothing in it but the lock file.
func (l *Lock) Release(failed bool) error {
	if l == nil {
		return nil
	}
	err := l.Unlock()
	if failed && l.created {
		ents, _ := os.ReadDir(l.dir)
		if len(ents) == 1 && ents[0].Name() == LockFile {
			os.Remove(filepath.Join(l.dir, LockFile))
			os.Remove(l.dir)
		}
	}
	return err
}

// LockFile is the name of the lock file LockDir creates inside a directory.
const LockFile = ".autonf.lock"

// Lock is an exclusive lock on a directory, held until Unlock or the
// process's exit (the kernel drops flock locks of a dead process, so a
// kill -9 leaves no stale lock).
type Lock struct {
	fl      *flock.Flock
	dir     string
	created bool // by OpenDir
}

// LockDir takes the exclusive lock of dir (which must exist) without
// waiting. If another process holds it, the error wraps ErrLocked and says
// so.
func LockDir(dir string) (*Lock, error) {
	fl := flock.New(filepath.Join(dir, LockFile))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, unwrapPath(err))
	}
	if !ok {
		return nil, fmt.Errorf("%s is in use: %w (another autonf run is writing it; wait for it to finish or choose another directory)", dir, ErrLocked)
	}
	return &Lock{fl: fl, dir: dir}, nil
}

// Unlock releases the lock. The lock file stays (removing it would let a
// third process lock a different inode).
func (l *Lock) Unlock() error {
	if l == nil {
		return nil
	}
	return l.fl.Unlock()
}

// ReadFile reads at most max bytes of path. A larger file (or a special
// file that never ends, such as /dev/zero) is refused with an error
// wrapping ErrTooLarge, after reading no more than max+1 bytes.
func ReadFile(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s is a directory, not a file", path)
	} else if err == nil && st.Mode().IsRegular() && st.Size() > max {
		return nil, tooLarge(path, max)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, unwrapPath(err))
	}
	if int64(len(b)) > max {
		return nil, tooLarge(path, max)
	}
	return b, nil
}

func tooLarge(path string, max int64) error {
	return fmt.Errorf("%s is larger than %s: %w", path, FormatBytes(max), ErrTooLarge)
}

// LimitReader returns a reader of r that fails with an error wrapping
// ErrTooLarge (naming name) once more than max bytes have been read.
func LimitReader(r io.Reader, name string, max int64) io.Reader {
	return &limitReader{r: r, name: name, max: max, left: max}
}

type limitReader struct {
	r         io.Reader
	name      string
	max, left int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, tooLarge(l.name, l.max)
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n - int(-l.left), tooLarge(l.name, l.max)
	}
	return n, err
}

// FormatBytes formats a byte count with a binary unit (e.g. "64 MiB").
func FormatBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v, u := float64(n), 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	s := fmt.Sprintf("%.1f", v)
	s = strings.TrimSuffix(s, ".0")
	return s + " " + units[u]
}
