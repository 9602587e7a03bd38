// An unrelated process (started by the test with child_process, not by multiproc): connects to a Manager by
// address and authkey (hex, from stdin), writes into the dict whose id is argv[3] with both the async and the
// Sync forms, and prints what it read back as JSON. A wrong key prints { error, code } and exits 1.
import { readFileSync } from 'node:fs';
import { Manager } from '../../lib/index.js';

const address = process.argv[2]!;
const id = Number(process.argv[3]);
const key = Buffer.from(readFileSync(0, 'utf8').trim(), 'hex');
try {
  const m = await Manager.connect(address, key);
  const d = m.proxy('dict', id);
  await d.set('peer', process.pid);
  d.setSync('peerSync', 'yes');
  const seen = { parentValue: await d.get('fromParent'), size: d.sizeSync(), server: m.pid };
  m.close();
  process.stdout.write(JSON.stringify(seen) + '\n');
} catch (e) {
  process.stdout.write(JSON.stringify({ error: (e as Error).message, code: (e as NodeJS.ErrnoException).code }) + '\n');
  process.exitCode = 1;
}
