// A synthesized CloudFormation template made concrete: physical names and ARNs, intrinsics resolved, as a deploy would.

import { randomBytes, randomUUID } from "node:crypto";

/** A resource with its properties resolved to plain JSON. */
export interface ResolvedResource {
  readonly logicalId: string;
  readonly type: string;
  readonly properties: Record<string, unknown>;
}

/** Where the stack is "deployed". */
export interface DeployTarget {
  readonly stackName: string;
  readonly region: string;
  readonly account: string;
}

type Json = unknown;
type Template = {
  Resources: Record<string, { Type: string; Properties?: Record<string, Json> }>;
  Conditions?: Record<string, Json>;
  Parameters?: Record<string, { Default?: Json }>;
};

const suffix = (): string => randomBytes(6).toString("hex").toUpperCase();

/**
 * The template with every resource given a physical id the way CloudFormation names them (`<stack>-<logicalId>-<random>`
 * unless the template names it) and every `Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`, `Fn::Select`, `Fn::Split`,
 * `Fn::If` and pseudo parameter replaced by its value.
 */
export class ResolvedStack {
  readonly resources = new Map<string, ResolvedResource>();
  private readonly physical = new Map<string, string>();
  private readonly conditions = new Map<string, boolean>();

  constructor(
    private readonly template: Template,
    readonly target: DeployTarget,
  ) {
    for (const [id, resource] of Object.entries(template.Resources))
      this.physical.set(id, this.nameOf(id, resource));
    for (const [id, resource] of Object.entries(template.Resources)) {
      this.resources.set(id, {
        logicalId: id,
        type: resource.Type,
        properties: (this.resolve(resource.Properties ?? {}) as Record<string, unknown>) ?? {},
      });
    }
  }

  /** Resources of one type. */
  ofType(type: string): ResolvedResource[] {
    return [...this.resources.values()].filter((r) => r.type === type);
  }

  /** The resource of a logical id. */
  get(logicalId: string): ResolvedResource {
    const resource = this.resources.get(logicalId);
    if (resource === undefined) throw new Error(`no resource ${logicalId}`);
    return resource;
  }

  /** `Ref` of a resource. */
  ref(logicalId: string): string {
    const resource = this.template.Resources[logicalId];
    if (resource === undefined) {
      const parameter = this.template.Parameters?.[logicalId];
      if (parameter !== undefined) return String(parameter.Default ?? "");
      throw new Error(`Ref to unknown ${logicalId}`);
    }
    const name = this.physical.get(logicalId) ?? logicalId;
    switch (resource.Type) {
      case "AWS::SNS::Topic":
      case "AWS::StepFunctions::StateMachine":
      case "AWS::SecretsManager::Secret":
        return this.arnOf(logicalId, resource.Type, name);
      case "AWS::SecretsManager::SecretTargetAttachment":
        return String(this.resolve(resource.Properties?.SecretId));
      default:
        return name;
    }
  }

  /** `Fn::GetAtt` of a resource. */
  getAtt(logicalId: string, attribute: string): string {
    const resource = this.template.Resources[logicalId];
    if (resource === undefined) throw new Error(`GetAtt of unknown ${logicalId}`);
    const name = this.physical.get(logicalId) ?? logicalId;
    if (attribute === "Arn") return this.arnOf(logicalId, resource.Type, name);
    if (resource.Type === "AWS::ApiGatewayV2::Api" && attribute === "ApiEndpoint")
      return `https://${name}.execute-api.${this.target.region}.amazonaws.com`;
    if (resource.Type === "AWS::SNS::Topic" && attribute === "TopicName") return name;
    if (resource.Type === "AWS::StepFunctions::StateMachine" && attribute === "Name") return name;
    if (attribute === "Endpoint.Address")
      return `${name}.cluster-xyz.${this.target.region}.rds.amazonaws.com`;
    return `${name}.${attribute}`;
  }

  private arnOf(logicalId: string, type: string, name: string): string {
    const { region, account } = this.target;
    switch (type) {
      case "AWS::DynamoDB::Table":
        return `arn:aws:dynamodb:${region}:${account}:table/${name}`;
      case "AWS::S3::Bucket":
        return `arn:aws:s3:::${name}`;
      case "AWS::KMS::Key":
        return `arn:aws:kms:${region}:${account}:key/${name}`;
      case "AWS::IAM::Role":
        return `arn:aws:iam::${account}:role/${name}`;
      case "AWS::IAM::ManagedPolicy":
        return `arn:aws:iam::${account}:policy/${name}`;
      case "AWS::Lambda::Function":
        return `arn:aws:lambda:${region}:${account}:function:${name}`;
      case "AWS::Logs::LogGroup":
        return `arn:aws:logs:${region}:${account}:log-group:${name}:*`;
      case "AWS::SNS::Topic":
        return `arn:aws:sns:${region}:${account}:${name}`;
      case "AWS::SecretsManager::Secret":
        return `arn:aws:secretsmanager:${region}:${account}:secret:${name}`;
      case "AWS::StepFunctions::StateMachine":
        return `arn:aws:states:${region}:${account}:stateMachine:${name}`;
      case "AWS::Events::Rule":
        return `arn:aws:events:${region}:${account}:rule/${name}`;
      case "AWS::RDS::DBCluster":
        return `arn:aws:rds:${region}:${account}:cluster:${name}`;
      default:
        return `arn:aws:cloudformation:${region}:${account}:${logicalId}/${name}`;
    }
  }

  private nameOf(logicalId: string, resource: { Type: string; Properties?: Record<string, Json> }): string {
    const props = resource.Properties ?? {};
    const explicit: Record<string, string> = {
      "AWS::DynamoDB::Table": "TableName",
      "AWS::S3::Bucket": "BucketName",
      "AWS::Lambda::Function": "FunctionName",
      "AWS::IAM::Role": "RoleName",
      "AWS::Logs::LogGroup": "LogGroupName",
      "AWS::StepFunctions::StateMachine": "StateMachineName",
      "AWS::SNS::Topic": "TopicName",
      "AWS::SecretsManager::Secret": "Name",
      "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
      "AWS::RDS::DBCluster": "DBClusterIdentifier",
    };
    const property = explicit[resource.Type];
    const given = property === undefined ? undefined : props[property];
    const { stackName } = this.target;
    let name: string;
    if (given !== undefined) name = String(this.resolveEarly(given));
    else if (resource.Type === "AWS::KMS::Key") name = randomUUID();
    else if (resource.Type === "AWS::S3::Bucket")
      name = `${`${stackName}-${logicalId}`.toLowerCase().slice(0, 50)}-${suffix().toLowerCase()}`;
    else if (resource.Type === "AWS::Logs::LogGroup") name = `/aws/${stackName}/${logicalId}-${suffix()}`;
    else if (resource.Type === "AWS::RDS::DBCluster")
      name = `${stackName}-${logicalId}-${suffix()}`.toLowerCase();
    else name = `${`${stackName}-${logicalId}`.slice(0, 50)}-${suffix()}`;
    // Secrets Manager appends six random characters to a secret's name in its ARN.
    return resource.Type === "AWS::SecretsManager::Secret" ? `${name}-${suffix().slice(0, 6)}` : name;
  }

  /** Names may only use pseudo parameters and Fn::Join of them (resources are not named yet). */
  private resolveEarly(value: Json): Json {
    return this.resolveWith(value, true);
  }

  /** Resolves a template value to plain JSON. */
  resolve(value: Json): Json {
    return this.resolveWith(value, false);
  }

  private pseudo(name: string): string | undefined {
    const { region, account, stackName } = this.target;
    const values: Record<string, string> = {
      "AWS::Region": region,
      "AWS::AccountId": account,
      "AWS::Partition": "aws",
      "AWS::URLSuffix": "amazonaws.com",
      "AWS::StackName": stackName,
      "AWS::StackId": `arn:aws:cloudformation:${region}:${account}:stack/${stackName}/00000000-0000-0000-0000-000000000000`,
    };
    return values[name];
  }

  private condition(name: string): boolean {
    const known = this.conditions.get(name);
    if (known !== undefined) return known;
    const value = Boolean(this.resolve(this.template.Conditions?.[name]));
    this.conditions.set(name, value);
    return value;
  }

  private resolveWith(value: Json, early: boolean): Json {
    if (Array.isArray(value)) {
      return value.map((v) => this.resolveWith(v, early)).filter((v) => v !== NO_VALUE);
    }
    if (value === null || typeof value !== "object") return value;
    const entries = Object.entries(value as Record<string, Json>);
    if (entries.length === 1) {
      const [[key, arg]] = entries as [[string, Json]];
      const r = (v: Json) => this.resolveWith(v, early);
      switch (key) {
        case "Ref": {
          const name = String(arg);
          if (name === "AWS::NoValue") return NO_VALUE;
          return this.pseudo(name) ?? (early ? name : this.ref(name));
        }
        case "Fn::GetAtt": {
          const [id, attribute] = Array.isArray(arg) ? arg : String(arg).split(/\.(.*)/s);
          return this.getAtt(String(id), String(attribute));
        }
        case "Fn::Join": {
          const [sep, parts] = arg as [string, Json[]];
          return (r(parts) as Json[]).map(String).join(sep);
        }
        case "Fn::Select": {
          const [index, list] = arg as [Json, Json];
          return (r(list) as Json[])[Number(r(index))];
        }
        case "Fn::Split": {
          const [sep, text] = arg as [string, Json];
          return String(r(text)).split(sep);
        }
        case "Fn::GetAZs":
          return [`${this.target.region}a`, `${this.target.region}b`, `${this.target.region}c`];
        case "Fn::Sub": {
          const [text, vars] = Array.isArray(arg)
            ? (arg as [string, Record<string, Json>])
            : [String(arg), {}];
          return text.replace(/\$\{([^}!]+)\}/g, (_m, name: string) => {
            if (name in vars) return String(r(vars[name]));
            const pseudo = this.pseudo(name);
            if (pseudo !== undefined) return pseudo;
            const [id, attribute] = name.split(/\.(.*)/s);
            return attribute === undefined || attribute === ""
              ? this.ref(String(id))
              : this.getAtt(String(id), attribute);
          });
        }
        case "Fn::If": {
          const [name, yes, no] = arg as [string, Json, Json];
          return this.condition(name) ? r(yes) : r(no);
        }
        case "Fn::Equals": {
          const [a, b] = r(arg) as [Json, Json];
          return JSON.stringify(a) === JSON.stringify(b);
        }
        case "Fn::Or":
          return (r(arg) as Json[]).some(Boolean);
        case "Fn::And":
          return (r(arg) as Json[]).every(Boolean);
        case "Fn::Not":
          return !(r(arg) as Json[])[0];
        case "Condition":
          return this.condition(String(arg));
        default:
          break;
      }
    }
    const out: Record<string, Json> = {};
    for (const [key, v] of entries) {
      const resolved = this.resolveWith(v, early);
      if (resolved !== NO_VALUE) out[key] = resolved;
    }
    return out;
  }
}

const NO_VALUE = Symbol("AWS::NoValue");
