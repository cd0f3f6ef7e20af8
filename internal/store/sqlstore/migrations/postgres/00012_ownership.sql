-- One owner per workspace, and intake from a partitioned log (Kafka).
--
-- consumer_offset and dead_letter are workspace tables like the others: a
-- workspace's position in each partition is written in the transaction of
-- the records' effects, and a record that could not be applied is kept with
-- why. Dead letters of records that name no usable workspace have the empty
-- workspace id.
--
-- workspace_lease is who owns each workspace: a process holds a lease until
-- expires_at and renews it; every taking raises epoch, and every commit
-- checks owner and epoch in its own transaction (the fencing token). A
-- released lease has expires_at -infinity. Rows are never deleted, so that
-- epochs only grow.
--
-- kafka_partition is, per partition of a topic, the offset below which every
-- record is applied in every workspace (where a new owner starts reading),
-- and the process it is assigned to (where reads are forwarded).

-- +goose Up
CREATE TABLE "consumer_offset" (
    "workspace_id" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "data" JSONB COMPRESSION lz4 NOT NULL,
    CONSTRAINT "consumer_offset_pkey" PRIMARY KEY ("workspace_id", "id")
);

CREATE TABLE "dead_letter" (
    "workspace_id" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "recorded_at" TIMESTAMPTZ,
    "data" JSONB COMPRESSION lz4 NOT NULL,
    CONSTRAINT "dead_letter_pkey" PRIMARY KEY ("workspace_id", "id")
);

CREATE TABLE "workspace_lease" (
    "workspace_id" TEXT NOT NULL,
    "owner" TEXT NOT NULL,
    "address" TEXT NOT NULL,
    "epoch" BIGINT NOT NULL,
    "expires_at" TIMESTAMPTZ NOT NULL,
    CONSTRAINT "workspace_lease_pkey" PRIMARY KEY ("workspace_id")
);
CREATE INDEX "workspace_lease_owner_idx" ON "workspace_lease" ("owner");

CREATE TABLE "kafka_partition" (
    "topic" TEXT NOT NULL,
    "partition" INTEGER NOT NULL,
    "next_offset" BIGINT NOT NULL,
    "owner" TEXT NOT NULL,
    "address" TEXT NOT NULL,
    CONSTRAINT "kafka_partition_pkey" PRIMARY KEY ("topic", "partition")
);

-- +goose Down
DROP TABLE "kafka_partition";
DROP TABLE "workspace_lease";
DROP TABLE "dead_letter";
DROP TABLE "consumer_offset";
