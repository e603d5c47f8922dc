// HTTP from inside a network namespace (the agent's probe and metrics servers listen there).
import { run } from '../../src/util/exec.js';

/** GET a URL from inside a namespace (the agent's health server listens on its loopback). */
export async function httpGet(netns: string, url: string): Promise<{ status: number; body: string }> {
  const py = `import urllib.request,urllib.error,json,sys
try:
  r=urllib.request.urlopen(sys.argv[1],timeout=5);print(json.dumps([r.status,r.read().decode()]))
except urllib.error.HTTPError as e:
  print(json.dumps([e.code,e.read().decode()]))`;
  const r = await run(['python3', '-c', py, url], { netns, timeoutMs: 10_000 });
  const [status, body] = JSON.parse(r.stdout) as [number, string];
  return { status, body };
}
