import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { authErrors, ErrorBody } from '../../http/schemas.js';
import type { ProjectService } from './project.service.js';
import type { JobService } from '../jobs/job.service.js';
import {
  MemberBody,
  MemberParams,
  NewProjectBody,
  ProjectDetail,
  ProjectParams,
  ProjectView,
  PluginRecipeBody,
  Readiness,
  RecipeBody,
  RecipeParams,
  RecipeView,
} from './project.schema.js';

/**
 * Projects, their members and their recipes. Non-members get 404 for everything in a project. A job's
 * ticket reads its own project and its recipes, nothing else; changes to code, membership and projects
 * need the user's own hand (their session or an API key of their own, not one an administrator made).
 */
export const projectRoutes: FastifyPluginAsyncTypebox<{
  projects: ProjectService;
  jobs: Pick<JobService, 'readiness'>;
}> = async (app, { projects, jobs }) => {
  const tags = ['projects'];
  const config = { access: 'user' as const };
  const ownProject = { ...config, ticket: 'own-project' as const };
  /** What lets someone else's code run with a member's values: refused to tickets and delegated keys. */
  const byOwnHand = (action: string) => ({ ...config, ownCredential: true, action });

  app.get('/api/v1/projects', {
    config: { ...config, action: 'list projects beyond its own' },
    schema: {
      tags,
      summary: 'Projects you are a member of',
      response: { 200: Type.Object({ projects: Type.Array(ProjectView) }), ...authErrors },
    },
    handler: async (req) => ({ projects: await projects.list(req.caller!) }),
  });

  app.post('/api/v1/projects', {
    config: { ...config, action: 'create projects' },
    schema: {
      tags,
      summary: 'Create a project; you become its owner',
      body: NewProjectBody,
      response: { 201: ProjectView, 409: ErrorBody, ...authErrors },
    },
    handler: async (req, reply) => reply.status(201).send(await projects.create(req.caller!, req.body)),
  });

  app.get('/api/v1/projects/:key', {
    config: ownProject,
    schema: {
      tags,
      summary: 'A project and its members',
      params: ProjectParams,
      response: { 200: ProjectDetail, ...authErrors },
    },
    handler: (req) => projects.get(req.caller!, req.params.key),
  });

  app.delete('/api/v1/projects/:key', {
    config: byOwnHand('delete projects'),
    schema: {
      tags,
      summary: 'Delete a project, its recipes and its jobs (owners)',
      params: ProjectParams,
      response: { 204: Type.Null(), 409: ErrorBody, ...authErrors },
    },
    handler: async (req, reply) => {
      await projects.delete(req.caller!, req.params.key);
      return reply.status(204).send(null);
    },
  });

  app.put('/api/v1/projects/:key/members/:login', {
    config: byOwnHand('change project membership'),
    schema: {
      tags,
      summary: 'Add a member or change their role (owners)',
      params: MemberParams,
      body: MemberBody,
      response: { 204: Type.Null(), ...authErrors },
    },
    handler: async (req, reply) => {
      await projects.setMember(req.caller!, req.params.key, req.params.login, req.body.role);
      return reply.status(204).send(null);
    },
  });

  app.delete('/api/v1/projects/:key/members/:login', {
    config: byOwnHand('change project membership'),
    schema: {
      tags,
      summary: 'Remove a member (owners)',
      params: MemberParams,
      response: { 204: Type.Null(), ...authErrors },
    },
    handler: async (req, reply) => {
      await projects.removeMember(req.caller!, req.params.key, req.params.login);
      return reply.status(204).send(null);
    },
  });

  app.get('/api/v1/projects/:key/recipes', {
    config: ownProject,
    schema: {
      tags,
      summary: "A project's recipes",
      params: ProjectParams,
      response: { 200: Type.Object({ recipes: Type.Array(RecipeView) }), ...authErrors },
    },
    handler: async (req) => ({ recipes: await projects.listRecipes(req.caller!, req.params.key) }),
  });

  app.get('/api/v1/projects/:key/recipes/:name', {
    config: ownProject,
    schema: { tags, summary: 'A recipe', params: RecipeParams, response: { 200: RecipeView, ...authErrors } },
    handler: (req) => projects.getRecipe(req.caller!, req.params.key, req.params.name),
  });

  app.put('/api/v1/projects/:key/recipes/:name', {
    config: byOwnHand('change recipes (code)'),
    schema: {
      tags,
      summary: 'Create or replace a recipe (contributors and owners): code, or a plugin recipe',
      params: RecipeParams,
      body: Type.Union([RecipeBody, PluginRecipeBody]),
      response: { 200: RecipeView, 201: RecipeView, ...authErrors },
    },
    handler: async (req, reply) => {
      const { key, name } = req.params;
      const r =
        'plugin' in req.body
          ? await projects.putPluginRecipe(req.caller!, key, name, req.body)
          : await projects.putRecipe(req.caller!, key, name, req.body);
      return reply.status(r.created ? 201 : 200).send(r.recipe);
    },
  });

  app.get('/api/v1/projects/:key/recipes/:name/readiness', {
    config: byOwnHand('check what running a recipe needs'),
    schema: {
      tags,
      summary: 'What you lack to run a recipe: credentials its presets ask for, secrets its plugin needs',
      params: RecipeParams,
      response: { 200: Readiness, ...authErrors },
    },
    handler: (req) => jobs.readiness(req.caller!, req.params.key, req.params.name),
  });

  app.delete('/api/v1/projects/:key/recipes/:name', {
    config: byOwnHand('change recipes (code)'),
    schema: {
      tags,
      summary: 'Delete a recipe (contributors and owners)',
      params: RecipeParams,
      response: { 204: Type.Null(), ...authErrors },
    },
    handler: async (req, reply) => {
      await projects.deleteRecipe(req.caller!, req.params.key, req.params.name);
      return reply.status(204).send(null);
    },
  });
};
