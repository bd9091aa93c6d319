// The CDK app of one stage: DataStack (network, file systems, tables: retained) and ServiceStack
// (everything replaceable), with cdk-nag's AWS Solutions checks as a validation plugin, so
// `cdk synth` and the tests fail on any finding that is not acknowledged with a reason.
import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { stageConfigFrom, type StageConfig } from './config.ts';
import { ConsoleContentStack, ConsoleSiteStack } from './console-stack.ts';
import { DataStack } from './data-stack.ts';
import { ServiceStack } from './service-stack.ts';
import { CiIdentityStack } from './ci-identity.ts';

export interface ShareBackupApp {
  app: App;
  config: StageConfig;
  data: DataStack;
  service: ServiceStack;
  /** the web console (cdk/console-stack.ts): absent with an oidcIssuer or "console": false */
  consoleSite?: ConsoleSiteStack;
  consoleContent?: ConsoleContentStack;
  /** only with -c githubRepository=<owner>/<repo> (cdk/ci-identity.ts) */
  ci?: CiIdentityStack;
}

/**
 * The checks every synth of this app runs: cdk-nag's AWS Solutions pack as a CDK validation plugin.
 * In memory (tests: NODE_ENV=test, or context `@aws-cdk/core:appMode` = `inmemory`) `app.synth()`
 * throws `ValidationFailed` on an unacknowledged finding; under the CLI the synth exits 1.
 */
export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}

export function buildApp(props: AppProps = {}): ShareBackupApp {
  const app = new App(props);
  const config = stageConfigFrom(app.node);
  const env = { account: config.account, region: config.region };
  const name = `ShareBackup-${config.stage}`;
  const data = new DataStack(app, `${name}-Data`, {
    env,
    description: 'Share backup service: network, EFS file systems, DynamoDB tables (retained)',
    terminationProtection: true,
    config,
  });
  // the console's site comes first: the service stack's CORS and sign-in client name its URL
  const consoleStage = config.console ? { ...config, console: config.console } : undefined;
  const consoleSite = consoleStage && new ConsoleSiteStack(app, `${name}-Console`, {
    env,
    description: 'Share backup service: web console site (S3 bucket, CloudFront distribution)',
    config: consoleStage,
  });
  const service = new ServiceStack(app, `${name}-Service`, {
    env,
    description: 'Share backup service: API, Lambdas, workflows, copier (stateless)',
    config,
    data,
    consoleSite,
  });
  const consoleContent = consoleStage && consoleSite && new ConsoleContentStack(app, `${name}-ConsoleContent`, {
    env,
    description: 'Share backup service: web console files and console-config.json',
    config: consoleStage,
    site: consoleSite,
    service,
  });
  const repository = app.node.tryGetContext('githubRepository') as string | undefined;
  const ci = repository ? new CiIdentityStack(app, `${name}-CI`, {
    env,
    description: 'Share backup service: the GitHub OIDC provider and the roles CI deploys and diffs this stage with',
    stage: config.stage,
    repository,
    existingProviderArn: app.node.tryGetContext('githubOidcProviderArn') as string | undefined,
  }) : undefined;
  addNagChecks(app);
  return { app, config, data, service, consoleSite, consoleContent, ci };
}
