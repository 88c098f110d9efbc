// The scheduled probe function, one stack per configured region. An
// EventBridge rule invokes it every `schedule.rateMinutes`; one invocation runs
// `schedule.roundsPerInvocation` evenly spaced rounds and writes the results to
// the table in the home region.
//
// Least privilege: the function gets its own role with exactly two
// statements — write its own log group, and the three DynamoDB actions the
// store uses on the one table ARN (built from the fixed table name and the
// home region, so no cross-region reference or custom resource is needed).
// While a fast routing alert is on (analytics.alerts.popChange/outage) the
// probe delivers those alerts itself after each round, so it also gets the
// alert state store's actions on the table and, when eventbridge sinks are
// configured, PutEvents on their buses (the evaluate stack's bus by ARN).

import { type PopwatchConfig, fastRoutingSeverities } from "@popwatch/core";
import { ArnFormat, Duration, RemovalPolicy, type Stack } from "aws-cdk-lib";
import { Rule, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Function as SstFunction, type StackContext } from "sst/constructs";
import {
  ALERT_BUS_ACTIONS,
  ALERT_STATE_TABLE_ACTIONS,
  type AlertBusTarget,
  BUNDLED_CONFIG_FILE,
  PROBE_ARCHITECTURE,
  PROBE_BUNDLE,
  PROBE_HANDLER,
  PROBE_MEMORY_MB,
  PROBE_RETRY_ATTEMPTS,
  PROBE_RUNTIME,
  PROBE_TABLE_ACTIONS,
  ROUND_QUEUE_SEND_ACTIONS,
  alertBusName,
  alertBusTargets,
  maxEventAgeSeconds,
  probeFunctionName,
  probeTimeoutSeconds,
  roundQueueRetentionSeconds,
  roundQueueVisibilitySeconds,
  tableName,
} from "./settings";

export interface ProbeStackProps {
  config: PopwatchConfig;
  /** The validated config JSON, relative to the repository root (writeBundledConfig). */
  configFile: string;
  /** Handler as `path/file.export`, relative to the repository root. Default functions/probe.handler. */
  handler?: string;
}

export interface ProbeStackOutputs {
  probe: SstFunction;
  schedule: Rule;
  role: Role;
  tableArn: string;
  /** Present when schedule.dispatch is "queue". */
  roundQueue?: Queue;
}

/** Returns the functional stack for `app.stack(...)`; the config is fixed per deploy. */
export function probeStack(props: ProbeStackProps): (ctx: StackContext) => ProbeStackOutputs {
  return function ProbeStack({ app, stack }: StackContext): ProbeStackOutputs {
    const { config } = props;
    const table = tableName(app.name, app.stage);
    const tableArn = stack.formatArn({ service: "dynamodb", region: config.homeRegion, resource: "table", resourceName: table });
    const functionName = probeFunctionName(app.name, app.stage);
    const timeoutSeconds = probeTimeoutSeconds(config.schedule);
    const eventAge = Duration.seconds(maxEventAgeSeconds(config.schedule));

    const logGroup = new LogGroup(stack, "ProbeLogs", {
      logGroupName: `/aws/lambda/${functionName}`,
      retention: RetentionDays.TWO_WEEKS,
      // Deleted with the stack in every stage: a retained group of this fixed name would make the next deploy fail.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // Our own role: no AWSLambdaBasicExecutionRole (logs:* on every log group),
    // no X-Ray (tracing is off), nothing SST adds by default.
    const role = new Role(stack, "ProbeRole", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `popwatch probe (${app.stage}, ${stack.region}): own log group, results table ${table} in ${config.homeRegion}`,
    });
    role.addToPolicy(
      new PolicyStatement({ sid: "ProbeLogs", actions: ["logs:CreateLogStream", "logs:PutLogEvents"], resources: [logGroup.logGroupArn] }),
    );
    role.addToPolicy(new PolicyStatement({ sid: "ResultsTable", actions: [...PROBE_TABLE_ACTIONS], resources: [tableArn] }));

    // NODE_OPTIONS=--enable-source-maps is deliberately absent (settings.ts, PROBE_BUNDLE).
    const environment: Record<string, string> = {
      POPWATCH_TABLE: table,
      POPWATCH_TABLE_REGION: config.homeRegion,
      POPWATCH_CONFIG_FILE: BUNDLED_CONFIG_FILE,
    };

    if (Object.keys(fastRoutingSeverities(config.analytics)).length > 0) {
      environment.POPWATCH_ALERT_BUS = grantAlertDelivery(stack, role, config, alertBusName(app.name, app.stage), tableArn);
    }

    // dispatch "queue": rounds after round 0 wait in SQS until their slot
    // (packages/agent/src/queue.ts). The function both sends (the scheduled
    // invocation) and consumes (one round per message) them.
    const roundQueue =
      config.schedule.dispatch === "queue"
        ? new Queue(stack, "RoundQueue", {
            queueName: `${functionName}-rounds`,
            encryption: QueueEncryption.SQS_MANAGED,
            enforceSSL: true,
            // Lambda requires a visibility timeout of at least the function timeout.
            visibilityTimeout: Duration.seconds(roundQueueVisibilitySeconds(config.schedule)),
            retentionPeriod: Duration.seconds(roundQueueRetentionSeconds()),
            removalPolicy: RemovalPolicy.DESTROY,
          })
        : undefined;
    if (roundQueue) {
      environment.POPWATCH_ROUND_QUEUE_URL = roundQueue.queueUrl;
      role.addToPolicy(
        new PolicyStatement({ sid: "RoundQueueSend", actions: [...ROUND_QUEUE_SEND_ACTIONS], resources: [roundQueue.queueArn] }),
      );
    }

    const probe = new SstFunction(stack, "Probe", {
      handler: props.handler ?? PROBE_HANDLER,
      functionName,
      description: `popwatch probe: ${config.targets.length} targets, ${config.schedule.roundsPerInvocation} rounds every ${config.schedule.rateMinutes} min; results to ${table} (${config.homeRegion})`,
      runtime: PROBE_RUNTIME,
      architecture: PROBE_ARCHITECTURE,
      memorySize: PROBE_MEMORY_MB,
      timeout: timeoutSeconds,
      tracing: "disabled",
      role,
      logGroup,
      // Async invocations (EventBridge): retry a failed run, drop events too old to matter.
      retryAttempts: PROBE_RETRY_ATTEMPTS,
      maxEventAge: eventAge,
      environment,
      copyFiles: [{ from: props.configFile, to: BUNDLED_CONFIG_FILE }],
      nodejs: {
        format: PROBE_BUNDLE.format,
        minify: PROBE_BUNDLE.minify,
        sourcemap: PROBE_BUNDLE.sourcemap,
        esbuild: {
          target: PROBE_BUNDLE.target,
          external: [...PROBE_BUNDLE.external],
        },
      },
    });

    if (roundQueue) {
      // One message per invocation: each round starts on its own at its slot.
      probe.addEventSource(new SqsEventSource(roundQueue, { batchSize: 1, reportBatchItemFailures: true }));
    }

    const schedule = new Rule(stack, "ProbeSchedule", {
      description: `popwatch probe every ${config.schedule.rateMinutes} min`,
      schedule: Schedule.rate(Duration.minutes(config.schedule.rateMinutes)),
      // Delivery retries (throttled invoke) within the same window as the function's own retries.
      targets: [new LambdaFunction(probe, { retryAttempts: PROBE_RETRY_ATTEMPTS, maxEventAge: eventAge })],
    });

    dropUnusedCustomResourceHandler(stack);
    stack.addOutputs({
      ProbeFunction: probe.functionName,
      ProbeSchedule: schedule.ruleName,
      ResultsTableArn: tableArn,
      ...(roundQueue ? { RoundQueueUrl: roundQueue.queueUrl } : {}),
    });
    return { probe, schedule, role, tableArn, ...(roundQueue ? { roundQueue } : {}) };
  };
}

/**
 * What a function that runs alert cycles outside the evaluator (the probe's
 * fast routing, the BGP reader's routing alerts) needs: the alert state
 * store's actions on the table and PutEvents on the buses its eventbridge
 * sinks send to. Returns the evaluate stack's bus name, for POPWATCH_ALERT_BUS.
 */
export function grantAlertDelivery(
  stack: Stack,
  role: Role,
  config: Pick<PopwatchConfig, "alerting" | "homeRegion">,
  busName: string,
  tableArn: string,
): string {
  role.addToPolicy(new PolicyStatement({ sid: "AlertState", actions: [...ALERT_STATE_TABLE_ACTIONS], resources: [tableArn] }));
  // Only buses an eventbridge sink sends to: the evaluate stack's bus is not this function's unless a sink names it.
  const buses = config.alerting.sinks.some((sink) => sink.type === "eventbridge")
    ? alertBusTargets(config, busName).filter((_, index) => index > 0 || sendsToStackBus(config, busName))
    : [];
  if (buses.length > 0) {
    role.addToPolicy(
      new PolicyStatement({ sid: "AlertBuses", actions: [...ALERT_BUS_ACTIONS], resources: buses.map((bus) => alertBusArn(stack, bus)) }),
    );
  }
  return busName;
}

/** Whether an eventbridge sink goes to the evaluate stack's bus (it names no bus, or that one in the home region). */
function sendsToStackBus(config: Pick<PopwatchConfig, "alerting" | "homeRegion">, stackBusName: string): boolean {
  return config.alerting.sinks.some(
    (sink) =>
      sink.type === "eventbridge" &&
      (sink.busName === undefined || (sink.busName === stackBusName && (sink.region ?? config.homeRegion) === config.homeRegion)),
  );
}

/** A bus's ARN without a reference to the stack that made it: a cross-region reference would need a custom resource. */
export function alertBusArn(stack: Stack, target: AlertBusTarget): string {
  if ("arn" in target) return target.arn;
  return stack.formatArn({
    service: "events",
    region: target.region,
    resource: "event-bus",
    resourceName: target.busName,
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
}

/**
 * Every SST v2 stack creates a "CustomResourceHandler" Lambda (with a role
 * holding AWSLambdaBasicExecutionRole, i.e. logs:* on "*") for the custom
 * resources some SST constructs need: secret prefetch, Auth, sites, and the
 * sourcemap uploader when sourcemaps are kept out of the bundle. popwatch's
 * stacks use none of them (the probe ships its sourcemap inside the bundle),
 * so the idle function and its broad role are removed. The synth tests check
 * that no custom resource appears.
 */
export function dropUnusedCustomResourceHandler(stack: StackContext["stack"]): void {
  stack.node.tryRemoveChild(stack.customResourceHandler.node.id);
}
