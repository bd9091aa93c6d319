// The identity CI deploys and diffs with (optional; deployed once per account by an administrator,
// with their own credentials): GitHub's OIDC provider, and for one stage a deploy role trusted only
// for the token GitHub issues to a job that runs in the stage's environment
// (sub = repo:<owner>/<repo>:environment:<stage>: .github/workflows/deploy.yml has `environment:`,
// which replaces the ref in the subject, so a branch subject would never match), and a diff role
// trusted only for pull requests (sub = repo:<owner>/<repo>:pull_request). Neither role can change
// anything itself: each may only assume the CDK bootstrap's roles of its account and region that its
// job needs (deploy: deploy, file- and image-publishing, lookup; diff: lookup).
//
// Created when the context names the repository: `npx cdk deploy ShareBackup-<stage>-CI
// -c stage=<stage> -c githubRepository=<owner>/<repo>` (and -c githubOidcProviderArn=<arn> when
// the account already has GitHub's provider: an account holds one provider per issuer URL).
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';

export const GITHUB_OIDC_ISSUER = 'token.actions.githubusercontent.com';

export interface CiIdentityProps extends StackProps {
  stage: string;
  /** owner/name of the GitHub repository whose workflows deploy this stage */
  repository: string;
  /** an existing GitHub OIDC provider of the account; absent: this stack creates it */
  existingProviderArn?: string;
  /** the CDK bootstrap qualifier (default hnb659fds) */
  qualifier?: string;
}

/** The OIDC subject of a job of `repository` that runs in GitHub environment `environment`. */
export const environmentSubject = (repository: string, environment: string) => `repo:${repository}:environment:${environment}`;
/** The OIDC subject of a job of `repository` triggered by a pull request (no environment). */
export const pullRequestSubject = (repository: string) => `repo:${repository}:pull_request`;

export class CiIdentityStack extends Stack {
  readonly provider: iam.IOpenIdConnectProvider;
  readonly deployRole: iam.Role;
  readonly diffRole: iam.Role;

  constructor(scope: Construct, id: string, props: CiIdentityProps) {
    super(scope, id, props);
    if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(props.repository)) throw new Error(`githubRepository must be <owner>/<repo>, not ${props.repository}`);
    const qualifier = props.qualifier ?? 'hnb659fds';
    this.provider = props.existingProviderArn
      ? iam.OpenIdConnectProvider.fromOpenIdConnectProviderArn(this, 'GitHubProvider', props.existingProviderArn)
      : new iam.OidcProviderNative(this, 'GitHubProvider', {
        url: `https://${GITHUB_OIDC_ISSUER}`,
        clientIds: ['sts.amazonaws.com'],
        // IAM verifies GitHub's certificate chain against its own trusted CAs; a thumbprint is required by the API but not used for this issuer
        thumbprints: ['6938fd4d98bab03faadb97b34396831e3780aea1'],
      });

    const trust = (subject: string) => new iam.WebIdentityPrincipal(this.provider.openIdConnectProviderArn, {
      StringEquals: { [`${GITHUB_OIDC_ISSUER}:aud`]: 'sts.amazonaws.com', [`${GITHUB_OIDC_ISSUER}:sub`]: subject },
    });
    const bootstrapRole = (kind: string) => `arn:${this.partition}:iam::${this.account}:role/cdk-${qualifier}-${kind}-role-${this.account}-${this.region}`;

    this.deployRole = new iam.Role(this, 'DeployRole', {
      roleName: `share-backup-${props.stage}-github-deploy`,
      description: `GitHub Actions deploy of stage ${props.stage}: only jobs in environment ${props.stage} of ${props.repository}`,
      assumedBy: trust(environmentSubject(props.repository, props.stage)),
    });
    this.deployRole.addToPolicy(new iam.PolicyStatement({
      sid: 'AssumeCdkBootstrapRoles',
      actions: ['sts:AssumeRole', 'sts:TagSession'],
      resources: ['deploy', 'file-publishing', 'image-publishing', 'lookup'].map(bootstrapRole),
    }));

    this.diffRole = new iam.Role(this, 'DiffRole', {
      roleName: `share-backup-${props.stage}-github-diff`,
      description: `GitHub Actions cdk diff of stage ${props.stage} on pull requests of ${props.repository}: reads templates only`,
      assumedBy: trust(pullRequestSubject(props.repository)),
    });
    this.diffRole.addToPolicy(new iam.PolicyStatement({
      sid: 'AssumeCdkLookupRole',
      actions: ['sts:AssumeRole', 'sts:TagSession'],
      resources: [bootstrapRole('lookup')],
    }));

    new CfnOutput(this, 'DeployRoleArn', { value: this.deployRole.roleArn, description: 'repository or environment variable AWS_DEPLOY_ROLE_ARN' });
    new CfnOutput(this, 'DiffRoleArn', { value: this.diffRole.roleArn, description: 'repository variable AWS_DIFF_ROLE_ARN' });
  }
}
