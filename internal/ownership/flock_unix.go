//go:build unix

package ownership

import (
	"errors"
	"os"
	"syscall"
)

// errLocked is lockExclusive's answer when another process holds the lock.
var errLocked = errors.New("locked by another process")

// lockExclusive takes an exclusive flock on f without waiting.
func lockExclusive(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errLocked
	}
	return err
}
