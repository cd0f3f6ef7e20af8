package sqlstore

import "errors"

// OutcomeUnknown reports whether err is a failure after which the database
// may nevertheless have committed the transaction: COMMIT was (or may have
// been) sent and no answer saying how it ended came back. The caller's view
// of what is stored is then no longer known to be right, and must be read
// again from the database; a retry of the same work needs its idempotency
// key (an event id), since the first attempt may have been applied.
//
// It is false for every error known to have rolled the transaction back:
// constraint violations and every other error answered by the server before
// or at COMMIT, a statement hook's error, a timeout or a lost connection
// before COMMIT was sent (a transaction that never sees its COMMIT is
// aborted by the server), and a canceled context. What each driver can tell:
//
//   - PostgreSQL: the server's answer to COMMIT is final either way (an error
//     or ROLLBACK means rolled back). Without an answer, pgx says whether any
//     byte of the COMMIT left the client (pgconn.SafeToRetry); if some did,
//     the server may have committed before the connection was lost or the
//     deadline passed, and the outcome is unknown.
//   - SQLite: COMMIT runs in-process. Interrupted by the context while it
//     waits for a lock, or failing with SQLITE_BUSY or SQLITE_LOCKED, it has
//     not committed (the driver rolls back). Any other failure of COMMIT (an
//     I/O error, a full disk) may come after the commit record reached the
//     write-ahead log, so it counts as unknown.
func OutcomeUnknown(err error) bool {
	var u *outcomeUnknownError
	return errors.As(err, &u)
}

// outcomeUnknownError marks a COMMIT that may have taken effect.
type outcomeUnknownError struct{ err error }

func (e *outcomeUnknownError) Error() string {
	return "commit outcome unknown (the database may have applied it): " + e.err.Error()
}

func (e *outcomeUnknownError) Unwrap() error { return e.err }

// commitOutcomeUnknown wraps err, a failure of COMMIT, as unknown.
func commitOutcomeUnknown(err error) error { return &outcomeUnknownError{err: err} }
