import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { destructiveReason, soundsDestructive } from '../common.js';
import { importGraphql } from '../graphql/index.js';
import { importPostman } from '../postman/index.js';
import { planOpenApi } from '../openapi/plan.js';
import { buildPlan } from './plan.js';
import { detectRisks } from './risks.js';

// Risk detection by what an operation does, on real schemas from npm: GitHub's GraphQL SDL
// (@octokit/graphql-schema) and Nautical/Saleor commerce (@nautical-commerce/graphql-schema),
// whose mutations are named noun-first (`productDelete`, `checkoutLinesDelete`).
const SCHEMAS = {
  github: 'node_modules/@octokit/graphql-schema/schema.graphql',
  nautical: 'node_modules/@nautical-commerce/graphql-schema/nautical/schema.graphql',
};
const DELETE_WORDS = /delete|remove/i;

describe('destructive operations are recognised wherever the verb stands', () => {
  it('reads verbs anywhere in a name', () => {
    expect(soundsDestructive('pageDelete')).toBe(true);
    expect(soundsDestructive('cartLinesRemove')).toBe(true);
    expect(soundsDestructive('deleteIssue')).toBe(true);
    expect(soundsDestructive('createIssue')).toBe(false);
    expect(soundsDestructive('modelRemover')).toBe(false);
  });

  it('reads return types, result fields, HTTP methods and descriptions', () => {
    expect(destructiveReason({ name: 'pageZap', returnType: 'PageDeletePayload' })).toMatch(/PageDeletePayload/);
    expect(destructiveReason({ name: 'pageZap', resultFields: ['deletedPageId', 'userErrors'] })).toMatch(/deletedPageId/);
    expect(destructiveReason({ method: 'DELETE', name: 'thing' })).toBe('HTTP DELETE');
    expect(destructiveReason({ method: 'POST', name: 'thing', description: 'Permanently erases the thing.' })).toMatch(/description/);
    expect(destructiveReason({ method: 'POST', name: 'createThing', description: 'Creates a thing.' })).toBeNull();
  });

  it.each(Object.entries(SCHEMAS))('flags every delete/remove mutation of %s as destructive and gates it', (_name, file) => {
    const sdl = readFileSync(file, 'utf8');
    const result = importGraphql(sdl, undefined, { sourceName: 'schema.graphql', endpoint: 'https://api.example.com/graphql' });
    const mutations = result.operations.filter((op) => op.route.method === 'mutation');
    const deleting = mutations.filter((op) => DELETE_WORDS.test(op.route.operation));
    expect(deleting.length).toBeGreaterThan(20);
    const missed = deleting.filter((op) => !op.facts.destructive).map((op) => op.route.operation);
    expect(missed).toEqual([]);
    // Without declared auth a destructive mutation is critical: blocked unless reviewed.
    for (const op of deleting) {
      const risk = detectRisks(op, result.source).find((r) => r.kind === 'destructive');
      expect(risk?.level, op.route.operation).toMatch(/high|critical/);
    }
    // Reads stay reads.
    expect(result.operations.filter((op) => op.route.method === 'query' && op.facts.destructive)).toEqual([]);
  });

  it('the plan gates noun-first delete mutations (Nautical productDelete)', () => {
    const sdl = readFileSync(SCHEMAS.nautical, 'utf8');
    const result = importGraphql(sdl, undefined, { sourceName: 'schema.graphql', endpoint: 'https://api.example.com/graphql' });
    const plan = buildPlan(result.source, result.document, result.operations);
    const draft = plan.drafts.find((d) => d.route.operation === 'productDelete');
    expect(draft, 'productDelete is a draft').toBeDefined();
    expect(draft!.review_gates.find((g) => g.kind === 'destructive')).toMatchObject({ resolution: 'manual' });
    expect(draft!.trust_card.activation_review).not.toMatchObject({ verdict: 'ready' });
  });

  it('Postman and OpenAPI: POST operations that delete are destructive', () => {
    const collection = {
      info: { name: 'c', schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json' },
      item: [
        { name: 'Remove member', request: { method: 'POST', url: 'https://api.example.com/teams/:team/members/remove' } },
        { name: 'Add member', request: { method: 'POST', url: 'https://api.example.com/teams/:team/members' } },
      ],
    };
    const postman = importPostman(collection, { sourceName: 'c.json' });
    expect(postman.operations.map((o) => [o.title, o.facts.destructive])).toEqual([
      ['Remove member', true],
      ['Add member', false],
    ]);
    const doc = {
      openapi: '3.0.3',
      info: { title: 'Slack', version: '1' },
      servers: [{ url: 'https://slack.com/api' }],
      paths: {
        '/chat.delete': { post: { operationId: 'chat_delete', responses: { 200: { description: 'ok' } } } },
        '/files.purge': { post: { operationId: 'filesCleanup', description: 'Permanently removes files.', responses: { 200: { description: 'ok' } } } },
        '/chat.postMessage': { post: { operationId: 'chat_postMessage', responses: { 200: { description: 'ok' } } } },
      },
    };
    const openapi = planOpenApi(doc, { sourceName: 'slack.json' });
    expect(openapi.operations.map((o) => [o.route.operation, o.facts.destructive])).toEqual([
      ['chat_delete', true],
      ['filesCleanup', true],
      ['chat_postMessage', false],
    ]);
  });
});
