-- CreateIndex
CREATE INDEX "User_realmId_deletedAt_idx" ON "User"("realmId", "deletedAt") WHERE ("deletedAt" IS NOT NULL);
