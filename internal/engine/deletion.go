package engine

import (
	"encoding/json"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/model/wire"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// deleteWorkspace applies workspace.deleted: every row of the workspace,
// durable and derived, is removed in the event's transaction, and the
// workspace leaves memory once the unit ends (it no longer exists; see
// release). Its positions in the logs it was fed from stay, so that records
// delivered again after the deletion are known as applied instead of
// bringing it back. The payload may be empty or name the workspace.
func deleteWorkspace(u *unit, data json.RawMessage) error {
	if !isEmpty(data) {
		var p struct {
			ID string `json:"id"`
		}
		if err := wire.Decode(data, &p, "workspace"); err != nil {
			return err
		}
		if p.ID != "" && p.ID != u.ws.ID {
			return model.Invalid("workspace.id", "%q is not the workspace the event is addressed to, %q", p.ID, u.ws.ID)
		}
	}
	for _, t := range store.Tables {
		if t == store.Schema(store.ConsumerOffsets) {
			continue
		}
		if err := store.Clear(u.tx, t); err != nil {
			return err
		}
	}
	u.deleted = true
	return nil
}
