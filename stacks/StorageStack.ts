// The results table, in the home region only. One table for raw results,
// rollups and the series index (packages/store/README.md): pk/sk strings,
// on-demand billing, TTL on `expiresAt`, point-in-time recovery. Its physical
// name is fixed (`<app>-<stage>`), so probe stacks in other regions address it
// by name and ARN without CDK cross-region references.

import { TABLE_DEFINITION } from "@popwatch/store";
import { RemovalPolicy } from "aws-cdk-lib";
import { AttributeType, BillingMode, Table } from "aws-cdk-lib/aws-dynamodb";
import type { StackContext } from "sst/constructs";
import { dropUnusedCustomResourceHandler } from "./ProbeStack";
import { isProductionStage, tableName } from "./settings";

export interface StorageStackOutputs {
  table: Table;
  tableName: string;
}

export function StorageStack({ app, stack }: StackContext): StorageStackOutputs {
  const production = isProductionStage(app.stage);
  const name = tableName(app.name, app.stage);
  const table = new Table(stack, "Results", {
    tableName: name,
    // The same definition `popwatch table create` creates (packages/store/src/table.ts).
    partitionKey: { name: TABLE_DEFINITION.partitionKey, type: AttributeType.STRING },
    sortKey: { name: TABLE_DEFINITION.sortKey, type: AttributeType.STRING },
    billingMode: BillingMode.PAY_PER_REQUEST,
    timeToLiveAttribute: TABLE_DEFINITION.timeToLiveAttribute,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    // Encryption at rest with the AWS owned key (the default): no KMS charges, no kms:* for readers.
    deletionProtection: production,
    // Production data outlives the stack; other stages clean up on `sst remove`.
    removalPolicy: production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  });
  dropUnusedCustomResourceHandler(stack);
  stack.addOutputs({ TableName: table.tableName, TableArn: table.tableArn });
  return { table, tableName: name };
}
