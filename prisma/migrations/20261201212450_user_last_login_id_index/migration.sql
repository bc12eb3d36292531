-- DropIndex
DROP INDEX "User_realmId_lastLoginAt_idx";

-- CreateIndex
CREATE INDEX "User_realmId_lastLoginAt_id_idx" ON "User"("realmId", "lastLoginAt", "id");
