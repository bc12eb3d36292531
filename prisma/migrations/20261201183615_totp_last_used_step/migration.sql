-- AlterTable
ALTER TABLE "MfaFactor" ADD COLUMN     "lastUsedStep" INTEGER;
