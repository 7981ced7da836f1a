// Regenerate schemas/export.schema.json from the zod entity schemas (run: npm run schema:export).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { exportJsonSchemaText } from '../dist/domain/export-document.js';

const target = fileURLToPath(new URL('../schemas/export.schema.json', import.meta.url));
writeFileSync(target, exportJsonSchemaText());
console.log(`wrote ${target}`);
