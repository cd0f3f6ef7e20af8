//go:build !unix

package ownership

import (
	"errors"
	"os"
)

// errLocked is lockExclusive's answer when another process holds the lock.
var errLocked = errors.New("locked by another process")

// lockExclusive is unsupported here: the lock file records the holder but
// does not keep a second process out.
func lockExclusive(*os.File) error { return nil }
