-- Entity snapshots: the deployments, environments and resources as jobs saw
-- them, stored once per distinct content (the id is a hash of kind and
-- content) and named by the jobs' rows instead of copied into each.

-- +goose Up
CREATE TABLE "entity_snapshot" (
    "workspace_id" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "kind" TEXT,
    "data" TEXT NOT NULL,
    CONSTRAINT "entity_snapshot_pkey" PRIMARY KEY ("workspace_id", "id")
);

-- +goose Down
DROP TABLE "entity_snapshot";
