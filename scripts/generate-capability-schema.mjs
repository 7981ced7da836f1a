#!/usr/bin/env node
// Writes schemas/capability.schema.json from the zod schema (run after `npm run build`).
import { writeFileSync } from 'node:fs';
import { capabilityJsonSchema } from '../dist/capabilities/schema.js';

const file = new URL('../schemas/capability.schema.json', import.meta.url);
writeFileSync(file, `${JSON.stringify(capabilityJsonSchema(), null, 2)}\n`);
console.log(`wrote ${file.pathname}`);
