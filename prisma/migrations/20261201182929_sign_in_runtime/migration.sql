-- AlterTable
ALTER TABLE "Application" ADD COLUMN     "postLogoutRedirectUris" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "Session" ADD COLUMN     "providerSessionUid" TEXT;

-- CreateIndex
CREATE INDEX "Session_realmId_providerSessionUid_idx" ON "Session"("realmId", "providerSessionUid");
