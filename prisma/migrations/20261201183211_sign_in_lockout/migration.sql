-- AlterTable
ALTER TABLE "Realm" ADD COLUMN     "failedSignInWindowSeconds" INTEGER NOT NULL DEFAULT 900,
ADD COLUMN     "lockoutSeconds" INTEGER NOT NULL DEFAULT 300,
ADD COLUMN     "maxFailedSignIns" INTEGER NOT NULL DEFAULT 5;

-- AlterTable
ALTER TABLE "User" ADD COLUMN     "lastFailedLoginAt" TIMESTAMPTZ(3),
ADD COLUMN     "lockoutCount" INTEGER NOT NULL DEFAULT 0;
