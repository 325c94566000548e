/**
 * The hourly transform's activities: extract (dedup, clean, pseudonymise) per source, load one
 * analytics date (enrich, aggregate, one transaction), write one date's curated Parquet.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Pool } from 'pg';
import { rethrowClassified } from '../lib/errors';
import { extractSource, type ExtractInput, type ExtractOutput } from './transform-extract';
import { writeCurated, writeCuratedSnapshots, type CuratedInput, type CuratedOutput } from './transform-lake';
import { loadDate, type LoadDateInput, type LoadDateOutput } from './transform-load';

export type { ExtractInput, ExtractOutput } from './transform-extract';
export type { CuratedInput, CuratedOutput } from './transform-lake';
export type { LoadDateInput, LoadDateOutput } from './transform-load';

export interface TransformDeps { staging: Pool; analytics: Pool; s3: S3Client; bucket: string; pseudonymKey: string }

export function createTransformActivities(deps: TransformDeps) {
  return {
    async extractTransformSource(input: ExtractInput): Promise<ExtractOutput> {
      try {
        return await extractSource(deps, input);
      } catch (err) {
        rethrowClassified(err, `transform extract of ${input.source} for ${input.loadId}`);
      }
    },
    async loadAnalyticsDate(input: LoadDateInput): Promise<LoadDateOutput> {
      return loadDate(deps.analytics, input);
    },
    async writeCuratedDate(input: CuratedInput): Promise<CuratedOutput> {
      try {
        return await writeCurated(deps, input);
      } catch (err) {
        rethrowClassified(err, `curated lake write of ${input.date}`);
      }
    },
    async writeCuratedDimensions(input: CuratedInput): Promise<CuratedOutput> {
      try {
        return await writeCuratedSnapshots(deps, input);
      } catch (err) {
        rethrowClassified(err, `curated dimension snapshot of ${input.date}`);
      }
    },
  };
}

export type TransformActivities = ReturnType<typeof createTransformActivities>;
