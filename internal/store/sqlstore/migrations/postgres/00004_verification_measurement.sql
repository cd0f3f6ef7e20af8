-- Measurements of verifications, one row each, so that a verification's
-- document does not grow with them. Keyed by "verificationId/metric/sequence";
-- the real columns are copies for operators' SQL. Measurements recorded
-- before this table existed stay inside their verification's document.

-- +goose Up
CREATE TABLE "verification_measurement" (
    "workspace_id" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "verification_id" TEXT,
    "metric_index" INTEGER,
    "sequence" INTEGER,
    "data" JSONB COMPRESSION lz4 NOT NULL,
    CONSTRAINT "verification_measurement_pkey" PRIMARY KEY ("workspace_id", "id")
);
CREATE INDEX "verification_measurement_verification_idx"
    ON "verification_measurement" ("workspace_id", "verification_id", "metric_index", "sequence");

-- +goose Down
DROP TABLE "verification_measurement";
