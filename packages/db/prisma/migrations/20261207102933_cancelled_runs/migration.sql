-- AlterEnum
ALTER TYPE "JobState" ADD VALUE 'cancelled';
