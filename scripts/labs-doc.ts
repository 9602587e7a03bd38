// Writes docs/labs.md from the labs' guides: npm run docs:labs
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { labsMarkdown } from '../lib/tools/labs/guide.js';

const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'labs.md');
writeFileSync(file, labsMarkdown());
console.log(`wrote ${file}`);
