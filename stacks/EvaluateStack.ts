// The SLO evaluator, home region only (next to the table it reads): an
// EventBridge rule runs functions/evaluate.ts every minute; it computes burn
// rates from the region rollups, moves alert states with conditional writes
// and delivers notifications to the configured sinks. Its custom bus
// `<app>-<stage>-alerts` receives the notifications of eventbridge sinks that
// name it (functions/evaluate.ts also sends sinks that name no bus there); an
// example rule on it forwards pages (firing and resolved) to the SNS topic
// `<app>-<stage>-pages`, which operators subscribe their email or pager to.
//
// Least privilege: its own role with exactly three statements — write its own
// log group, the DynamoDB actions its stores call on the one table ARN (the
// routing alerts read snapshots with Query, which the rollups need anyway),
// and events:PutEvents on the buses it publishes to. With bgp.rpki the VRP
// file is bundled next to the config (POPWATCH_VRP_FILE); redeploy to
// refresh it.
//
// It also holds the CloudWatch dashboard `<app>-<stage>` (stacks/dashboard.ts)
// over the metrics the probe functions (every region) and the evaluator emit.

import type { PopwatchConfig } from "@popwatch/core";
import { DETAIL_TYPE_FIRING, DETAIL_TYPE_RESOLVED, EVENT_SOURCE } from "@popwatch/notify";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import type { Dashboard } from "aws-cdk-lib/aws-cloudwatch";
import { EventBus, Rule, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction, SnsTopic } from "aws-cdk-lib/aws-events-targets";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Topic } from "aws-cdk-lib/aws-sns";
import { Function as SstFunction, type StackContext } from "sst/constructs";
import { addPopwatchDashboard, dashboardName } from "./dashboard";
import { alertBusArn, dropUnusedCustomResourceHandler } from "./ProbeStack";
import {
  ALERT_BUS_ACTIONS,
  BUNDLED_CONFIG_FILE,
  EVALUATE_HANDLER,
  EVALUATE_MAX_EVENT_AGE_SECONDS,
  EVALUATE_MEMORY_MB,
  EVALUATE_RETRY_ATTEMPTS,
  EVALUATE_SCHEDULE_MINUTES,
  EVALUATE_TABLE_ACTIONS,
  EVALUATE_TIMEOUT_SECONDS,
  FUNCTION_ARCHITECTURE,
  FUNCTION_RUNTIME,
  alertBusName,
  alertBusTargets,
  bundledVrpFile,
  evaluateFunctionName,
  functionNodejsProps,
  pagesTopicName,
  tableName,
} from "./settings";

export interface EvaluateStackProps {
  config: PopwatchConfig;
  /** The validated config JSON, relative to the repository root (writeBundledConfig). */
  configFile: string;
  /** Handler as `path/file.export`, relative to the repository root. Default functions/evaluate.handler. */
  handler?: string;
}

export interface EvaluateStackOutputs {
  evaluate: SstFunction;
  schedule: Rule;
  role: Role;
  bus: EventBus;
  pagesRule: Rule;
  pagesTopic: Topic;
  tableArn: string;
  dashboard: Dashboard;
}

/** The example rule's pattern: pages of every SLO, when they fire and when they resolve. */
export function pagesEventPattern(): { source: string[]; detailType: string[]; detail: { severity: string[] } } {
  return { source: [EVENT_SOURCE], detailType: [DETAIL_TYPE_FIRING, DETAIL_TYPE_RESOLVED], detail: { severity: ["page"] } };
}

/** Returns the functional stack for `app.stack(...)`; the config is fixed per deploy. */
export function evaluateStack(props: EvaluateStackProps): (ctx: StackContext) => EvaluateStackOutputs {
  return function EvaluateStack({ app, stack }: StackContext): EvaluateStackOutputs {
    const { config } = props;
    const table = tableName(app.name, app.stage);
    const tableArn = stack.formatArn({ service: "dynamodb", region: config.homeRegion, resource: "table", resourceName: table });
    const functionName = evaluateFunctionName(app.name, app.stage);
    const busName = alertBusName(app.name, app.stage);
    const vrps = bundledVrpFile(config);
    const eventAge = Duration.seconds(EVALUATE_MAX_EVENT_AGE_SECONDS);

    const bus = new EventBus(stack, "AlertBus", {
      eventBusName: busName,
      description: `popwatch alert notifications (${app.stage}): source ${EVENT_SOURCE}, detail types "${DETAIL_TYPE_FIRING}" and "${DETAIL_TYPE_RESOLVED}"`,
    });

    const logGroup = new LogGroup(stack, "EvaluateLogs", {
      logGroupName: `/aws/lambda/${functionName}`,
      retention: RetentionDays.TWO_WEEKS,
      // Deleted with the stack in every stage: a retained group of this fixed name would make the next deploy fail.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // Our own role, as for the probe: no AWSLambdaBasicExecutionRole (logs:* on every log group), no X-Ray.
    const role = new Role(stack, "EvaluateRole", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `popwatch evaluator (${app.stage}): own log group, table ${table}, PutEvents on the alert buses`,
    });
    role.addToPolicy(
      new PolicyStatement({
        sid: "EvaluateLogs",
        actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
        resources: [logGroup.logGroupArn],
      }),
    );
    role.addToPolicy(new PolicyStatement({ sid: "ResultsTable", actions: [...EVALUATE_TABLE_ACTIONS], resources: [tableArn] }));
    // The first target is this stack's bus: its own ARN attribute orders the policy after the bus.
    const [, ...otherBuses] = alertBusTargets(config, busName);
    const busArns = [bus.eventBusArn, ...otherBuses.map((target) => alertBusArn(stack, target))];
    role.addToPolicy(new PolicyStatement({ sid: "AlertBuses", actions: [...ALERT_BUS_ACTIONS], resources: busArns }));

    const evaluate = new SstFunction(stack, "Evaluate", {
      handler: props.handler ?? EVALUATE_HANDLER,
      functionName,
      description: `popwatch SLO evaluator: ${plural(config.slos.length, "SLO")} over ${plural(config.regions.length, "region")} every ${EVALUATE_SCHEDULE_MINUTES} min; alerts to ${busName}`,
      runtime: FUNCTION_RUNTIME,
      architecture: FUNCTION_ARCHITECTURE,
      memorySize: EVALUATE_MEMORY_MB,
      timeout: EVALUATE_TIMEOUT_SECONDS,
      tracing: "disabled",
      role,
      logGroup,
      retryAttempts: EVALUATE_RETRY_ATTEMPTS,
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

    const schedule = new Rule(stack, "EvaluateSchedule", {
      description: `popwatch SLO evaluation every ${EVALUATE_SCHEDULE_MINUTES} min`,
      schedule: Schedule.rate(Duration.minutes(EVALUATE_SCHEDULE_MINUTES)),
      targets: [new LambdaFunction(evaluate, { retryAttempts: EVALUATE_RETRY_ATTEMPTS, maxEventAge: eventAge })],
    });

    // Not encrypted: EventBridge cannot publish to a topic under the AWS managed key (aws/sns), and a
    // customer managed key would add a KMS key policy and charges for an example.
    const pagesTopic = new Topic(stack, "PagesTopic", {
      topicName: pagesTopicName(app.name, app.stage),
      displayName: `popwatch ${app.stage} pages`,
    });
    // SnsTopic adds the topic policy that lets events.amazonaws.com publish.
    const pagesRule = new Rule(stack, "PagesRule", {
      eventBus: bus,
      description: "Example: popwatch pages (firing and resolved) to the pages topic; subscribe an email or pager to it",
      eventPattern: pagesEventPattern(),
      targets: [new SnsTopic(pagesTopic)],
    });

    const dashboard = addPopwatchDashboard(stack, { config, name: dashboardName(app.name, app.stage) });

    dropUnusedCustomResourceHandler(stack);
    stack.addOutputs({
      AlertBusName: bus.eventBusName,
      AlertBusArn: bus.eventBusArn,
      PagesTopicArn: pagesTopic.topicArn,
      EvaluateFunction: evaluate.functionName,
      DashboardName: dashboard.dashboardName,
    });
    return { evaluate, schedule, role, bus, pagesRule, pagesTopic, tableArn, dashboard };
  };
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
