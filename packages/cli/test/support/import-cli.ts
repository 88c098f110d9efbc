// Shared by the import tests: the CLI in-process, and the keys of every item
// of an embedded store's table (what "re-import writes no new items" compares).
import { ScanCommand, type ScanCommandOutput } from "@aws-sdk/client-dynamodb";
import { DEFAULT_TABLE_NAME, startEmbeddedStore } from "@popwatch/store";
import { captureIo } from "../../../../test/support/capture-io";
import { main } from "../../src/index";

export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const c = captureIo();
  const code = await main(argv, c.io);
  return { code, out: c.out, err: c.err };
}

/** `pk sk` of every item, sorted. */
export async function tableKeys(dataDir: string): Promise<string[]> {
  const { client, close } = await startEmbeddedStore({ dataDir });
  try {
    const keys: string[] = [];
    let start: ScanCommandOutput["LastEvaluatedKey"];
    do {
      const page = await client.send(new ScanCommand({ TableName: DEFAULT_TABLE_NAME, ExclusiveStartKey: start }));
      for (const item of page.Items ?? []) keys.push(`${item.pk?.S} ${item.sk?.S}`);
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return keys.sort();
  } finally {
    await close();
  }
}
