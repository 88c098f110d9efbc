// The BGP archive reader, home region only (next to the table), and only when
// the config has a `bgp` section: an EventBridge rule runs functions/bgp.ts
// every 5 minutes; it reads the newest RIS and RouteViews update files of the
// configured collectors and writes the watched prefixes' events, snapshots
// and minutes, then runs the routing alert cycle when a snapshot changed.
//
// Least privilege: its own role with these statements — write its own log
// group, the three DynamoDB actions the routing repository calls on the one
// table ARN, the alert state store's actions on it (routing alerts), and
// events:PutEvents on the buses its eventbridge sinks send to (when any). The
// archives are public HTTP. With bgp.rpki the VRP file is bundled next to the
// config (POPWATCH_VRP_FILE); redeploy to refresh it.

import type { PopwatchConfig } from "@popwatch/core";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { Rule, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Function as SstFunction, type StackContext } from "sst/constructs";
import { dropUnusedCustomResourceHandler, grantAlertDelivery } from "./ProbeStack";
import {
  BGP_HANDLER,
  BGP_MAX_EVENT_AGE_SECONDS,
  BGP_MEMORY_MB,
  BGP_RETRY_ATTEMPTS,
  BGP_SCHEDULE_MINUTES,
  BGP_TABLE_ACTIONS,
  BGP_TIMEOUT_SECONDS,
  BUNDLED_CONFIG_FILE,
  FUNCTION_ARCHITECTURE,
  FUNCTION_RUNTIME,
  alertBusName,
  bgpFunctionName,
  bundledVrpFile,
  functionNodejsProps,
  tableName,
} from "./settings";

export interface BgpStackProps {
  config: PopwatchConfig;
  /** The validated config JSON, relative to the repository root (writeBundledConfig). */
  configFile: string;
  /** Handler as `path/file.export`, relative to the repository root. Default functions/bgp.handler. */
  handler?: string;
}

export interface BgpStackOutputs {
  bgp: SstFunction;
  schedule: Rule;
  role: Role;
  tableArn: string;
}

/** Returns the functional stack for `app.stack(...)`; the config is fixed per deploy. */
export function bgpStack(props: BgpStackProps): (ctx: StackContext) => BgpStackOutputs {
  return function BgpStack({ app, stack }: StackContext): BgpStackOutputs {
    const { config } = props;
    const table = tableName(app.name, app.stage);
    const tableArn = stack.formatArn({ service: "dynamodb", region: config.homeRegion, resource: "table", resourceName: table });
    const functionName = bgpFunctionName(app.name, app.stage);
    const eventAge = Duration.seconds(BGP_MAX_EVENT_AGE_SECONDS);
    const collectors = config.bgp?.collectors.map((c) => c.name).join(", ") ?? "";

    const logGroup = new LogGroup(stack, "BgpLogs", {
      logGroupName: `/aws/lambda/${functionName}`,
      retention: RetentionDays.TWO_WEEKS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new Role(stack, "BgpRole", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `popwatch BGP archive reader (${app.stage}): own log group, table ${table}, routing alerts`,
    });
    role.addToPolicy(
      new PolicyStatement({ sid: "BgpLogs", actions: ["logs:CreateLogStream", "logs:PutLogEvents"], resources: [logGroup.logGroupArn] }),
    );
    role.addToPolicy(new PolicyStatement({ sid: "RoutingTable", actions: [...BGP_TABLE_ACTIONS], resources: [tableArn] }));
    const busName = grantAlertDelivery(stack, role, config, alertBusName(app.name, app.stage), tableArn);
    const vrps = bundledVrpFile(config);

    const bgp = new SstFunction(stack, "Bgp", {
      handler: props.handler ?? BGP_HANDLER,
      functionName,
      description: `popwatch BGP archives every ${BGP_SCHEDULE_MINUTES} min: ${collectors}`.slice(0, 256),
      runtime: FUNCTION_RUNTIME,
      architecture: FUNCTION_ARCHITECTURE,
      memorySize: BGP_MEMORY_MB,
      timeout: BGP_TIMEOUT_SECONDS,
      tracing: "disabled",
      role,
      logGroup,
      retryAttempts: BGP_RETRY_ATTEMPTS,
      maxEventAge: eventAge,
      environment: {
        POPWATCH_TABLE: table,
        POPWATCH_TABLE_REGION: config.homeRegion,
        POPWATCH_CONFIG_FILE: BUNDLED_CONFIG_FILE,
        POPWATCH_ALERT_BUS: busName,
        ...vrps.environment,
      },
      copyFiles: [{ from: props.configFile, to: BUNDLED_CONFIG_FILE }, ...vrps.copyFiles],
      nodejs: functionNodejsProps(),
    });

    const schedule = new Rule(stack, "BgpSchedule", {
      description: `popwatch BGP archive reading every ${BGP_SCHEDULE_MINUTES} min`,
      schedule: Schedule.rate(Duration.minutes(BGP_SCHEDULE_MINUTES)),
      targets: [new LambdaFunction(bgp, { retryAttempts: BGP_RETRY_ATTEMPTS, maxEventAge: eventAge })],
    });

    dropUnusedCustomResourceHandler(stack);
    stack.addOutputs({ BgpFunction: bgp.functionName });
    return { bgp, schedule, role, tableArn };
  };
}
