-- CreateIndex
CREATE INDEX "User_realmId_country_status_live_idx" ON "User"("realmId", "country", "status") WHERE ("deletedAt" IS NULL);
