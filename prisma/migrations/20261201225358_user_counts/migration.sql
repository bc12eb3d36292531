-- AlterTable
ALTER TABLE "User" ADD COLUMN     "mfaFactorCount" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "UserCount" (
    "realmId" UUID NOT NULL,
    "metric" TEXT NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "count" BIGINT NOT NULL,

    CONSTRAINT "UserCount_pkey" PRIMARY KEY ("realmId","metric","bucket")
);

-- CreateTable
CREATE TABLE "UserCountDelta" (
    "id" BIGSERIAL NOT NULL,
    "realmId" UUID NOT NULL,
    "metric" TEXT NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "delta" BIGINT NOT NULL,

    CONSTRAINT "UserCountDelta_pkey" PRIMARY KEY ("id")
);

-- AddForeignKey
ALTER TABLE "UserCount" ADD CONSTRAINT "UserCount_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "UserCountDelta" ADD CONSTRAINT "UserCountDelta_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;
