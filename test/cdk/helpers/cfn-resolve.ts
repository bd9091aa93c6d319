// Resolves the CloudFormation intrinsics of synthesized templates (Ref, Fn::GetAtt, Fn::Join,
// Fn::Sub, Fn::Select, Fn::Split, Fn::ImportValue and the pseudo parameters) to the concrete
// strings a deployment would have, with a fixed account, region and partition, so IAM policies can
// be evaluated offline. Physical names come from the template where it sets them (TableName,
// LogGroupName, FunctionName, ...); where CloudFormation would generate one, a stable stand-in of
// the same shape. An intrinsic or an attribute this file does not know throws: the proof must not
// evaluate a policy it resolved by guessing.
import { createHash } from 'node:crypto';

export interface Environment {
  account: string;
  region: string;
  partition: string;
}

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
}

export interface PolicyDocument {
  Version?: string;
  Statement: Record<string, unknown>[];
}

export interface ResolvedRole {
  logicalId: string;
  name: string;
  arn: string;
  /** inline policies, AWS::IAM::Policy documents naming the role, and known managed policies */
  policies: { name: string; policy: PolicyDocument }[];
}

/** AWS managed policies a role of these stacks may carry, as AWS defines them. */
const MANAGED_POLICIES: Record<string, PolicyDocument> = {
  'service-role/AWSLambdaBasicExecutionRole': {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], Resource: '*' }],
  },
};

const hex = (text: string, length: number) => createHash('sha256').update(text).digest('hex').slice(0, length);

export class TemplateResolver {
  constructor(private readonly stacks: Record<string, CfnTemplate>, readonly env: Environment) {}

  template(stack: string): CfnTemplate {
    const template = this.stacks[stack];
    if (!template) throw new Error(`no template for stack ${stack}`);
    return template;
  }

  private resource(stack: string, logicalId: string): CfnResource {
    const resource = this.template(stack).Resources[logicalId];
    if (!resource) throw new Error(`${stack}: no resource ${logicalId}`);
    return resource;
  }

  /** The one resource of a type whose logical id starts with the prefix (CDK adds a hash). */
  logicalIdOf(stack: string, type: string, prefix: string): string {
    const ids = Object.entries(this.template(stack).Resources).filter(([id, r]) => r.Type === type && id.startsWith(prefix)).map(([id]) => id);
    if (ids.length !== 1) throw new Error(`${stack}: ${ids.length} resources of type ${type} named ${prefix}*`);
    return ids[0]!;
  }

  private arn(service: string, resource: string, opts: { region?: string; account?: string } = {}): string {
    const { partition, region, account } = this.env;
    return `arn:${partition}:${service}:${opts.region ?? region}:${opts.account ?? account}:${resource}`;
  }

  private stringProperty(stack: string, logicalId: string, name: string): string | undefined {
    const value = this.resource(stack, logicalId).Properties?.[name];
    return value === undefined ? undefined : this.resolveString(value, stack);
  }

  /** What Ref gives for a resource. */
  ref(stack: string, logicalId: string): string {
    const pseudo: Record<string, string> = {
      'AWS::AccountId': this.env.account,
      'AWS::Region': this.env.region,
      'AWS::Partition': this.env.partition,
      'AWS::URLSuffix': this.env.partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com',
      'AWS::StackName': stack,
      'AWS::NoValue': '',
    };
    if (logicalId in pseudo) return pseudo[logicalId]!;
    const { Type: type } = this.resource(stack, logicalId);
    const prop = (name: string) => this.stringProperty(stack, logicalId, name);
    switch (type) {
      case 'AWS::IAM::Role': return prop('RoleName') ?? `${stack}-${logicalId}`.slice(0, 64);
      case 'AWS::DynamoDB::Table': return prop('TableName') ?? `${stack}-${logicalId}`;
      case 'AWS::Logs::LogGroup': return prop('LogGroupName') ?? `${stack}-${logicalId}`;
      case 'AWS::Lambda::Function': return prop('FunctionName') ?? `${stack}-${logicalId}`;
      case 'AWS::ECS::Cluster': return prop('ClusterName') ?? `${stack}-${logicalId}`;
      case 'AWS::EFS::FileSystem': return `fs-${hex(`${stack}/${logicalId}`, 17)}`;
      case 'AWS::EFS::AccessPoint': return `fsap-${hex(`${stack}/${logicalId}`, 17)}`;
      case 'AWS::EC2::SecurityGroup': return `sg-${hex(`${stack}/${logicalId}`, 17)}`;
      case 'AWS::EC2::Subnet': return `subnet-${hex(`${stack}/${logicalId}`, 17)}`;
      case 'AWS::EC2::VPC': return `vpc-${hex(`${stack}/${logicalId}`, 17)}`;
      case 'AWS::StepFunctions::StateMachine': return this.arn('states', `stateMachine:${prop('StateMachineName') ?? `${stack}-${logicalId}`}`);
      case 'AWS::Cognito::UserPool': return `${this.env.region}_${hex(`${stack}/${logicalId}`, 9)}`;
      default: throw new Error(`${stack}: Ref of a ${type} (${logicalId}) is not known to the resolver`);
    }
  }

  /** What Fn::GetAtt gives. */
  getAtt(stack: string, logicalId: string, attribute: string): string {
    const { Type: type } = this.resource(stack, logicalId);
    const name = () => this.ref(stack, logicalId);
    const key = `${type}.${attribute}`;
    switch (key) {
      case 'AWS::IAM::Role.Arn': return `arn:${this.env.partition}:iam::${this.env.account}:role/${name()}`;
      case 'AWS::DynamoDB::Table.Arn': return this.arn('dynamodb', `table/${name()}`);
      // CloudFormation's log group Arn ends in ":*"
      case 'AWS::Logs::LogGroup.Arn': return this.arn('logs', `log-group:${name()}:*`);
      case 'AWS::Lambda::Function.Arn': return this.arn('lambda', `function:${name()}`);
      case 'AWS::ECS::Cluster.Arn': return this.arn('ecs', `cluster/${name()}`);
      case 'AWS::EFS::FileSystem.Arn': return this.arn('elasticfilesystem', `file-system/${name()}`);
      case 'AWS::EFS::FileSystem.FileSystemId': return name();
      case 'AWS::EFS::AccessPoint.Arn': return this.arn('elasticfilesystem', `access-point/${name()}`);
      case 'AWS::EC2::SecurityGroup.GroupId': return name();
      case 'AWS::StepFunctions::StateMachine.Arn': return name();
      case 'AWS::StepFunctions::StateMachine.Name': return this.stringProperty(stack, logicalId, 'StateMachineName') ?? logicalId;
      case 'AWS::Cognito::UserPool.Arn': return this.arn('cognito-idp', `userpool/${name()}`);
      default: throw new Error(`${stack}: Fn::GetAtt ${logicalId}.${attribute} (${type}) is not known to the resolver`);
    }
  }

  /** The value an export of any of the stacks has. */
  private importValue(exportName: string): unknown {
    for (const [stack, template] of Object.entries(this.stacks)) {
      for (const output of Object.values(template.Outputs ?? {})) {
        if (output.Export && this.resolveString(output.Export.Name, stack) === exportName) return this.resolve(output.Value, stack);
      }
    }
    throw new Error(`no stack exports ${exportName}`);
  }

  private sub(stack: string, text: string, variables: Record<string, unknown>): string {
    return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
      if (name in variables) return this.resolveString(variables[name], stack);
      if (name.includes('.')) {
        const [id, ...attribute] = name.split('.');
        return this.getAtt(stack, id!, attribute.join('.'));
      }
      return this.ref(stack, name);
    });
  }

  resolveString(value: unknown, stack: string): string {
    const resolved = this.resolve(value, stack);
    if (typeof resolved !== 'string') throw new Error(`expected a string, resolved ${JSON.stringify(resolved)}`);
    return resolved;
  }

  /** Every intrinsic in the value, replaced by what it resolves to. */
  resolve(value: unknown, stack: string): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v, stack));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [[key, arg]] = entries as [[string, unknown]];
      switch (key) {
        case 'Ref': return this.ref(stack, arg as string);
        case 'Fn::GetAtt': {
          const [id, attribute] = typeof arg === 'string' ? arg.split(/\.(.+)/) : (arg as string[]);
          return this.getAtt(stack, id!, attribute!);
        }
        case 'Fn::Join': {
          const [separator, parts] = arg as [string, unknown[]];
          return (this.resolve(parts, stack) as unknown[]).map(String).join(separator);
        }
        case 'Fn::Sub': {
          const [text, variables] = typeof arg === 'string' ? [arg, {}] : (arg as [string, Record<string, unknown>]);
          return this.sub(stack, text, variables);
        }
        case 'Fn::Select': {
          const [index, list] = arg as [number | string, unknown];
          return (this.resolve(list, stack) as unknown[])[Number(index)];
        }
        case 'Fn::Split': {
          const [separator, text] = arg as [string, unknown];
          return this.resolveString(text, stack).split(separator);
        }
        case 'Fn::ImportValue': return this.importValue(this.resolveString(arg, stack));
        default:
          if (key.startsWith('Fn::')) throw new Error(`${stack}: intrinsic ${key} is not known to the resolver`);
      }
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, this.resolve(v, stack)]));
  }

  /** A role with every identity policy that applies to it, resolved. */
  role(stack: string, logicalIdPrefix: string): ResolvedRole {
    const logicalId = this.logicalIdOf(stack, 'AWS::IAM::Role', logicalIdPrefix);
    const props = this.resource(stack, logicalId).Properties ?? {};
    const policies: ResolvedRole['policies'] = [];
    for (const inline of (props.Policies ?? []) as { PolicyName: string; PolicyDocument: unknown }[]) {
      policies.push({ name: inline.PolicyName, policy: this.resolve(inline.PolicyDocument, stack) as PolicyDocument });
    }
    for (const managed of (props.ManagedPolicyArns ?? []) as unknown[]) {
      const arn = this.resolveString(managed, stack);
      const awsManaged = arn.match(/^arn:[^:]+:iam::aws:policy\/(.+)$/)?.[1];
      const document = awsManaged ? MANAGED_POLICIES[awsManaged] : undefined;
      if (!document) throw new Error(`${logicalId}: managed policy ${arn} is not known to the resolver`);
      policies.push({ name: arn, policy: document });
    }
    for (const [id, resource] of Object.entries(this.template(stack).Resources)) {
      if (resource.Type !== 'AWS::IAM::Policy') continue;
      const roles = (resource.Properties?.Roles ?? []) as unknown[];
      if (!roles.some((r) => JSON.stringify(r) === JSON.stringify({ Ref: logicalId }))) continue;
      policies.push({ name: id, policy: this.resolve(resource.Properties!.PolicyDocument, stack) as PolicyDocument });
    }
    return { logicalId, name: this.ref(stack, logicalId), arn: this.getAtt(stack, logicalId, 'Arn'), policies };
  }
}
