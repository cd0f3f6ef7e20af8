-- Verifications of jobs: metrics measured after a job to decide whether its
-- deployment worked.

-- +goose Up
CREATE TABLE "job_verification" (
    "workspace_id" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "job_id" TEXT,
    "status" TEXT,
    "data" TEXT NOT NULL,
    CONSTRAINT "job_verification_pkey" PRIMARY KEY ("workspace_id", "id")
);
CREATE INDEX "job_verification_job_idx" ON "job_verification" ("workspace_id", "job_id");

-- +goose Down
DROP TABLE "job_verification";
