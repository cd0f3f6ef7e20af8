-- The two largest tables lose their secondary indexes. Nothing in Gatehouse
-- reads release or job rows through SQL except to load a whole workspace
-- (by its primary key), and keeping the indexes cost about a tenth of every
-- fan-out's time. An operator who queries these columns often can create an
-- index of their own.

-- +goose Up
DROP INDEX "release_target_idx";
DROP INDEX "job_release_idx";

-- +goose Down
CREATE INDEX "release_target_idx" ON "release" ("workspace_id", "deployment_id", "environment_id", "resource_id");
CREATE INDEX "job_release_idx" ON "job" ("workspace_id", "release_id");
