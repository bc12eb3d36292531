-- CreateEnum
CREATE TYPE "OneTimeLinkPurpose" AS ENUM ('EMAIL_VERIFICATION', 'PASSWORD_RESET');

-- CreateTable
CREATE TABLE "OneTimeLink" (
    "id" UUID NOT NULL,
    "realmId" UUID NOT NULL,
    "userId" UUID NOT NULL,
    "purpose" "OneTimeLinkPurpose" NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "usedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "OneTimeLink_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "OneTimeLink_realmId_userId_purpose_idx" ON "OneTimeLink"("realmId", "userId", "purpose");

-- CreateIndex
CREATE UNIQUE INDEX "OneTimeLink_realmId_tokenHash_key" ON "OneTimeLink"("realmId", "tokenHash");

-- AddForeignKey
ALTER TABLE "OneTimeLink" ADD CONSTRAINT "OneTimeLink_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "OneTimeLink" ADD CONSTRAINT "OneTimeLink_realmId_userId_fkey" FOREIGN KEY ("realmId", "userId") REFERENCES "User"("realmId", "id") ON DELETE CASCADE ON UPDATE CASCADE;
