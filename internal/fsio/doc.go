// Package fsio writes autonf's output files so that no user's work is lost
// or overwritten by accident, and reads input files with a size limit.
//
// Outputs:
//
//   - [Create] (or [WriteFile], [Write]) writes to an exclusive temporary
//     file with an unpredictable name in the target's directory
//     (os.CreateTemp: O_CREAT|O_EXCL, so a planted symlink is never
//     followed), and [File.Commit] fsyncs it, renames it over the target and
//     fsyncs the directory. A crash leaves either the old file or the new
//     one, never a partial one; an abandoned temporary file is removed by
//     [File.Abort].
//   - [CheckOutput] and [CheckDir] run before any work starts: the target's
//     directory must exist and be writable, an existing target is refused
//     unless force is set, and an output that is the same file as one of the
//     command's inputs ([SameFile]) is always refused.
//   - [LockDir] takes an exclusive advisory lock (flock(2), via
//     github.com/gofrs/flock) on a run or model directory, so a second
//     process writing the same directory fails at once instead of
//     interleaving its files with the first one's. [OpenDir] does all of
//     it for a run directory in the safe order (create, lock, check).
//
// Inputs: [ReadFile] reads at most a given number of bytes and refuses
// larger files, so a special file such as /dev/zero or a huge file cannot
// exhaust memory; [LimitReader] does the same for streamed reads.
package fsio
