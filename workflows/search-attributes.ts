/**
 * The project's custom search attributes. `etl services up` registers them on the dev server;
 * every pipeline run sets them so the Temporal UI can filter by pipeline and partition.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const EtlPipeline = defineSearchAttributeKey('EtlPipeline', SearchAttributeType.KEYWORD);
export const EtlPartition = defineSearchAttributeKey('EtlPartition', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = { EtlPipeline: 'Keyword', EtlPartition: 'Keyword' } as const;
