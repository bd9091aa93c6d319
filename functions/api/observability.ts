// Powertools logger and metrics, one of each per container; the logger writes JSON to stdout, on
// Lambda and off it. No Powertools tracer: it loads the X-Ray SDK (and cls-hooked, semver), a
// seventh of the API bundle, for subsegments around each AWS call. The function keeps Lambda's
// active tracing (cdk/service-stack.ts): X-Ray still records each request through API Gateway and
// the function, with its initialization and invocation times (docs/performance.md, "API Lambda").
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'share-backup-api';

export const logger = new Logger({ serviceName });
export const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'ShareBackupService', serviceName });
