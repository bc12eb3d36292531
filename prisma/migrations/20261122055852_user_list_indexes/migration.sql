-- DropIndex
DROP INDEX "User_realmId_createdAt_id_idx";

-- CreateIndex
CREATE INDEX "User_realmId_createdAt_id_idx" ON "User"("realmId", "createdAt" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "User_realmId_name_id_idx" ON "User"("realmId", "name", "id");

-- CreateIndex
CREATE INDEX "User_realmId_active_idx" ON "User"("realmId") WHERE ("deletedAt" IS NULL);
