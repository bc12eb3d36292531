-- DropIndex
DROP INDEX "OutboxMessage_response_kept_idx";

-- AlterTable
ALTER TABLE "Realm" ADD COLUMN     "webhookResponseRetentionDays" INTEGER NOT NULL DEFAULT 30;

-- CreateIndex
CREATE INDEX "OutboxMessage_realmId_response_kept_idx" ON "OutboxMessage"("realmId", "updatedAt") WHERE ("responseBody" IS NOT NULL);
