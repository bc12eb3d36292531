-- CreateEnum
CREATE TYPE "OutboxStatus" AS ENUM ('PENDING', 'DELIVERED', 'DEAD');

-- AlterTable
ALTER TABLE "Realm" ADD COLUMN     "mailFrom" TEXT;

-- CreateTable
CREATE TABLE "OutboxMessage" (
    "id" UUID NOT NULL,
    "realmId" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "recipient" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "sealedBody" TEXT,
    "status" "OutboxStatus" NOT NULL DEFAULT 'PENDING',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastError" TEXT,
    "deliveredAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "OutboxMessage_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "OutboxMessage_realmId_status_kind_id_idx" ON "OutboxMessage"("realmId", "status", "kind", "id");

-- CreateIndex
CREATE INDEX "OutboxMessage_realmId_due_idx" ON "OutboxMessage"("realmId", "nextAttemptAt") WHERE (status = 'PENDING');

-- CreateIndex
CREATE INDEX "OutboxMessage_due_idx" ON "OutboxMessage"("nextAttemptAt") WHERE (status = 'PENDING');

-- CreateIndex
CREATE UNIQUE INDEX "OutboxMessage_realmId_id_key" ON "OutboxMessage"("realmId", "id");

-- AddForeignKey
ALTER TABLE "OutboxMessage" ADD CONSTRAINT "OutboxMessage_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;
