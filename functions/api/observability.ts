// Powertools logger, tracer and metrics, one of each per container. Outside Lambda the tracer
// disables itself (no X-Ray daemon) and the logger writes JSON to stdout as on Lambda.
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'share-backup-api';

export const logger = new Logger({ serviceName });
export const tracer = new Tracer({ serviceName });
export const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'ShareBackupService', serviceName });
