import { createHash } from 'node:crypto';

/** The Redis commands that run Lua, as node-redis v5 exposes them. */
export interface ScriptClient {
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

const digests = new Map<string, string>();

/**
 * Runs a Lua script by its digest (EVALSHA), sending its text only when Redis does not know it yet
 * (NOSCRIPT: after a restart or a failover). Every write is one script, so this keeps each round trip
 * to its arguments.
 */
export async function runScript(
  client: ScriptClient,
  script: string,
  options: { keys: string[]; arguments: string[] },
): Promise<unknown> {
  let sha = digests.get(script);
  if (!sha) {
    sha = createHash('sha1').update(script).digest('hex');
    digests.set(script, sha);
  }
  try {
    return await client.evalSha(sha, options);
  } catch (error) {
    // NOSCRIPT is Redis refusing before running anything: sending the text is safe.
    if (!/NOSCRIPT/.test(String(error))) throw error;
    return client.eval(script, options);
  }
}
