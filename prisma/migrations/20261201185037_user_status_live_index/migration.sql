-- DropIndex
DROP INDEX "User_realmId_active_idx";

-- CreateIndex
CREATE INDEX "User_realmId_status_live_idx" ON "User"("realmId", "status") WHERE ("deletedAt" IS NULL);
