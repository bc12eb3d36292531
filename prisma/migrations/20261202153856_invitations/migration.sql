-- AlterEnum
ALTER TYPE "OneTimeLinkPurpose" ADD VALUE 'INVITATION';

-- AlterTable
ALTER TABLE "OneTimeLink" ADD COLUMN     "revokedAt" TIMESTAMPTZ(3),
ADD COLUMN     "tenantId" UUID;

-- CreateIndex
CREATE INDEX "OneTimeLink_realmId_tenantId_idx" ON "OneTimeLink"("realmId", "tenantId");

-- AddForeignKey
ALTER TABLE "OneTimeLink" ADD CONSTRAINT "OneTimeLink_realmId_tenantId_fkey" FOREIGN KEY ("realmId", "tenantId") REFERENCES "Tenant"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;
