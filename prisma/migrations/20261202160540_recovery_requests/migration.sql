-- CreateEnum
CREATE TYPE "RecoveryRequestStatus" AS ENUM ('PENDING', 'APPROVED', 'DENIED', 'EXPIRED', 'COMPLETED');

-- AlterEnum
ALTER TYPE "OneTimeLinkPurpose" ADD VALUE 'ACCOUNT_RECOVERY';

-- AlterTable
ALTER TABLE "User" ADD COLUMN     "mfaEnrolmentRequired" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "RecoveryRequest" (
    "id" UUID NOT NULL,
    "realmId" UUID NOT NULL,
    "userId" UUID NOT NULL,
    "status" "RecoveryRequestStatus" NOT NULL DEFAULT 'PENDING',
    "reason" TEXT NOT NULL,
    "ipAddress" TEXT,
    "userAgent" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "decidedAt" TIMESTAMPTZ(3),
    "decidedBy" TEXT,
    "denialReason" TEXT,
    "linkId" UUID,
    "completedAt" TIMESTAMPTZ(3),

    CONSTRAINT "RecoveryRequest_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "RecoveryRequest_realmId_status_id_idx" ON "RecoveryRequest"("realmId", "status", "id");

-- CreateIndex
CREATE INDEX "RecoveryRequest_realmId_userId_idx" ON "RecoveryRequest"("realmId", "userId");

-- CreateIndex
CREATE INDEX "RecoveryRequest_realmId_linkId_idx" ON "RecoveryRequest"("realmId", "linkId");

-- AddForeignKey
ALTER TABLE "RecoveryRequest" ADD CONSTRAINT "RecoveryRequest_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RecoveryRequest" ADD CONSTRAINT "RecoveryRequest_realmId_userId_fkey" FOREIGN KEY ("realmId", "userId") REFERENCES "User"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;
