// The web console on AWS (issue 22): a private S3 bucket behind CloudFront (origin access control),
// Cognito hosted UI sign-in (authorization code + PKCE) for a console app client, and the API's
// CORS for the console's origin.
//
// Two stacks around the service stack, because the service and the site each need a name the other
// only gets when deployed: the service needs the distribution's domain (CORS origin, the console
// client's callback URL), the deployed content needs the API URL and the client id.
//   ConsoleSiteStack     bucket, distribution, security headers        (before the service stack)
//   ServiceStack         + ConsoleSignIn (app client, hosted UI domain), CORS, preflight routes
//   ConsoleContentStack  console/dist + console-config.json into the bucket, cache invalidation
// The one place this costs precision is the CSP's connect-src: the site cannot name the API's id,
// so it allows the region's execute-api hosts (the Cognito domain is exact: its prefix is config).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Annotations, CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import type { ConsoleStageConfig, StageConfig } from './config.ts';
import type { ServiceStack } from './service-stack.ts';

const REPO_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** The file the console reads at start-up (the contract with console/: mode, apiUrl, cognito). */
export const CONSOLE_CONFIG_FILE = 'console-config.json';
/** OAuth scopes of the console client: the OIDC ones; no aws.cognito.signin.user.admin (no self-service attribute writes). */
export const CONSOLE_SCOPES = ['openid', 'email', 'profile'] as const;
/** The console's dev server (Vite), accepted only when the stage sets console.localhost. */
export const LOCALHOST_ORIGIN = 'http://localhost:5173';
/** The headers the API reads (functions/domain/microversion.ts, the JWT authorizer) and those the console may read back. */
export const CORS_ALLOW_HEADERS = ['authorization', 'content-type', 'x-openstack-manila-api-version', 'x-openstack-manila-api-experimental'];
export const CORS_EXPOSE_HEADERS = ['x-openstack-manila-api-version', 'x-openstack-manila-api-experimental', 'retry-after', 'allow'];

export function hostedUiUrl(domainPrefix: string, region: string): string {
  return `https://${domainPrefix}.auth.${region}.amazoncognito.com`;
}

/**
 * The folder deployed as the site: the stage's console.dist, else console/dist. When it does not
 * exist (tests, CI, a checkout where the console was not built) the stacks synthesize against a
 * one-page placeholder generated into the temp dir here, never committed, and the stack carries a
 * warning: deploying it would publish "not built" instead of the console.
 */
export function consoleAssetPath(config: ConsoleStageConfig): { path: string; placeholder: boolean } {
  const dist = resolve(REPO_ROOT, config.dist ?? 'console/dist');
  if (existsSync(join(dist, 'index.html'))) return { path: dist, placeholder: false };
  const placeholder = join(tmpdir(), 'share-backup-console-placeholder');
  mkdirSync(placeholder, { recursive: true });
  writeFileSync(join(placeholder, 'index.html'),
    '<!doctype html><html lang="en"><meta charset="utf-8"><title>Share backups</title><p>The console was not built (npm run build in console/) when this stage was deployed.</p></html>\n');
  return { path: placeholder, placeholder: true };
}

/**
 * CloudFront Function (viewer request): a path whose last segment has no dot is a client route of
 * the single-page app and gets index.html; files (assets, console-config.json) are served as they
 * are, so a missing asset is a 403 from S3, not an HTML page with status 200.
 */
export const SPA_FALLBACK_CODE = `function handler(event) {
  var request = event.request;
  var last = request.uri.substring(request.uri.lastIndexOf('/') + 1);
  if (last.indexOf('.') === -1) request.uri = '/index.html';
  return request;
}`;

function acknowledge(scope: Construct, acknowledgements: Record<string, string>): void {
  for (const [id, reason] of Object.entries(acknowledgements)) Validations.of(scope).acknowledge({ id, reason });
}

/** Named, so the content stack grants on a known ARN (and cdk-nag's findings name it). */
export function consoleBucketName(config: StageConfig): string {
  return `share-backup-${config.stage}-console-${config.account}-${config.region}`;
}

export interface ConsoleSiteStackProps extends StackProps {
  config: StageConfig & { console: ConsoleStageConfig };
}

export class ConsoleSiteStack extends Stack {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  /** https://<site domain> (no trailing slash): the CORS origin */
  readonly origin: string;
  /** https://<site domain>/ : the console's sign-in redirect and sign-out URL */
  readonly url: string;
  readonly hostedUiUrl: string;

  constructor(scope: Construct, id: string, props: ConsoleSiteStackProps) {
    super(scope, id, props);
    const { config } = props;
    const prefix = `share-backup-${config.stage}`;
    this.hostedUiUrl = hostedUiUrl(config.console.domainPrefix, config.region);

    this.bucket = new s3.Bucket(this, 'SiteBucket', {
      bucketName: consoleBucketName(config),
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // not versioned: the content is a build of a commit, replaced whole by every deployment; a
      // rollback is a deployment of the older commit, so old versions would only cost storage
      versioned: false,
      // retained: CloudFormation cannot delete a bucket with objects; it holds nothing that a
      // deployment cannot recreate, so deleting it by hand after a teardown loses nothing
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const csp = [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      "font-src 'self'",
      // the API (its id is not known to this stack, see the top of the file) and the token endpoint
      `connect-src 'self' https://*.execute-api.${config.region}.amazonaws.com ${this.hostedUiUrl}`,
      "form-action 'self'",
      "frame-ancestors 'none'",
      "base-uri 'self'",
      "object-src 'none'",
    ].join('; ');
    const headers = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      responseHeadersPolicyName: `${prefix}-console-headers`,
      comment: 'Web console: security headers; browsers revalidate every file (deployments invalidate the edge caches)',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: csp, override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        // the redirect back from sign-in carries ?code=...&state=... : never send it elsewhere
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
      customHeadersBehavior: {
        customHeaders: [
          { header: 'Cache-Control', value: 'no-cache', override: false },
          { header: 'Permissions-Policy', value: 'camera=(), microphone=(), geolocation=(), payment=()', override: true },
        ],
      },
    });
    const spaFallback = new cloudfront.Function(this, 'SpaFallback', {
      functionName: `${prefix}-console-spa-fallback`,
      comment: 'Client routes of the web console get index.html',
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      code: cloudfront.FunctionCode.fromInline(SPA_FALLBACK_CODE),
    });

    const custom = config.console.domainName && config.console.certificateArn
      ? { domainNames: [config.console.domainName], certificate: Certificate.fromCertificateArn(this, 'Certificate', config.console.certificateArn),
        minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 }
      : {};
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `Share backup web console (${config.stage})`,
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket, { originAccessLevels: [cloudfront.AccessLevel.READ] }),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
        functionAssociations: [{ function: spaFallback, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
        compress: true,
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      // no access logs: see acknowledgements (AwsSolutions-CFR3)
      enableLogging: false,
      ...custom,
    });
    const host = config.console.domainName ?? this.distribution.distributionDomainName;
    this.origin = `https://${host}`;
    this.url = `${this.origin}/`;

    new CfnOutput(this, 'ConsoleUrl', { value: this.url, description: 'The web console' });
    new CfnOutput(this, 'ConsoleDistributionDomain', { value: this.distribution.distributionDomainName });
    new CfnOutput(this, 'ConsoleBucketName', { value: this.bucket.bucketName });

    acknowledge(this.bucket, {
      'AwsSolutions-S1': 'The bucket holds only the console build; it is read by CloudFront through origin access control and written only by the deployment. Server access logs would record nothing but CloudFront fetches of public files.',
    });
    acknowledge(this.distribution, {
      'AwsSolutions-CFR1': 'Tenants may work from any country; the site serves only static files and every data request is authenticated by the API.',
      'AwsSolutions-CFR2': 'The distribution serves only static files with no data and no credentials; the API is protected by its JWT authorizer and stage throttling. A web ACL would add cost without protecting data.',
      'AwsSolutions-CFR3': 'No access logs: the site is static and public, every action a user takes goes through the API, whose access logs record caller, project and route; the site log would mainly collect one-time authorization codes from the sign-in redirect. CloudFront request and error metrics stay in CloudWatch.',
      ...(custom.certificate ? {} : {
        'AwsSolutions-CFR4': 'Without a custom domain the distribution uses the *.cloudfront.net certificate, whose security policy CloudFront fixes (TLSv1) and which cannot be changed; set console.domainName and console.certificateArn to get TLSv1.2_2021. Browsers negotiate TLS 1.3/1.2 with it anyway, and HSTS is sent.',
      }),
    });
  }
}

export interface ConsoleSignInProps {
  userPool: cognito.UserPool;
  site: ConsoleSiteStack;
  stage: string;
  console: ConsoleStageConfig;
}

/**
 * The console's sign-in, in the stack that owns the user pool: a public app client (no secret,
 * authorization code grant only, PKCE enforced by the console; Cognito requires no PKCE for public
 * clients, so the console always sends it) and the hosted UI domain. Tokens get project_id and roles
 * from the pool's pre-token-generation trigger, which runs for every client of the pool.
 */
export class ConsoleSignIn extends Construct {
  readonly client: cognito.UserPoolClient;
  readonly domain: cognito.UserPoolDomain;
  readonly redirectUrls: string[];

  constructor(scope: Construct, id: string, props: ConsoleSignInProps) {
    super(scope, id);
    const { site, userPool } = props;
    this.redirectUrls = [site.url, ...(props.console.localhost ? [`${LOCALHOST_ORIGIN}/`] : [])];
    this.client = new cognito.UserPoolClient(this, 'Client', {
      userPool,
      userPoolClientName: `share-backup-${props.stage}-console`,
      generateSecret: false,
      // sign-in only through the hosted UI: no SRP or password flow on this client; the refresh
      // token flow stays (Cognito always lists it), the console keeps no refresh token
      authFlows: { userSrp: false },
      oAuth: {
        flows: { authorizationCodeGrant: true, implicitCodeGrant: false, clientCredentials: false },
        scopes: CONSOLE_SCOPES.map((s) => cognito.OAuthScope.custom(s)),
        callbackUrls: this.redirectUrls,
        logoutUrls: this.redirectUrls,
      },
      supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      // as the CLI's client: an hour, then the user signs in again (the hosted UI session may
      // spare the password); the refresh token at Cognito's minimum, as the console does not use it
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(1),
      authSessionValidity: Duration.minutes(5),
      readAttributes: new cognito.ClientAttributes().withStandardAttributes({ email: true }).withCustomAttributes('project_id'),
      writeAttributes: new cognito.ClientAttributes().withStandardAttributes({ email: true }),
    });
    this.domain = new cognito.UserPoolDomain(this, 'Domain', {
      userPool,
      cognitoDomain: { domainPrefix: props.console.domainPrefix },
      // the classic hosted UI works without a branding resource (managed login needs one per client)
      managedLoginVersion: cognito.ManagedLoginVersion.CLASSIC_HOSTED_UI,
    });
    new CfnOutput(Stack.of(this), 'ConsoleClientId', { value: this.client.userPoolClientId });
    new CfnOutput(Stack.of(this), 'ConsoleHostedUiUrl', { value: site.hostedUiUrl });
  }
}

/** The API's CORS: the console's origin (and the dev server's when enabled), bearer tokens, no cookies. */
export function consoleCorsPreflight(site: ConsoleSiteStack, config: ConsoleStageConfig): apigwv2.CorsPreflightOptions {
  return {
    allowOrigins: [site.origin, ...(config.localhost ? [LOCALHOST_ORIGIN] : [])],
    allowMethods: [apigwv2.CorsHttpMethod.GET, apigwv2.CorsHttpMethod.HEAD, apigwv2.CorsHttpMethod.POST, apigwv2.CorsHttpMethod.PUT, apigwv2.CorsHttpMethod.DELETE],
    allowHeaders: CORS_ALLOW_HEADERS,
    exposeHeaders: CORS_EXPOSE_HEADERS,
    allowCredentials: false,
    maxAge: Duration.hours(1),
  };
}

/**
 * Unauthenticated OPTIONS routes, so that a browser's preflight is answered by API Gateway's CORS
 * configuration instead of being caught by the JWT-protected `$default` and `ANY /v2/{proxy+}` routes
 * (API Gateway developer guide, "Configuring CORS for an HTTP API with a $default route and an
 * authorizer": an OPTIONS /{proxy+} route without authorization, with an integration attached).
 */
export function addPreflightRoutes(api: apigwv2.HttpApi, integration: apigwv2.HttpRouteIntegration): apigwv2.HttpRoute[] {
  const routes = ['/{proxy+}', '/v2/{proxy+}'].flatMap((path) => api.addRoutes({
    path, methods: [apigwv2.HttpMethod.OPTIONS], integration, authorizer: new apigwv2.HttpNoneAuthorizer(),
  }));
  for (const route of routes) {
    acknowledge(route, {
      'AwsSolutions-APIG4': 'CORS preflight (OPTIONS) requests carry no credentials by design (Fetch standard); API Gateway answers them from the CORS configuration. Every other method keeps the JWT authorizer.',
    });
  }
  return routes;
}

/** The console's configuration, written to console-config.json at the site root (the contract with console/). */
export interface ConsoleRuntimeConfig {
  mode: 'cognito';
  apiUrl: string;
  cognito: { domain: string; clientId: string; redirectUri: string; scopes: string[] };
}

export interface ConsoleContentStackProps extends StackProps {
  config: StageConfig & { console: ConsoleStageConfig };
  site: ConsoleSiteStack;
  service: ServiceStack;
}

export class ConsoleContentStack extends Stack {
  readonly runtimeConfig: ConsoleRuntimeConfig;
  readonly deployment: s3deploy.BucketDeployment;
  readonly placeholder: boolean;

  constructor(scope: Construct, id: string, props: ConsoleContentStackProps) {
    super(scope, id, props);
    const { config, site, service } = props;
    if (!service.consoleSignIn) throw new Error('ConsoleContentStack needs the service stack\'s console sign-in (a Cognito user pool)');
    const asset = consoleAssetPath(config.console);
    this.placeholder = asset.placeholder;
    if (asset.placeholder) {
      Annotations.of(this).addWarningV2('share-backup:console-placeholder',
        `${config.console.dist ?? 'console/dist'} has no index.html: synthesized with a placeholder page (${asset.path}); build the console before deploying.`);
    }
    this.runtimeConfig = {
      mode: 'cognito',
      apiUrl: service.api.apiEndpoint,
      cognito: {
        domain: site.hostedUiUrl,
        clientId: service.consoleSignIn.client.userPoolClientId,
        redirectUri: site.url,
        scopes: [...CONSOLE_SCOPES],
      },
    };
    this.deployment = new s3deploy.BucketDeployment(this, 'Deployment', {
      // by name: the grants name the bucket's ARN, not an import from the site stack
      destinationBucket: s3.Bucket.fromBucketName(this, 'SiteBucket', consoleBucketName(config)),
      // the config last: it replaces a console-config.json the build may carry for local use
      sources: [s3deploy.Source.asset(asset.path), s3deploy.Source.jsonData(CONSOLE_CONFIG_FILE, this.runtimeConfig)],
      prune: true,
      distribution: site.distribution,
      distributionPaths: ['/*'],
      memoryLimit: 256,
      logGroup: new logs.LogGroup(this, 'DeploymentLogs', { retention: config.logRetention, removalPolicy: RemovalPolicy.DESTROY }),
    });

    // aws-cdk-lib grants the handler CloudFront invalidations on every distribution ("*"): an explicit
    // deny narrows it to this site's distribution
    const distributionArn = Stack.of(site).formatArn({ service: 'cloudfront', region: '', resource: 'distribution', resourceName: site.distribution.distributionId });
    this.deployment.handlerRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'InvalidateOnlyTheConsoleDistribution',
      effect: iam.Effect.DENY,
      actions: ['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation'],
      notResources: [distributionArn],
    }));

    const handler = this.node.findAll().find((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
    if (!handler) throw new Error('BucketDeployment handler not found: aws-cdk-lib changed its construct id; acknowledge its findings anew');
    acknowledge(handler, {
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]':
        'The BucketDeployment handler (aws-cdk-lib) runs with the AWS managed basic execution role: CloudWatch Logs log group, stream and events only.',
      'AwsSolutions-L1': 'The BucketDeployment handler (Python) is aws-cdk-lib\'s own function; its runtime moves with the aws-cdk-lib version, not with this project\'s code.',
      'AwsSolutions-IAM5[Action::s3:GetObject*]': 'aws-cdk-lib\'s read grant, limited to the CDK asset bucket (the zipped console build) and the site bucket.',
      'AwsSolutions-IAM5[Action::s3:GetBucket*]': 'aws-cdk-lib\'s read grant, limited to the CDK asset bucket and the site bucket.',
      'AwsSolutions-IAM5[Action::s3:List*]': 'aws-cdk-lib\'s read grant, limited to the CDK asset bucket and the site bucket (the deployment lists the site to prune it).',
      'AwsSolutions-IAM5[Action::s3:DeleteObject*]': 'Pruning: files of an earlier console build are deleted; limited to the site bucket.',
      'AwsSolutions-IAM5[Action::s3:Abort*]': 'Aborting multipart uploads of the deployment; limited to the site bucket.',
      [`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-${this.account}-${this.region}/*]`]:
        'Asset object keys are content hashes known only at publish time; reads only, in the bootstrap\'s asset bucket.',
      [`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${consoleBucketName(config)}/*]`]: 'The deployment writes every file of the console build, whose names are known only at build time; the site bucket only.',
      'AwsSolutions-IAM5[Resource::*]': 'cloudfront:CreateInvalidation and cloudfront:GetInvalidation on Resource "*", as aws-cdk-lib\'s BucketDeployment grants them; the InvalidateOnlyTheConsoleDistribution deny limits them to this site\'s distribution.',
    });
  }
}
