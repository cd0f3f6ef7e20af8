-- Freezes: while one is in force, no new job is made on the release targets
-- its selector matches.

-- +goose Up
CREATE TABLE "freeze" (
    "workspace_id" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "data" TEXT NOT NULL,
    CONSTRAINT "freeze_pkey" PRIMARY KEY ("workspace_id", "id")
);

-- +goose Down
DROP TABLE "freeze";
