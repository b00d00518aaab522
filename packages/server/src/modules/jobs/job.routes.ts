import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Invalid } from '../../errors.js';
import { authErrors, ErrorBody, Millis, NullableMillis } from '../../http/schemas.js';
import { RecipeParams } from '../projects/project.schema.js';
import type { JobService } from './job.service.js';

const JobView = Type.Object({
  id: Type.String(),
  project: Type.String(),
  recipe: Type.String(),
  language: Type.String(),
  runner: Type.String(),
  revision: Type.Union([Type.Integer(), Type.Null()], {
    description: 'the recipe revision the job runs (null for jobs from before revisions were kept)',
  }),
  state: Type.String(),
  exitCode: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  createdAt: Millis,
  startedAt: NullableMillis,
  finishedAt: NullableMillis,
  logBytes: Type.Integer(),
});

/**
 * 409 on a run: with code approval_required, someone other than you changed the recipe since you last
 * ran it; the body says who changed what, and the run succeeds once it carries approvedRevision.
 */
const RunRefused = Type.Object({
  error: Type.Object({
    ...ErrorBody.properties.error.properties,
    revision: Type.Optional(
      Type.Integer({ description: 'approval_required: the revision to review, and approve to run' }),
    ),
    changes: Type.Optional(
      Type.Array(
        Type.Object({ revision: Type.Integer(), by: Type.String({ description: 'login' }), at: Millis }),
        { description: 'approval_required: every save since the revision you last ran, oldest first' },
      ),
    ),
    diff: Type.Optional(
      Type.String({
        description:
          'approval_required: unified diff from the code you last ran (nothing, if never) to the revision',
      }),
    ),
  }),
});

const RunBody = Type.Object(
  {
    timeoutSeconds: Type.Optional(Type.Integer()),
    approvedRevision: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          'the recipe revision you reviewed and approve: needed, and must be the current one, when someone else changed the code since you last ran it',
      }),
    ),
  },
  { additionalProperties: false },
);

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
      summary:
        'Run a recipe as yourself; answers the queued job, or 409 approval_required with the diff when someone else changed it since you last ran it',
      params: RecipeParams,
      body: Type.Optional(RunBody),
      response: { 202: JobView, 409: RunRefused, ...authErrors },
    },
    handler: async (req, reply) =>
      reply.status(202).send(
        await jobs.run(req.caller!, req.params.key, req.params.name, {
          timeoutSeconds: req.body?.timeoutSeconds,
          approvedRevision: req.body?.approvedRevision,
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
