// The HTTP API: JWT authorizer at the edge, routes generated from the route declarations, access logs, throttling.

import { Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import {
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpStage,
  type IHttpRouteAuthorizer,
  LogGroupLogDestination,
} from "aws-cdk-lib/aws-apigatewayv2";
import { HttpJwtAuthorizer } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { EDGE_TIMEOUT_MS } from "#infra/aws/adapters/invocation-deadline.ts";
import { type RouteDeclaration, routeMethods } from "#shared/http/route.ts";

/** What the API is built from (its routes are added once their functions exist: `addRoutes`). */
export interface GatewayApiProps {
  readonly issuer: string;
  readonly audience: string;
  readonly logsKey: IKey;
  readonly rateLimit: number;
  readonly burstLimit: number;
  /** An authorizer in place of the JWT authorizer (the Lambda authorizer of `allowedClaims`). */
  readonly authorizer?: IHttpRouteAuthorizer | undefined;
}

/** Access-log fields: request identity and outcome only (no query string, no headers, no body). */
const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: "$context.requestId",
  time: "$context.requestTime",
  ip: "$context.identity.sourceIp",
  method: "$context.httpMethod",
  routeKey: "$context.routeKey",
  status: "$context.status",
  protocol: "$context.protocol",
  responseLength: "$context.responseLength",
  latencyMs: "$context.responseLatency",
  integrationError: "$context.integrationErrorMessage",
  authorizerError: "$context.authorizer.error",
  subject: "$context.authorizer.claims.sub",
});

/**
 * The gateway's HTTP API. It is created before the functions (they are told its endpoint as the public URL) and its
 * routes after them: the API resource itself depends on no function, so the endpoint creates no cycle.
 */
export class GatewayApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  private readonly jwt: IHttpRouteAuthorizer;

  constructor(scope: Construct, id: string, props: GatewayApiProps) {
    super(scope, id);
    this.api = new HttpApi(this, "HttpApi", {
      apiName: "phigate",
      description: "phigate: PHI access gateway",
      createDefaultStage: false,
    });
    this.accessLogs = new LogGroup(this, "AccessLogs", {
      encryptionKey: props.logsKey,
      retention: RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stage = new HttpStage(this, "DefaultStage", {
      httpApi: this.api,
      stageName: "$default",
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(ACCESS_LOG_FORMAT),
      },
    });
    this.jwt =
      props.authorizer ??
      new HttpJwtAuthorizer("Jwt", props.issuer, {
        jwtAudience: [props.audience],
        identitySource: ["$request.header.Authorization"],
      });
  }

  /** Adds every route of the table, each integrated with its function and behind the authorizer its auth says. */
  addRoutes(routes: readonly RouteDeclaration[], functions: ReadonlyMap<string, IFunction>): void {
    for (const route of routes) {
      const fn = functions.get(route.id);
      if (fn === undefined) throw new Error(`route ${route.id} has no function`);
      const added = this.api.addRoutes({
        path: route.path,
        methods: routeMethods(route).map((method) => HttpMethod[method]),
        // Explicit, as the functions' edge deadline assumes it (infra/aws/adapters/invocation-deadline.ts).
        integration: new HttpLambdaIntegration(`${route.id}-integration`, fn, {
          timeout: Duration.millis(EDGE_TIMEOUT_MS),
        }),
        authorizer: route.auth === "jwt" ? this.jwt : new HttpNoneAuthorizer(),
      });
      if (route.auth === "none") {
        for (const r of added) {
          Validations.of(r).acknowledge({
            id: "AwsSolutions-APIG4",
            reason:
              "A browser page (the approver's page and its OIDC callback) cannot present a bearer token: the function " +
              "signs the approver in itself (OIDC code + PKCE, ID token verified, sealed SameSite=Strict cookie, CSRF " +
              "token) and shows or decides nothing without that session.",
          });
        }
      }
    }
  }
}
