-- AlterTable
ALTER TABLE "Realm" ADD COLUMN     "sessionIdleTimeoutSeconds" INTEGER NOT NULL DEFAULT 1209600,
ADD COLUMN     "sessionMaxLifetimeSeconds" INTEGER NOT NULL DEFAULT 2592000;
