-- AlterTable
ALTER TABLE "LoginEvent" ADD COLUMN     "tenantId" UUID;

-- AlterTable
ALTER TABLE "Session" ADD COLUMN     "tenantId" UUID;
