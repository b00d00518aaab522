import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Invalid } from '../../errors.js';
import { authErrors, Millis, NullableMillis } from '../../http/schemas.js';
import { RecipeParams } from '../projects/project.schema.js';
import type { JobService } from './job.service.js';

const JobView = Type.Object({
  id: Type.String(),
  project: Type.String(),
  recipe: Type.String(),
  language: Type.String(),
  runner: Type.String(),
  state: Type.String(),
  exitCode: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  createdAt: Millis,
  startedAt: NullableMillis,
  finishedAt: NullableMillis,
  logBytes: Type.Integer(),
});

const JobParams = Type.Object({ id: Type.String() }, { additionalProperties: false });

function wholeNumber(
  raw: string | undefined,
  name: string,
  min: number,
  max: number,
  fallback: number,
): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max)
    throw new Invalid(`query parameter ${name} must be a whole number from ${min} to ${max}`);
  return Number(raw);
}

/**
 * Running recipes and following jobs. A job is visible to its runner only. A job's ticket sees its own
 * job and lists the jobs of its own project, but starts and cancels nothing.
 */
export const jobRoutes: FastifyPluginAsyncTypebox<{ jobs: JobService }> = async (app, { jobs }) => {
  const tags = ['jobs'];
  const config = { access: 'user' as const };

  app.post('/api/v1/projects/:key/recipes/:name/run', {
    config: { ...config, ownCredential: true, action: 'start jobs' },
    schema: {
      tags,
      summary: 'Run a recipe as yourself; answers the queued job',
      params: RecipeParams,
      body: Type.Optional(
        Type.Object({ timeoutSeconds: Type.Optional(Type.Integer()) }, { additionalProperties: false }),
      ),
      response: { 202: JobView, ...authErrors },
    },
    handler: async (req, reply) =>
      reply.status(202).send(
        await jobs.run(req.caller!, req.params.key, req.params.name, {
          timeoutSeconds: req.body?.timeoutSeconds,
        }),
      ),
  });

  app.get('/api/v1/jobs', {
    config: { ...config, ticket: 'own-project' },
    schema: {
      tags,
      summary: 'Your jobs, newest first',
      querystring: Type.Object(
        { project: Type.Optional(Type.String()), limit: Type.Optional(Type.String()) },
        { additionalProperties: false },
      ),
      response: { 200: Type.Object({ jobs: Type.Array(JobView) }), ...authErrors },
    },
    handler: async (req) => ({
      jobs: await jobs.list(req.caller!, {
        project: req.query.project,
        limit: wholeNumber(req.query.limit, 'limit', 1, 500, 50),
      }),
    }),
  });

  app.get('/api/v1/jobs/:id', {
    config: { ...config, ticket: 'own-job' },
    schema: {
      tags,
      summary: 'One of your jobs',
      params: JobParams,
      response: { 200: JobView, ...authErrors },
    },
    handler: (req) => jobs.get(req.caller!, req.params.id),
  });

  app.get('/api/v1/jobs/:id/log', {
    config: { ...config, ticket: 'own-job' },
    schema: {
      tags,
      summary: "A job's log after a sequence number (values of your secrets masked), and its state",
      params: JobParams,
      querystring: Type.Object(
        { after: Type.Optional(Type.String()), limit: Type.Optional(Type.String()) },
        { additionalProperties: false },
      ),
      response: {
        200: Type.Object({
          job: JobView,
          chunks: Type.Array(
            Type.Object({ seq: Type.Integer(), stream: Type.String(), at: Millis, text: Type.String() }),
          ),
        }),
        ...authErrors,
      },
    },
    handler: (req) =>
      jobs.log(req.caller!, req.params.id, {
        afterSeq:
          wholeNumber(req.query.after, 'after', 0, Number.MAX_SAFE_INTEGER, 0) -
          (req.query.after === undefined ? 1 : 0),
        limit: wholeNumber(req.query.limit, 'limit', 1, 5000, 1000),
      }),
  });

  app.post('/api/v1/jobs/:id/cancel', {
    config: { ...config, action: 'cancel jobs' },
    schema: {
      tags,
      summary: 'Cancel one of your jobs',
      params: JobParams,
      response: { 200: JobView, ...authErrors },
    },
    handler: (req) => jobs.cancel(req.caller!, req.params.id),
  });
};
