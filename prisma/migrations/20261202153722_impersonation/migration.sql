-- CreateEnum
CREATE TYPE "ImpersonationMode" AS ENUM ('READ_ONLY', 'FULL');

-- AlterTable
ALTER TABLE "Realm" ADD COLUMN     "impersonateAdministrators" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "impersonationEnabled" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "Session" ADD COLUMN     "impersonatedBy" TEXT,
ADD COLUMN     "impersonationMode" "ImpersonationMode";
