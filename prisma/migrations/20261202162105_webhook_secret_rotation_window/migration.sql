-- AlterTable
ALTER TABLE "WebhookEndpoint" ADD COLUMN     "previousSealedSecret" TEXT,
ADD COLUMN     "previousSecretExpiresAt" TIMESTAMPTZ(3);
