import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../observability/metrics.js';
import type { Federation } from '../services/federation/index.js';

/** `POST /gateways/{id}/refresh` (rediscover now) and `GET /metrics` (Prometheus text). */
export function registerFederationRoutes(app: FastifyInstance, federation: Federation, metrics: Metrics): void {
  app.post('/gateways/:id/refresh', async (request) => federation.refresh((request.params as { id: string }).id));
  app.get('/metrics', async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
