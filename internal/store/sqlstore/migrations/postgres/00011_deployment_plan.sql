-- Deployment plans (dry runs): what a version, not created, would make on
-- each release target. Plans expire; expires_at is what pruning looks at.

-- +goose Up
CREATE TABLE "deployment_plan" (
    "workspace_id" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "deployment_id" TEXT,
    "created_at" TIMESTAMPTZ,
    "expires_at" TIMESTAMPTZ,
    "data" JSONB COMPRESSION lz4 NOT NULL,
    CONSTRAINT "deployment_plan_pkey" PRIMARY KEY ("workspace_id", "id")
);
CREATE INDEX "deployment_plan_deployment_idx" ON "deployment_plan" ("workspace_id", "deployment_id");

-- +goose Down
DROP TABLE "deployment_plan";
