import fastify, { FastifyInstance } from 'fastify';
import { registerRestRoutes, RestApiOptions } from '../../../src/server/rest';
import type { FakeManager } from './fakes/fake_manager';

/** A fastify instance with only the REST API on it, for inject(). */
export async function restApp(
  manager: FakeManager,
  options: Omit<RestApiOptions, 'manager'> = {},
): Promise<FastifyInstance> {
  const app = fastify();
  await registerRestRoutes(app, { manager }, options);
  await app.ready();
  return app;
}
