// The web console on AWS (cdk/console-stack.ts): the whole app synthesized once with cdk.json's
// context and cdk-nag, then the console's two stacks and its part of the service stack are checked.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type ShareBackupApp } from '../../cdk/app.ts';
import { stageConfigFrom } from '../../cdk/config.ts';
import { CONSOLE_CONFIG_FILE, ConsoleSignIn, consoleCorsPreflight, ConsoleSiteStack, SPA_FALLBACK_CODE } from '../../cdk/console-stack.ts';
import { REPO_ROOT } from '../../cdk/service-stack.ts';

/**
 * The warning a synth without a built console gives (console-stack.ts: the site is synthesized
 * with a placeholder page; tested on its own in console-stack.test.ts). The validation report
 * lists warnings beside cdk-nag's findings; this one is expected here, where nothing was built.
 */
const isNotConsolePlaceholder = (violation: unknown) => (violation as { ruleName?: string }).ruleName !== 'Annotation::share-backup:console-placeholder';

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };
type Statement = { Effect: string; Principal?: unknown; Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, unknown>> };

const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };

let outdir: string;
let built: ShareBackupApp;
let site: Template;
let content: Template;
let service: Template;

const resourcesOf = (template: Template, type: string) => template.findResources(type) as Record<string, Resource>;
const only = (template: Template, type: string) => {
  const all = Object.entries(resourcesOf(template, type));
  expect(all, type).toHaveLength(1);
  return { id: all[0]![0], ...all[0]![1] };
};

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'cdk-console-test-'));
  built = buildApp({ outdir, context: cdkJson.context });
  // throws when cdk-nag reports an unacknowledged finding
  built.app.synth();
  site = Template.fromStack(built.consoleSite!);
  content = Template.fromStack(built.consoleContent!);
  service = Template.fromStack(built.service);
}, 180_000);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('console stacks', () => {
  it('are part of the app by default: site before the service, content after it', () => {
    expect(built.consoleSite?.stackName).toBe('ShareBackup-dev-Console');
    expect(built.consoleContent?.stackName).toBe('ShareBackup-dev-ConsoleContent');
    expect(built.service.dependencies).toContain(built.consoleSite);
    expect(built.consoleContent!.dependencies).toEqual(expect.arrayContaining([built.consoleSite, built.service]));
  });

  it('pass cdk-nag with only the console\'s specific acknowledgements', () => {
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as { pluginReports: { violations?: unknown[] }[] };
    for (const plugin of report.pluginReports) expect((plugin.violations ?? []).filter(isNotConsolePlaceholder)).toEqual([]);
    const ids = [built.consoleSite!, built.consoleContent!].flatMap((stack) => stack.node.findAll())
      .flatMap((c) => c.node.metadata).map((m) => JSON.stringify(m.data)).join('\n');
    const acks = [...ids.matchAll(/AwsSolutions-[A-Z]+[0-9]+(\[[^\]]*\])?/g)].map((m) => m[0]);
    for (const rule of ['AwsSolutions-S1', 'AwsSolutions-CFR1', 'AwsSolutions-CFR2', 'AwsSolutions-CFR3', 'AwsSolutions-CFR4']) expect(acks).toContain(rule);
    // wildcard findings are acknowledged one action or resource at a time, never as a whole rule
    expect(acks.filter((a) => /^AwsSolutions-IAM[45]$/.test(a))).toEqual([]);
    // what the site must never need: public or plain-HTTP buckets, origins without OAC or TLS
    expect(acks.filter((a) => /^AwsSolutions-(S2|S10|CFR5|CFR6|CFR7)$/.test(a))).toEqual([]);
  });
});

describe('site', () => {
  it('has a private, encrypted, SSL-only bucket with every public access blocked', () => {
    const bucket = only(site, 'AWS::S3::Bucket');
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(JSON.stringify(bucket.Properties.BucketEncryption)).toContain('"SSEAlgorithm":"AES256"');
    expect(bucket.Properties.WebsiteConfiguration).toBeUndefined();
    expect(bucket.Properties.AccessControl).toBeUndefined();
    expect(bucket.DeletionPolicy).toBe('Retain');
  });

  it('lets only this distribution read the bucket (OAC, AWS:SourceArn), and denies plain HTTP', () => {
    const policy = only(site, 'AWS::S3::BucketPolicy');
    const statements = (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
    const allows = statements.filter((s) => s.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    const allow = allows[0]!;
    expect(allow.Principal).toEqual({ Service: 'cloudfront.amazonaws.com' });
    expect([allow.Action].flat()).toEqual(['s3:GetObject']);
    const sourceArn = JSON.stringify(allow.Condition?.StringEquals?.['AWS:SourceArn']);
    expect(sourceArn).toContain(only(site, 'AWS::CloudFront::Distribution').id);
    expect(sourceArn).toContain('distribution/');
    const deny = statements.find((s) => s.Effect === 'Deny')!;
    expect(deny.Condition).toEqual({ Bool: { 'aws:SecureTransport': 'false' } });
  });

  it('serves the bucket through CloudFront with origin access control, not an origin access identity', () => {
    const oac = only(site, 'AWS::CloudFront::OriginAccessControl');
    expect(oac.Properties.OriginAccessControlConfig).toMatchObject({ OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' });
    expect(site.findResources('AWS::CloudFront::CloudFrontOriginAccessIdentity')).toEqual({});
    const config = only(site, 'AWS::CloudFront::Distribution').Properties.DistributionConfig as Record<string, unknown>;
    const origins = config.Origins as { OriginAccessControlId?: unknown; S3OriginConfig?: { OriginAccessIdentity?: string } }[];
    expect(origins).toHaveLength(1);
    expect(JSON.stringify(origins[0]!.OriginAccessControlId)).toContain(oac.id);
    expect(origins[0]!.S3OriginConfig?.OriginAccessIdentity ?? '').toBe('');
    expect(config.DefaultRootObject).toBe('index.html');
    expect(config.HttpVersion).toBe('http2and3');
    const behavior = config.DefaultCacheBehavior as Record<string, unknown>;
    expect(behavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(behavior.AllowedMethods).toEqual(['GET', 'HEAD']);
    expect(JSON.stringify(behavior.FunctionAssociations)).toContain('viewer-request');
    expect(config.Logging).toBeUndefined();
  });

  it('sends the security headers: HSTS, a CSP naming the API hosts and the hosted UI, nosniff, no framing', () => {
    const policy = only(site, 'AWS::CloudFront::ResponseHeadersPolicy').Properties.ResponseHeadersPolicyConfig as {
      SecurityHeadersConfig: Record<string, Record<string, unknown>>; CustomHeadersConfig: { Items: { Header: string; Value: string }[] };
    };
    const security = policy.SecurityHeadersConfig;
    expect(security.StrictTransportSecurity).toMatchObject({ AccessControlMaxAgeSec: 31_536_000, IncludeSubdomains: true, Override: true });
    expect(security.ContentTypeOptions).toEqual({ Override: true });
    expect(security.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
    expect(security.ReferrerPolicy).toMatchObject({ ReferrerPolicy: 'no-referrer' });
    const csp = security.ContentSecurityPolicy!.ContentSecurityPolicy as string;
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'self'");
    expect(csp).toMatch(/connect-src 'self' https:\/\/\*\.execute-api\.eu-west-1\.amazonaws\.com https:\/\/share-backup-dev-111111111111\.auth\.eu-west-1\.amazoncognito\.com(;|$)/);
    expect(csp).not.toContain('unsafe-');
    expect(policy.CustomHeadersConfig.Items.map((h) => h.Header)).toContain('Cache-Control');
  });

  it('falls back to index.html for client routes only (CloudFront Function)', () => {
    const fn = only(site, 'AWS::CloudFront::Function');
    expect(fn.Properties.FunctionCode).toBe(SPA_FALLBACK_CODE);
    const handler = new Function(`${SPA_FALLBACK_CODE}; return handler;`)() as (e: { request: { uri: string } }) => { uri: string };
    const uri = (path: string) => handler({ request: { uri: path } }).uri;
    expect(uri('/')).toBe('/index.html');
    expect(uri('/shares/0b6f1c3a-0000-4000-8000-000000000000')).toBe('/index.html');
    expect(uri('/backups/')).toBe('/index.html');
    expect(uri('/assets/index-4f2a.js')).toBe('/assets/index-4f2a.js');
    expect(uri(`/${CONSOLE_CONFIG_FILE}`)).toBe(`/${CONSOLE_CONFIG_FILE}`);
  });

  it('outputs the console URL', () => {
    expect(Object.keys(site.findOutputs('ConsoleUrl'))).toHaveLength(1);
  });
});

describe('content', () => {
  it('deploys the console files and console-config.json with the contract\'s keys', () => {
    const deployment = only(content, 'Custom::CDKBucketDeployment');
    expect(deployment.Properties.Prune).toBe(true);
    expect(JSON.stringify(deployment.Properties.DistributionPaths)).toBe('["/*"]');
    expect(deployment.Properties.SourceObjectKeys as unknown[]).toHaveLength(2);
    const markers = (deployment.Properties.SourceMarkers as Record<string, unknown>[])[1]!;
    const config = built.consoleContent!.runtimeConfig;
    expect(Object.keys(config).sort()).toEqual(['apiUrl', 'cognito', 'mode']);
    expect(Object.keys(config.cognito).sort()).toEqual(['clientId', 'domain', 'redirectUri', 'scopes']);
    expect(config.mode).toBe('cognito');
    expect(config.cognito.domain).toBe('https://share-backup-dev-111111111111.auth.eu-west-1.amazoncognito.com');
    expect(config.cognito.scopes).toEqual(['openid', 'email', 'profile']);
    // the deploy-time values arrive as markers: the API endpoint, the client id, the distribution's domain
    const rendered = JSON.stringify(markers);
    expect(rendered).toMatch(/ImportValue.*ApiId|ImportValue.*Api[0-9A-F]/);
    expect(rendered).toMatch(/ConsoleSignInClient/);
    expect(rendered).toMatch(/Distribution.*DomainName/);
  });

  it('lets the deployment invalidate only the console\'s distribution', () => {
    const statements = Object.values(resourcesOf(content, 'AWS::IAM::Policy'))
      .flatMap((p) => (p.Properties.PolicyDocument as { Statement: (Statement & { NotResource?: unknown; Sid?: string })[] }).Statement);
    const deny = statements.find((s) => s.Sid === 'InvalidateOnlyTheConsoleDistribution')!;
    expect(deny.Effect).toBe('Deny');
    expect([deny.Action].flat().sort()).toEqual(['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation']);
    expect(JSON.stringify(deny.NotResource)).toMatch(/distribution\/.*ImportValue.*Distribution/);
    // writes only into the site bucket
    const writes = statements.filter((s) => [s.Action].flat().includes('s3:PutObject'));
    expect(writes).toHaveLength(1);
    expect(JSON.stringify(writes[0]!.Resource)).toContain(':s3:::share-backup-dev-console-111111111111-eu-west-1');
  });

  it('synthesizes against a generated placeholder when the console was not built, and warns', () => {
    if (!built.consoleContent!.placeholder) return; // a built console/dist is deployed as it is
    const warnings = built.consoleContent!.node.metadata.filter((m) => m.type === 'aws:cdk:warning').map((m) => String(m.data));
    expect(warnings.join('\n')).toMatch(/placeholder page/);
  });
});

describe('sign-in (service stack)', () => {
  const consoleClient = () => Object.values(resourcesOf(service, 'AWS::Cognito::UserPoolClient'))
    .find((c) => String(c.Properties.ClientName).endsWith('-console'))!;

  it('has a console app client without a secret, code grant only, redirecting to the distribution', () => {
    const client = consoleClient().Properties;
    expect(client.GenerateSecret).toBe(false);
    expect(client.AllowedOAuthFlows).toEqual(['code']);
    expect(client.AllowedOAuthFlowsUserPoolClient).toBe(true);
    expect(client.AllowedOAuthScopes).toEqual(['openid', 'email', 'profile']);
    expect(client.ExplicitAuthFlows).toEqual(['ALLOW_REFRESH_TOKEN_AUTH']);
    expect(client.SupportedIdentityProviders).toEqual(['COGNITO']);
    for (const urls of [client.CallbackURLs, client.LogoutURLs]) {
      expect(urls).toHaveLength(1); // no http://localhost:5173/ unless the stage enables it
      expect(JSON.stringify(urls)).toMatch(/ImportValue.*Distribution.*DomainName/);
    }
    expect(client).toMatchObject({ AccessTokenValidity: 60, IdTokenValidity: 60, RefreshTokenValidity: 60 });
  });

  it('has a hosted UI domain with the stage\'s prefix', () => {
    const domain = only(service, 'AWS::Cognito::UserPoolDomain');
    expect(domain.Properties.Domain).toBe('share-backup-dev-111111111111');
    expect(domain.Properties.ManagedLoginVersion).toBe(1);
  });

  it('makes the API accept the console client\'s tokens and the console\'s origin', () => {
    const authorizer = only(service, 'AWS::ApiGatewayV2::Authorizer');
    const audience = (authorizer.Properties.JwtConfiguration as { Audience: unknown[] }).Audience;
    expect(audience).toHaveLength(2);
    expect(JSON.stringify(audience)).toMatch(/CliClient.*ConsoleSignInClient/);
    const api = only(service, 'AWS::ApiGatewayV2::Api');
    const cors = api.Properties.CorsConfiguration as Record<string, unknown>;
    expect(cors.AllowOrigins as unknown[]).toHaveLength(1);
    expect(JSON.stringify(cors.AllowOrigins)).toMatch(/ImportValue.*Distribution.*DomainName/);
    expect(cors.AllowCredentials).toBe(false);
    expect(cors.AllowHeaders).toEqual(expect.arrayContaining(['authorization', 'x-openstack-manila-api-version']));
    // preflights are not caught by the JWT-protected routes
    const routes = Object.values(resourcesOf(service, 'AWS::ApiGatewayV2::Route')).filter((r) => String(r.Properties.RouteKey).startsWith('OPTIONS'));
    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual(['OPTIONS /v2/{proxy+}', 'OPTIONS /{proxy+}']);
    for (const route of routes) expect(route.Properties.AuthorizationType).toBe('NONE');
  });

  it('gives the console client\'s tokens project_id and roles: the pool-wide pre-token-generation trigger (v2)', () => {
    const pool = only(service, 'AWS::Cognito::UserPool');
    expect(JSON.stringify(pool.Properties.LambdaConfig)).toContain('"LambdaVersion":"V2_0"');
    expect(pool.Properties.UserPoolTier).toBe('PLUS'); // access-token claims need Essentials or Plus
    expect(consoleClient().Properties.ReadAttributes).toEqual(expect.arrayContaining(['custom:project_id']));
    expect(consoleClient().Properties.WriteAttributes).not.toContain('custom:project_id');
  });
});

describe('stage configuration: console', () => {
  const base = { account: '123456789012', region: 'eu-west-1' };
  const consoleOf = (context: Record<string, unknown>) => stageConfigFrom(new App({ context: { ...base, ...context } }).node).console;

  it('is on by default with a prefix from stage and account, off with "console": false or an external issuer', () => {
    expect(consoleOf({})).toEqual({ domainPrefix: 'share-backup-dev-123456789012', localhost: false, dist: undefined, domainName: undefined, certificateArn: undefined });
    expect(consoleOf({ console: 'false' })).toBeUndefined();
    expect(consoleOf({ stages: { dev: { console: false } } })).toBeUndefined();
    expect(consoleOf({ oidcIssuer: 'https://id.example.com', oidcAudience: 'a' })).toBeUndefined();
    expect(() => consoleOf({ oidcIssuer: 'https://id.example.com', oidcAudience: 'a', console: { localhost: true } })).toThrow(/Cognito/);
  });

  it('takes a prefix, localhost and a custom domain, and refuses what Cognito or CloudFront would', () => {
    expect(consoleOf({ console: '{"domainPrefix":"acme-backups","localhost":true}' })).toMatchObject({ domainPrefix: 'acme-backups', localhost: true });
    expect(() => consoleOf({ console: { domainPrefix: 'my-aws-console' } })).toThrow(/domainPrefix/);
    expect(() => consoleOf({ console: { domainPrefix: 'Upper' } })).toThrow(/domainPrefix/);
    expect(() => consoleOf({ console: { domainName: 'console.example.com' } })).toThrow(/together/);
    expect(() => consoleOf({ console: { domainName: 'c.example.com', certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/x' } })).toThrow(/us-east-1/);
  });
});

describe('stage options (site and sign-in alone, without the service)', () => {
  function synthesized(console: Record<string, unknown>) {
    const app = new App({ context: { account: '123456789012', region: 'eu-west-1', console } });
    const config = stageConfigFrom(app.node);
    const stage = { ...config, console: config.console! };
    const env = { account: config.account, region: config.region };
    const consoleSite = new ConsoleSiteStack(app, 'Site', { env, config: stage });
    const identity = new Stack(app, 'Identity', { env });
    const userPool = new cognito.UserPool(identity, 'Pool');
    new ConsoleSignIn(identity, 'ConsoleSignIn', { userPool, site: consoleSite, stage: stage.stage, console: stage.console });
    new apigwv2.HttpApi(identity, 'Api', { corsPreflight: consoleCorsPreflight(consoleSite, stage.console) });
    return { site: Template.fromStack(consoleSite), identity: Template.fromStack(identity) };
  }

  it('localhost: the dev server is a redirect URL and a CORS origin too', () => {
    const { identity } = synthesized({ localhost: true });
    const client = only(identity, 'AWS::Cognito::UserPoolClient').Properties;
    for (const urls of [client.CallbackURLs, client.LogoutURLs] as unknown[][]) {
      expect(urls).toHaveLength(2);
      expect(urls[1]).toBe('http://localhost:5173/');
    }
    const cors = only(identity, 'AWS::ApiGatewayV2::Api').Properties.CorsConfiguration as { AllowOrigins: unknown[] };
    expect(cors.AllowOrigins).toHaveLength(2);
    expect(cors.AllowOrigins[1]).toBe('http://localhost:5173');
  });

  it('a custom domain with its certificate: TLS 1.2 for viewers, and the URLs name the domain', () => {
    const { site: custom, identity } = synthesized({ domainName: 'console.example.com', certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc' });
    const config = only(custom, 'AWS::CloudFront::Distribution').Properties.DistributionConfig as Record<string, unknown>;
    expect(config.Aliases).toEqual(['console.example.com']);
    expect(config.ViewerCertificate).toMatchObject({ MinimumProtocolVersion: 'TLSv1.2_2021', SslSupportMethod: 'sni-only' });
    expect(Object.values(custom.findOutputs('ConsoleUrl'))[0]!.Value).toBe('https://console.example.com/');
    expect(only(identity, 'AWS::Cognito::UserPoolClient').Properties.CallbackURLs).toEqual(['https://console.example.com/']);
  });
});
