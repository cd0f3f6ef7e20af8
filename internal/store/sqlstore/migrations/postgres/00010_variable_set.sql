-- Variable sets: named values for the release targets a selector matches,
-- resolved after deployment variable values and before defaults. A set's
-- variables live in its document.

-- +goose Up
CREATE TABLE "variable_set" (
    "workspace_id" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "data" JSONB COMPRESSION lz4 NOT NULL,
    CONSTRAINT "variable_set_pkey" PRIMARY KEY ("workspace_id", "id")
);

-- +goose Down
DROP TABLE "variable_set";
