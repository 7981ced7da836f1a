/** The OpenAPI paths of the access routes (tokens, audit, OAuth metadata), merged into /openapi.json. */
export function accessPaths(): Record<string, object> {
  const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } });
  const json = (schema: object, description: string) => ({ description, content: { 'application/json': { schema } } });
  const token = {
    type: 'object',
    properties: {
      id: { type: 'string' },
      name: { type: 'string' },
      prefix: { type: 'string', description: 'the first 10 characters of the secret' },
      role: { type: 'string', enum: ['admin', 'editor', 'viewer', 'client'] },
      servers: { type: ['array', 'null'], items: { type: 'string' } },
      created_at: { type: 'string' },
      created_by: { type: 'string' },
      expires_at: { type: ['string', 'null'] },
      last_used_at: { type: ['string', 'null'] },
      revoked_at: { type: ['string', 'null'] },
    },
  };
  const idParam = { name: 'id', in: 'path', required: true, description: 'id or name', schema: { type: 'string' } };
  const metadata = {
    tags: ['access'],
    summary: 'RFC 9728 protected-resource metadata (404 until OAUTH_ISSUER is set); also at /.well-known/oauth-protected-resource/mcp and …/servers/{name}/mcp',
    security: [],
    responses: { 200: json({ type: 'object' }, 'The metadata'), 404: problem('OAuth is not configured') },
  };
  return {
    '/tokens': {
      get: { tags: ['access'], summary: 'List stored API tokens (admin; never their secrets)', responses: { 200: json({ type: 'array', items: token }, 'The tokens') } },
      post: {
        tags: ['access'],
        summary: 'Create a stored API token (admin); the answer carries its secret, once',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['name', 'role'],
                properties: { name: { type: 'string' }, role: { type: 'string', enum: ['admin', 'editor', 'viewer', 'client'] }, servers: { type: 'array', items: { type: 'string' } }, expires_at: { type: 'string' }, expires_in: { type: 'string', examples: ['30d'] } },
              },
            },
          },
        },
        responses: { 201: json({ ...token, properties: { ...token.properties, token: { type: 'string', description: 'the secret (mcpgw_…), shown only here' } } }, 'The token'), 409: problem('TOKEN_NAME_EXISTS'), 422: problem('VALIDATION_FAILED') },
      },
    },
    '/tokens/{id}': {
      parameters: [idParam],
      get: { tags: ['access'], summary: 'One stored token (admin)', responses: { 200: json(token, 'The token'), 404: problem('TOKEN_NOT_FOUND') } },
      delete: { tags: ['access'], summary: 'Revoke a stored token (admin); effective on every instance within a second', responses: { 200: json(token, 'The revoked token'), 404: problem('TOKEN_NOT_FOUND') } },
    },
    '/audit': {
      get: {
        tags: ['access'],
        summary: 'The audit trail (admin), oldest first; next page cursor in X-Next-Cursor',
        parameters: ['since', 'until', 'actor', 'kind', 'action', 'cursor'].map((name) => ({ name, in: 'query', schema: { type: 'string' } })).concat([{ name: 'limit', in: 'query', schema: { type: 'integer' } } as never]),
        responses: { 200: json({ type: 'array', items: { type: 'object' } }, 'Audit events'), 400: problem('BAD_QUERY') },
      },
    },
    '/.well-known/oauth-protected-resource': { get: metadata },
    '/.well-known/oauth-authorization-server': {
      get: { tags: ['access'], summary: 'Always 404: the gateway is no authorization server (see authorization_servers in the protected-resource metadata)', security: [], responses: { 404: problem('Not here') } },
    },
  };
}
