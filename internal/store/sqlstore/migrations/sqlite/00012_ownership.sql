-- One owner per workspace, and intake from a partitioned log (Kafka).
--
-- consumer_offset and dead_letter are workspace tables like the others: a
-- workspace's position in each partition is written in the transaction of
-- the records' effects, and a record that could not be applied is kept with
-- why. Dead letters of records that name no usable workspace have the empty
-- workspace id.
--
-- workspace_lease exists for the schemas to match; a SQLite file belongs to
-- one process (a lock file beside it) and keeps no leases.
--
-- kafka_partition is, per partition of a topic, the offset below which every
-- record is applied in every workspace (where consumption resumes), and the
-- process it is assigned to.

-- +goose Up
CREATE TABLE "consumer_offset" (
    "workspace_id" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "data" TEXT NOT NULL,
    CONSTRAINT "consumer_offset_pkey" PRIMARY KEY ("workspace_id", "id")
);

CREATE TABLE "dead_letter" (
    "workspace_id" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "recorded_at" TEXT,
    "data" TEXT NOT NULL,
    CONSTRAINT "dead_letter_pkey" PRIMARY KEY ("workspace_id", "id")
);

CREATE TABLE "workspace_lease" (
    "workspace_id" TEXT NOT NULL,
    "owner" TEXT NOT NULL,
    "address" TEXT NOT NULL,
    "epoch" INTEGER NOT NULL,
    "expires_at" TEXT NOT NULL,
    CONSTRAINT "workspace_lease_pkey" PRIMARY KEY ("workspace_id")
);

CREATE TABLE "kafka_partition" (
    "topic" TEXT NOT NULL,
    "partition" INTEGER NOT NULL,
    "next_offset" INTEGER NOT NULL,
    "owner" TEXT NOT NULL,
    "address" TEXT NOT NULL,
    CONSTRAINT "kafka_partition_pkey" PRIMARY KEY ("topic", "partition")
);

-- +goose Down
DROP TABLE "kafka_partition";
DROP TABLE "workspace_lease";
DROP TABLE "dead_letter";
DROP TABLE "consumer_offset";
